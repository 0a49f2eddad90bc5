"""The retention rule (clinic/privacy/retention.py): pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.privacy.retention import is_expired, kept_since, years_before

NOW = datetime(2027, 3, 22, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@pytest.mark.parametrize(
    ("moment", "years", "expected"),
    [
        # an ordinary day
        (NOW, 5, datetime(2022, 3, 22, 6, 0, tzinfo=UTC)),
        # 29 February into a year without one: the 28th
        (datetime(2028, 2, 29, 12, tzinfo=UTC), 1, datetime(2027, 2, 28, 12, tzinfo=UTC)),
        # 29 February into another leap year stays
        (datetime(2028, 2, 29, 12, tzinfo=UTC), 4, datetime(2024, 2, 29, 12, tzinfo=UTC)),
    ],
)
def test_years_before(moment, years, expected):
    assert years_before(moment, years) == expected


@pytest.mark.parametrize(
    ("last_visit", "recorded", "upcoming", "expired"),
    [
        # last visit 5 years and a day ago, screened before it
        (NOW.replace(year=2022) - DAY, NOW.replace(year=2021), False, True),
        # last visit 5 years less a day ago
        (NOW.replace(year=2022) + DAY, NOW.replace(year=2021), False, False),
        # never came: from the screening
        (None, NOW.replace(year=2022) - DAY, False, True),
        (None, NOW.replace(year=2022) + DAY, False, False),
        # an old visit, screened again last year
        (NOW.replace(year=2015), NOW.replace(year=2026), False, False),
        # all old, but a session to come
        (NOW.replace(year=2015), NOW.replace(year=2015), True, False),
        # exactly at the cut-off: kept (the period is not over yet)
        (NOW.replace(year=2022), NOW.replace(year=2020), False, False),
    ],
)
def test_is_expired(last_visit, recorded, upcoming, expired):
    assert is_expired(last_visit, recorded, years=5, now=NOW, upcoming=upcoming) is expired


@given(instants, st.integers(min_value=1, max_value=30))
def test_years_before_is_about_that_many_years_and_never_later(moment, years):
    earlier = years_before(moment, years)
    assert earlier < moment
    assert abs((moment - earlier) - timedelta(days=365.25 * years)) <= timedelta(days=2)
    assert (earlier.hour, earlier.minute) == (moment.hour, moment.minute)


@given(st.one_of(st.none(), instants), instants, st.integers(1, 30), instants)
def test_a_longer_period_never_erases_more(last_visit, recorded, years, now):
    if is_expired(last_visit, recorded, years=years + 1, now=now):
        assert is_expired(last_visit, recorded, years=years, now=now)
    assert kept_since(last_visit, recorded) >= recorded
