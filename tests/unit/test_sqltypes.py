"""Instants go into the database as UTC and come back aware."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from clinic.sqltypes import UTCDateTime

SQLITE = sqlite.dialect()
POSTGRES = postgresql.dialect()


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2027, 1, 1, 9, 0), SQLITE)  # noqa: DTZ001


def test_sqlite_stores_naive_utc():
    plus_two = timezone(timedelta(hours=2))
    stored = UTCDateTime().process_bind_param(datetime(2027, 3, 29, 9, 0, tzinfo=plus_two), SQLITE)
    assert stored == datetime(2027, 3, 29, 7, 0)  # noqa: DTZ001


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))]
        ),
    )
)
def test_round_trip_keeps_the_instant(value):
    kind = UTCDateTime()
    for dialect in (SQLITE, POSTGRES):
        back = kind.process_result_value(kind.process_bind_param(value, dialect), dialect)
        assert back == value
        assert back.tzinfo is UTC
