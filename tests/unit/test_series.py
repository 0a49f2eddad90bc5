"""The pure date logic of a series: same local time, DST, month ends, and picking alternatives."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.booking.series import (
    EVERY_CHOICES,
    check_picks,
    nearest,
    occurrences,
    plan_dates,
    to_utc,
    wall_times,
)

CPH = ZoneInfo("Europe/Copenhagen")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def wall(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A naive wall-clock time, as a series is given."""
    return datetime.combine(date(year, month, day), time(hour, minute))


def test_weekly_across_spring_forward_keeps_ten_oclock_and_moves_utc_by_an_hour():
    # Summer time starts on Sunday 28 March 2027: 10:00 is 09:00 UTC before, 08:00 UTC after.
    starts = occurrences(wall(2027, 3, 22, 10, 0), "weekly", 3, CPH)
    assert starts == [utc(2027, 3, 22, 9, 0), utc(2027, 3, 29, 8, 0), utc(2027, 4, 5, 8, 0)]
    assert all(s is not None and s.astimezone(CPH).hour == 10 for s in starts)


def test_weekly_across_fall_back_keeps_ten_oclock_and_moves_utc_by_an_hour():
    # Summer time ends on Sunday 31 October 2027.
    starts = occurrences(wall(2027, 10, 25, 10, 0), "weekly", 2, CPH)
    assert starts == [utc(2027, 10, 25, 8, 0), utc(2027, 11, 1, 9, 0)]
    assert [s.astimezone(CPH).strftime("%H:%M %Z") for s in starts] == [
        "10:00 CEST",
        "10:00 CET",
    ]


def test_every_two_weeks():
    walls = wall_times(wall(2027, 4, 6, 14, 30), "biweekly", 4)
    assert [w.date() for w in walls] == [
        date(2027, 4, 6),
        date(2027, 4, 20),
        date(2027, 5, 4),
        date(2027, 5, 18),
    ]
    assert {w.time().isoformat() for w in walls} == {"14:30:00"}


def test_monthly_from_the_31st_uses_the_last_day_of_shorter_months_then_goes_back():
    walls = wall_times(wall(2027, 1, 31, 9, 0), "monthly", 5)
    assert [w.date() for w in walls] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
    ]


def test_monthly_crosses_the_year_and_a_leap_february():
    walls = wall_times(wall(2027, 11, 30, 9, 0), "monthly", 4)
    assert [w.date() for w in walls] == [
        date(2027, 11, 30),
        date(2027, 12, 30),
        date(2028, 1, 30),
        date(2028, 2, 29),  # 2028 is a leap year
    ]


def test_a_local_time_skipped_by_spring_forward_is_reported_not_moved():
    # 02:30 does not exist on Sunday 28 March 2027 in Copenhagen (02:00 -> 03:00).
    starts = occurrences(wall(2027, 3, 21, 2, 30), "weekly", 3, CPH)
    assert starts[0] == utc(2027, 3, 21, 1, 30)
    assert starts[1] is None
    assert starts[2] == utc(2027, 4, 4, 0, 30)


def test_a_local_time_that_occurs_twice_means_the_first_one():
    # 02:30 happens twice on Sunday 31 October 2027; the first is still summer time (+02:00).
    assert to_utc(wall(2027, 10, 31, 2, 30), CPH) == utc(2027, 10, 31, 0, 30)


@pytest.mark.parametrize(
    ("every", "count"),
    [
        ("weekly", 1),  # a single session is not a series
        ("weekly", 13),  # more than 12
        ("weekly", 0),
        ("monthly", -2),
        ("daily", 4),  # not a choice
    ],
)
def test_bad_counts_and_frequencies_are_refused(every, count):
    with pytest.raises(ValueError, match=r"series|every"):
        occurrences(wall(2027, 4, 5, 10, 0), every, count, CPH)


@pytest.mark.parametrize("count", [2, 12])
def test_the_bounds_are_allowed(count):
    assert len(occurrences(wall(2027, 4, 5, 10, 0), "weekly", count, CPH)) == count


def test_an_aware_first_time_is_refused():
    with pytest.raises(ValueError, match="wall-clock"):
        wall_times(datetime(2027, 4, 5, 10, 0, tzinfo=CPH), "weekly", 2)


