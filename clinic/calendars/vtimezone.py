"""A VTIMEZONE written from the zoneinfo database, as calendar programs read it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Component, Timezone, TimezoneDaylight, TimezoneStandard


@dataclass(frozen=True)
class _Change:
    """A change of a zone's offset or name, at `onset` (UTC)."""

    onset: datetime
    before: timedelta
    after: timedelta
    dst: bool
    name: str

    @property
    def wall_clock(self) -> datetime:
        """The onset as the clock read just before the change (RFC 5545 3.6.5)."""
        return (self.onset + self.before).replace(tzinfo=None)

    @property
    def yearly_key(self) -> tuple[object, ...]:
        """What makes this change the same as one a year later: month, weekday rule, time."""
        day = self.wall_clock
        weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[day.weekday()]
        month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        nth = "-1" if day.day + 7 > month_end.day else str((day.day - 1) // 7 + 1)
        return (day.month, nth + weekday, day.time(), self.before, self.after, self.dst, self.name)


@lru_cache(maxsize=32)
def vtimezone(timezone: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for the zone, right at least from `first_year` to the end of `last_year`.

    Written from zoneinfo, not with icalendar's Timezone.from_tzid: that lists later changes as
    RDATEs, which vobject (dateutil) misreads, and puts the spring onset at the clock time after
    the change rather than before it. When the zone has followed the same yearly rules (such as
    "last Sunday of March at 02:00") since the year before `first_year` and will for ten years
    after `last_year`, the rules are written as RRULEs, which keep working for programs that
    remember a VTIMEZONE by its TZID; otherwise each change is listed.
    """
    zone = ZoneInfo(timezone)
    component = Timezone()
    component.add("tzid", timezone)
    changes = _changes(zone, first_year - 1, last_year + 10)
    years: dict[int, list[_Change]] = {}
    for change in changes:
        years.setdefault(change.wall_clock.year, []).append(change)
    keys = {tuple(change.yearly_key for change in found) for found in years.values()}
    if len(keys) == 1 and len(years) == last_year + 12 - first_year:
        for change in years[first_year - 1]:
            observance = _observance(change)
            month, byday = change.yearly_key[:2]
            observance.add("rrule", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": byday})
            component.add_component(observance)
        return component
    start = datetime(first_year, 1, 1, tzinfo=zone)
    offset = start.utcoffset() or timedelta(0)
    initial = _Change(
        start.astimezone(UTC), offset, offset, bool(start.dst()), start.tzname() or ""
    )
    component.add_component(_observance(initial))
    for change in changes:
        if first_year <= change.wall_clock.year <= last_year:
            component.add_component(_observance(change))
    return component


def _changes(zone: ZoneInfo, first_year: int, last_year: int) -> list[_Change]:
    """Every change of the zone from 1 January of `first_year` to the end of `last_year`."""

    def shape(moment: datetime) -> tuple[object, ...]:
        local = moment.astimezone(zone)
        return (local.utcoffset(), local.dst(), local.tzname())

    found = []
    moment = datetime(first_year, 1, 1, tzinfo=zone).astimezone(UTC)
    stop = datetime(last_year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    while moment < stop:
        following = moment + timedelta(days=1)
        if shape(following) == shape(moment):
            moment = following
            continue
        # Changes fall on whole minutes: halve the day down to the minute of the change.
        low, high = moment, following
        while high - low > timedelta(minutes=1):
            middle = (low + (high - low) / 2).replace(second=0, microsecond=0)
            if shape(middle) == shape(low):
                low = middle
            else:
                high = middle
        local = high.astimezone(zone)
        found.append(
            _Change(
                onset=high,
                before=low.astimezone(zone).utcoffset() or timedelta(0),
                after=local.utcoffset() or timedelta(0),
                dst=bool(local.dst()),
                name=local.tzname() or "",
            )
        )
        moment = high
    return found


def _observance(change: _Change) -> Component:
    observance = TimezoneDaylight() if change.dst else TimezoneStandard()
    observance.add("dtstart", change.wall_clock)
    observance.add("tzname", change.name)
    observance.add("tzoffsetfrom", change.before)
    observance.add("tzoffsetto", change.after)
    return observance
