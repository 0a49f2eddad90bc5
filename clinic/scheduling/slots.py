"""The slot engine: free times from working windows and busy time. Pure: no Flask, no database.

Every instant is an aware UTC datetime and every length is computed in UTC; the clinic's time
zone is used only to put slot starts on the wall-clock grid (09:00, 09:15, ...) and to build
working windows from wall-clock hours (`local_window`).

Rules (DESIGN.md, "Slots"):
- a slot lies inside one working window of its therapist;
- it keeps `buffer` away from other sessions (bookings) on both sides, but not from the edges
  of working hours, nor from time off or imported busy time;
- at least one room is free for the whole slot, `buffer` away from that room's sessions;
- it starts on the grid of `granularity` minutes, counted from local midnight;
- it starts no earlier than `earliest` (now + notice) and no later than `latest` (the horizon);
- on the fall-back day a wall-clock time that occurs twice yields only its first occurrence.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open stretch of time [start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("intervals need aware datetimes")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def widened(self, by: timedelta) -> Interval:
        return Interval(self.start - by, self.end + by)


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime
    therapist_id: int
    end: datetime = field(compare=False)


@dataclass(frozen=True)
class TherapistSchedule:
    """One therapist's time for the search: windows they work, and what is taken."""

    therapist_id: int
    windows: Sequence[Interval]
    sessions: Sequence[Interval] = ()  # bookings: kept `buffer` apart from a new session
    blocks: Sequence[Interval] = ()  # time off, imported busy time: no buffer needed


@dataclass(frozen=True)
class SlotQuery:
    duration: timedelta
    granularity: timedelta
    buffer: timedelta
    earliest: datetime  # now + minimum notice
    latest: datetime  # the last allowed start (now + horizon)
    timezone: ZoneInfo


def local_window(day: date, start: time, end: time, zone: ZoneInfo) -> Interval | None:
    """A wall-clock interval of a local day as UTC instants, or None if nothing is left of it.

    A wall-clock time that occurs twice (fall back) means its first occurrence (fold=0); one
    that does not exist (spring forward) is moved past the gap by zoneinfo.
    """
    begin = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    finish = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    return Interval(begin, finish) if begin < finish else None


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day begins, in UTC (a DST day is 23 or 25 hours long)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined."""
    merged: list[Interval] = []
    for current in sorted(intervals):
        if merged and current.start <= merged[-1].end:
            if current.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, current.end)
        else:
            merged.append(current)
    return merged


def subtract(free: Sequence[Interval], taken: Sequence[Interval]) -> list[Interval]:
    """`free` minus `taken`; both sorted and merged. A sweep over the two lists."""
    result: list[Interval] = []
    j = 0
    for piece in free:
        start = piece.start
        while j < len(taken) and taken[j].end <= start:
            j += 1
        k = j
        while k < len(taken) and taken[k].start < piece.end:
            if taken[k].start > start:
                result.append(Interval(start, taken[k].start))
            start = max(start, taken[k].end)
            k += 1
        if start < piece.end:
            result.append(Interval(start, piece.end))
    return result


class _Rooms:
    """Answers 'is some room free for all of [start, end)?' by bisecting each room's free list."""

    def __init__(self, free_by_room: Sequence[Sequence[Interval]]) -> None:
        self.free = [list(f) for f in free_by_room]
        self.starts = [[i.start for i in f] for f in self.free]

    def any_free(self, start: datetime, end: datetime) -> bool:
        for starts, free in zip(self.starts, self.free, strict=True):
            i = bisect_right(starts, start) - 1
            if i >= 0 and free[i].end >= end:
                return True
        return False


def _grid_start(at: datetime, step_minutes: int, zone: ZoneInfo) -> datetime:
    """The first instant at or after `at` whose wall-clock time is on the grid."""
    at = at.replace(second=0, microsecond=0) + (
        timedelta(minutes=1) if at.second or at.microsecond else timedelta()
    )
    local = at.astimezone(zone)
    minute_of_day = local.hour * 60 + local.minute
    return at + timedelta(minutes=(-minute_of_day) % step_minutes)


def _is_first_occurrence(t: datetime, offset: timedelta, zone: ZoneInfo) -> bool:
    """False for the second pass through a repeated wall-clock hour (fall back)."""
    wall = (t + offset).replace(tzinfo=zone)  # fold=0: the first occurrence
    return wall.utcoffset() == offset