@given(
    first=st.datetimes(min_value=wall(2000, 1, 1, 0, 0), max_value=wall(2090, 12, 31, 0, 0)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    every=st.sampled_from(EVERY_CHOICES),
    count=st.integers(min_value=2, max_value=12),
    zone=st.sampled_from(
        [CPH, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")]
    ),
)
def test_every_session_keeps_the_local_time_and_they_increase(first, every, count, zone):
    starts = occurrences(first, every, count, zone)
    assert len(starts) == count
    existing = [s for s in starts if s is not None]
    for start in existing:
        local = start.astimezone(zone)
        assert (local.hour, local.minute) == (first.hour, first.minute)
        assert start.tzinfo is UTC
    assert all(a < b for a, b in pairwise(existing))
    # A None is exactly a wall-clock time in a gap: there the offset before the change
    # (fold=0) is smaller than the one after (fold=1), PEP 495.
    for asked, start in zip(wall_times(first, every, count), starts, strict=True):
        before = asked.replace(tzinfo=zone, fold=0).utcoffset()
        after = asked.replace(tzinfo=zone, fold=1).utcoffset()
        assert (start is None) == (before < after)
        if start is not None:
            assert start.astimezone(zone).replace(tzinfo=None) == asked


# --- planning against free starts -------------------------------------------------------


@pytest.mark.parametrize(
    ("free", "expected"),
    [
        ([utc(2027, 4, 5, 7), utc(2027, 4, 5, 9)], utc(2027, 4, 5, 7)),  # a tie: earlier wins
        ([utc(2027, 4, 5, 9), utc(2027, 4, 5, 7)], utc(2027, 4, 5, 7)),  # whatever the order
        ([utc(2027, 4, 5, 6), utc(2027, 4, 5, 9)], utc(2027, 4, 5, 9)),  # closest in time
        ([], None),  # nothing free
    ],
)
def test_nearest(free, expected):
    assert nearest(utc(2027, 4, 5, 8), free) == expected


NOW = utc(2027, 3, 22, 6, 0)
EARLIEST = NOW + timedelta(hours=2)
LATEST = NOW + timedelta(days=90)


def plan(walls, free):
    return plan_dates(walls, free, zone=CPH, earliest=EARLIEST, latest=LATEST)


def test_plan_marks_free_taken_with_the_nearest_time_that_day_and_nothing_from_other_days():
    walls = wall_times(wall(2027, 3, 29, 10, 0), "weekly", 3)
    free = [
        utc(2027, 3, 29, 8, 0),  # 10:00 CEST on the first day: free
        utc(2027, 4, 5, 10, 30),  # the second day only has 12:30 ...
        utc(2027, 4, 5, 6, 30),  # ... and 08:30 (closer)
        utc(2027, 4, 11, 8, 0),  # a day before the third date: never offered for it
    ]
    dates = plan(walls, free)
    assert [d.state for d in dates] == ["free", "taken", "taken"]
    assert dates[0].bookable == utc(2027, 3, 29, 8, 0) and dates[0].alternative is None
    assert dates[1].alternative == utc(2027, 4, 5, 6, 30)
    assert dates[1].bookable == dates[1].alternative
    assert dates[2].alternative is None and dates[2].bookable is None


def test_plan_says_why_a_date_cannot_be_had():
    walls = [
        wall(2027, 3, 22, 7, 30),  # before now + notice (09:00 local)
        wall(2027, 3, 28, 2, 30),  # skipped by spring forward
        wall(2027, 6, 28, 10, 0),  # past the 90-day horizon
    ]
    skipped_day_free = utc(2027, 3, 28, 8, 0)  # 10:00 CEST that Sunday
    dates = plan(walls, [skipped_day_free])
    assert [d.state for d in dates] == ["too_soon", "no_such_time", "too_far"]
    assert dates[1].start is None and dates[1].alternative == skipped_day_free


def test_picks_one_a_day_on_the_series_days():
    walls = wall_times(wall(2027, 3, 29, 10, 0), "weekly", 3)
    first, alternative = utc(2027, 3, 29, 8, 0), utc(2027, 4, 5, 10, 30)
    assert check_picks(walls, [alternative, first], CPH) == [first, alternative]
    with pytest.raises(ValueError, match="one time a day"):
        check_picks(walls, [first, utc(2027, 3, 29, 9, 0)], CPH)
    with pytest.raises(ValueError, match="not on a day"):
        check_picks(walls, [utc(2027, 3, 30, 8, 0)], CPH)
    with pytest.raises(ValueError, match="at least one"):
        check_picks(walls, [], CPH)
    with pytest.raises(ValueError, match="could not be read"):
        check_picks(walls, [wall(2027, 3, 29, 10, 0)], CPH)
