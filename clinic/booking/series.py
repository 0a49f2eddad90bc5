"""Series of sessions: weekly, every two weeks or monthly, at the same local wall-clock time.

The date logic (`wall_times`, `occurrences`, `nearest`, `plan_dates`) is pure: plain datetimes
in, plain values out, no Flask and no database. `plan_series` is the one impure function: it
runs the real slot search once for the whole range of the series and hands the result to
`plan_dates`, so planning costs the same few queries for 2 sessions as for 12.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from clinic.booking.availability import search_slots
from clinic.catalog.models import Technique
from clinic.scheduling.models import ClinicPolicy

Every = Literal["weekly", "biweekly", "monthly"]
EVERY_CHOICES: tuple[Every, ...] = get_args(Every)
EVERY_LABELS: dict[str, str] = {
    "weekly": _l("Every week"),
    "biweekly": _l("Every 2 weeks"),
    "monthly": _l("Every month"),
}


def every_labels() -> dict[str, str]:
    """EVERY_LABELS in the request's language, as a form's choices."""
    return {key: str(label) for key, label in EVERY_LABELS.items()}


MIN_COUNT = 2
MAX_COUNT = 12


def _check(every: str, count: int) -> None:
    if every not in EVERY_CHOICES:
        raise ValueError(_("A series repeats every week, every 2 weeks or every month."))
    if not MIN_COUNT <= count <= MAX_COUNT:
        raise ValueError(
            _("A series has %(min)d to %(max)d sessions.", min=MIN_COUNT, max=MAX_COUNT)
        )


def _add_months(day: date, months: int) -> date:
    """`months` months after `day`, on the same day of the month or the month's last day."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def wall_times(first_local: datetime, every: Every, count: int) -> list[datetime]:
    """The naive local wall-clock times of a series, the first one included.

    Monthly means the same day of the month as the first session; a month without that day
    (the 31st in April, the 29th-31st in February) gets its last day instead, and the month
    after goes back to the first session's day (31 Jan, 28 Feb, 31 Mar, ...).

    Raises ValueError for an unknown `every`, a count outside 2..12 or an aware `first_local`.
    """
    _check(every, count)
    if first_local.tzinfo is not None:
        raise ValueError("first_local is a wall-clock time: give it without a time zone.")
    if every == "monthly":
        day, clock = first_local.date(), first_local.time()
        return [datetime.combine(_add_months(day, i), clock) for i in range(count)]
    step = timedelta(weeks=1 if every == "weekly" else 2)
    # Naive arithmetic on purpose: days are added to the wall calendar, not to UTC, so the
    # local time stays put across a DST change.
    return [first_local + i * step for i in range(count)]


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """A naive wall-clock time in `zone` as an aware UTC instant, or None if it does not exist.

    A time that occurs twice (fall back) means its first occurrence (fold=0). A time skipped by
    spring forward gives None: zoneinfo would quietly move it by an hour, which is not what
    the client asked for.
    """
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


def occurrences(
    first_local: datetime, every: Every, count: int, zone: ZoneInfo
) -> list[datetime | None]:
    """The sessions of a series as aware UTC instants, all at the first one's local time.

    One entry per session, in order. An entry is None when that day has no such wall-clock
    time (spring forward): the session is reported as not possible rather than moved. See
    `wall_times` for what "monthly" means at the end of a month.

    Raises ValueError for an unknown `every` or a count outside 2..12.
    """
    return [to_utc(wall, zone) for wall in wall_times(first_local, every, count)]


def nearest(wanted: datetime, candidates: Iterable[datetime]) -> datetime | None:
    """The candidate closest in time to `wanted`; the earlier one wins a tie. None if none."""
    return min(candidates, key=lambda start: (abs(start - wanted), start), default=None)


@dataclass(frozen=True)
class PlannedDate:
    """One session of a planned series, as the client sees it before confirming.

    `state` is "free" (the asked time is free), "taken" (not free: booked, outside the
    therapist's hours, no room), "no_such_time" (the wall-clock time is skipped that day),
    "too_soon" (inside the notice period or past) or "too_far" (beyond the booking horizon).
    """

    index: int
    wall: datetime  # the wall-clock time asked for, naive
    start: datetime | None  # its UTC instant; None when that local time does not exist
    state: str
    alternative: datetime | None = None  # the nearest free start that day, when not free

    @property
    def day(self) -> date:
        return self.wall.date()

    @property
    def is_free(self) -> bool:
        return self.state == "free"

    @property
    def bookable(self) -> datetime | None:
        """What ticking this date would book: the asked time if free, else the alternative."""
        return self.start if self.is_free else self.alternative