def _candidates(free: Interval, query: SlotQuery, step_minutes: int) -> Iterable[datetime]:
    """Grid-aligned starts within one free interval, first occurrences only."""
    zone = query.timezone
    first = max(free.start, query.earliest)
    last = min(free.end - query.duration, query.latest)
    step = query.granularity
    t = _grid_start(first, step_minutes, zone)
    if t > last:
        return
    # The common case, a free interval inside one UTC offset: if both ends have the same offset
    # and are first occurrences, so has everything between (a fall-back's repeated hour has
    # the later offset), and the grid is plain arithmetic with no time zone lookup per start.
    offset = t.astimezone(zone).utcoffset()
    if (
        offset is not None
        and last.astimezone(zone).utcoffset() == offset
        and _is_first_occurrence(t, offset, zone)
        and _is_first_occurrence(last, offset, zone)
    ):
        while t <= last:
            yield t
            t += step
        return
    # Within one UTC offset the grid is plain arithmetic; re-align only where the offset moves.
    while t <= last:
        offset = t.astimezone(zone).utcoffset()
        while t <= last and t.astimezone(zone).utcoffset() == offset:
            if _is_first_occurrence(t, offset, zone):
                yield t
            t += step
        if t <= last:
            t = _grid_start(t, step_minutes, zone)


def find_slots(
    therapists: Sequence[TherapistSchedule],
    rooms: Sequence[Sequence[Interval]],
    query: SlotQuery,
) -> list[Slot]:
    """Every free slot of every therapist, sorted by start then therapist.

    `rooms` holds, per room, the sessions taking it up; a slot needs one room whose sessions,
    widened by the buffer, leave the whole slot free.
    """
    if query.duration <= timedelta(0) or query.granularity <= timedelta(0):
        raise ValueError("duration and granularity must be positive")
    step_minutes, rest = divmod(query.granularity, timedelta(minutes=1))
    if rest:
        raise ValueError("granularity must be whole minutes")
    horizon = Interval(query.earliest, query.latest + query.duration)
    room_free = _Rooms(
        [
            subtract([horizon], merge(s.widened(query.buffer) for s in sessions))
            for sessions in rooms
        ]
    )
    slots: list[Slot] = []
    for schedule in therapists:
        taken = merge([s.widened(query.buffer) for s in schedule.sessions] + list(schedule.blocks))
        for free in subtract(merge(schedule.windows), taken):
            for start in _candidates(free, query, step_minutes):
                end = start + query.duration
                if room_free.any_free(start, end):
                    slots.append(Slot(start, schedule.therapist_id, end))
    # The order Slot compares in, by key: far cheaper than thousands of dataclass comparisons.
    slots.sort(key=lambda slot: (slot.start, slot.therapist_id))
    return slots


def find_slots_between(
    therapists: Sequence[TherapistSchedule],
    rooms: Sequence[Sequence[Interval]],
    query: SlotQuery,
    *,
    earliest: datetime,
    latest: datetime,
) -> list[Slot]:
    """find_slots for `query` with starts bounded by `earliest` and `latest` instead, which
    must lie within the query's: the same slots, from a memo of recent searches.

    The memo is keyed by every input, so it is never out of date; it pays because the query's
    own bounds are fixed (a range of days) while `earliest` moves with the clock. It rests on
    one property, tested: slots found over a range and cut to a narrower one are the slots
    found over the narrower one (the grid is counted from local midnight, not from `earliest`).
    """
    if not (query.earliest <= earliest and latest <= query.latest):
        raise ValueError("the bounds must lie within the query's")
    key_therapists = tuple(
        replace(t, windows=tuple(t.windows), sessions=tuple(t.sessions), blocks=tuple(t.blocks))
        for t in therapists
    )
    found, starts = _memo(key_therapists, tuple(tuple(r) for r in rooms), query)
    return list(found[bisect_left(starts, earliest) : bisect_right(starts, latest)])


def one_per_start(slots: Iterable[Slot], zone: ZoneInfo) -> list[Slot]:
    """Each start once, as a search for any therapist offers it: of the therapists free then,
    the one with the most free times that local day (then the lowest id), sorted by start.

    Offering the least-booked therapist spreads a clinic's bookings over its team, and a page
    lists one time where it would list up to one per therapist.
    """
    slots = list(slots)
    days = [slot.start.astimezone(zone).date() for slot in slots]
    free_that_day = Counter(zip(days, (slot.therapist_id for slot in slots), strict=True))
    best: dict[datetime, tuple[int, int, Slot]] = {}
    for day, slot in zip(days, slots, strict=True):
        rank = (-free_that_day[day, slot.therapist_id], slot.therapist_id, slot)
        if slot.start not in best or rank[:2] < best[slot.start][:2]:
            best[slot.start] = rank
    return [best[start][2] for start in sorted(best)]


# A clinic's searches repeat: a few techniques and lengths, a page or two of weeks each. Each
# entry holds its inputs and slots: 0.9 MB for 20 therapists over two weeks (3,441 slots,
# measured with tracemalloc), so at most about 30 MB per worker.
@lru_cache(maxsize=32)
def _memo(
    therapists: tuple[TherapistSchedule, ...],
    rooms: tuple[tuple[Interval, ...], ...],
    query: SlotQuery,
) -> tuple[tuple[Slot, ...], tuple[datetime, ...]]:
    found = tuple(find_slots(therapists, rooms, query))
    return found, tuple(slot.start for slot in found)


def forget_remembered_searches() -> None:
    """Empty the memo of find_slots_between (a benchmark times the search, not the memo)."""
    _memo.cache_clear()
