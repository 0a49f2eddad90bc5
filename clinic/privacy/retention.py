"""The retention rule for health data, as plain functions: no Flask, no database.

Health data (screenings, pre-visit check answers, treatment note texts) is kept for
`screening_retention_years` after the client's last visit. The period runs from the later of the
last visit and the moment the data was recorded, so a client who never came counts from the
screening's submission, and a screening given after the last visit is not erased the day it is
given. A client with an upcoming booking keeps everything: the therapist still needs the notes.
purge.py asks the database the same question in SQL; the tests hold the two to each other.
"""

from __future__ import annotations

from datetime import datetime

MIN_YEARS = 1
MAX_YEARS = 30


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment `years` earlier; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year - years, day=28)


def kept_since(last_visit: datetime | None, recorded_at: datetime) -> datetime:
    """The moment the retention period runs from: the later of the last visit and the record."""
    return recorded_at if last_visit is None else max(last_visit, recorded_at)


def is_expired(
    last_visit: datetime | None,
    recorded_at: datetime,
    *,
    years: int,
    now: datetime,
    upcoming: bool = False,
) -> bool:
    """True when data recorded at `recorded_at` has been kept its full period and must go.

    `last_visit` is the start of the client's last session that took place (None: never came);
    `upcoming` says the client has a pending or confirmed session still to come.
    """
    if upcoming:
        return False
    return kept_since(last_visit, recorded_at) < years_before(now, years)