@dataclass(frozen=True)
class SeriesPlan:
    every: Every
    count: int
    therapist_id: int
    therapist_name: str | None  # None when the therapist does not offer the technique then
    dates: list[PlannedDate]

    @property
    def free_count(self) -> int:
        return sum(1 for d in self.dates if d.is_free)

    def date_of(self, start: datetime, zone: ZoneInfo) -> PlannedDate | None:
        """The planned date whose local day holds `start`, if any."""
        day = start.astimezone(zone).date()
        return next((d for d in self.dates if d.day == day), None)


def plan_dates(
    walls: Sequence[datetime],
    free_starts: Iterable[datetime],
    *,
    zone: ZoneInfo,
    earliest: datetime,
    latest: datetime,
) -> list[PlannedDate]:
    """Which of the series' wall-clock times are free, with the nearest free time that day.

    `free_starts` are the free starts of one therapist (from the slot search); `earliest` and
    `latest` are the first and last instant a session may start (notice and horizon), used
    only to say why a date has nothing free.
    """
    by_day: dict[date, list[datetime]] = {}
    for start in free_starts:
        by_day.setdefault(start.astimezone(zone).date(), []).append(start)
    free = {s for starts in by_day.values() for s in starts}

    planned = []
    for i, wall in enumerate(walls):
        start = to_utc(wall, zone)
        same_day = by_day.get(wall.date(), [])
        if start is not None and start in free:
            planned.append(PlannedDate(i, wall, start, "free"))
            continue
        # Measure a skipped time from where zoneinfo would put it: "that day, about then".
        reference = start or wall.replace(tzinfo=zone).astimezone(UTC)
        if start is None:
            state = "no_such_time"
        elif start < earliest:
            state = "too_soon"
        elif start > latest:
            state = "too_far"
        else:
            state = "taken"
        planned.append(PlannedDate(i, wall, start, state, nearest(reference, same_day)))
    return planned


def plan_series(
    *,
    technique: Technique,
    duration_minutes: int,
    therapist_id: int,
    first_local: datetime,
    every: Every,
    count: int,
    now: datetime,
    timezone: str,
    policy: ClinicPolicy,
) -> SeriesPlan:
    """Plan a series against the real slot search: one search over the whole range.

    Raises ValueError for an unknown `every` or a count outside 2..12.
    """
    zone = ZoneInfo(timezone)
    walls = wall_times(first_local, every, count)
    earliest = now + timedelta(minutes=policy.min_notice_minutes)
    latest = now + timedelta(days=policy.horizon_days)
    # Days past the horizon can have no slot; searching them would only cost time.
    last_day = max(walls[0].date(), min(walls[-1].date(), latest.astimezone(zone).date()))
    found = search_slots(
        technique=technique,
        duration_minutes=duration_minutes,
        first_day=walls[0].date(),
        last_day=last_day,
        now=now,
        timezone=timezone,
        therapist_id=therapist_id,
        policy=policy,
    )
    starts = [s.start for s in found.slots if s.therapist_id == therapist_id]
    dates = plan_dates(walls, starts, zone=zone, earliest=earliest, latest=latest)
    return SeriesPlan(every, count, therapist_id, found.therapist_names.get(therapist_id), dates)


def check_picks(
    walls: Sequence[datetime], picks: Iterable[datetime], zone: ZoneInfo
) -> list[datetime]:
    """The starts a client ticked, sorted, once each is known to fit the series.

    Each must be an aware instant on the local day of one of the series' sessions, and at most
    one a day: the asked time or another time that day. Whether it is free is for the booking
    itself to find out. Raises ValueError with a message for the client.
    """
    days = {wall.date() for wall in walls}
    seen: set[date] = set()
    chosen = []
    for start in picks:
        if start.tzinfo is None:
            raise ValueError(_("A chosen time could not be read. Please choose from the list."))
        day = start.astimezone(zone).date()
        if day not in days:
            raise ValueError(_("A chosen time is not on a day of this series."))
        if day in seen:
            raise ValueError(_("Choose one time a day."))
        seen.add(day)
        chosen.append(start.astimezone(UTC))
    if not chosen:
        raise ValueError(_("Tick at least one date to book, or choose to book none."))
    return sorted(chosen)
