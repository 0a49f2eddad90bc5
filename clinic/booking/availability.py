"""Loads what the slot engine needs for a date range, in a fixed number of queries.

Seven statements whatever the range or the number of therapists: the policy, the certified
therapists, their working hours, their time off, their imported busy time (external calendars),
the bookings in range, and the rooms. Time off and busy time block a therapist without a buffer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinic.auth.models import User
from clinic.booking.models import HOLDS_TIME, Booking
from clinic.calendars.imports import MAX_BUSY_PIECE
from clinic.calendars.models import BusyTime
from clinic.catalog.models import Certification, Room, Technique, Therapist
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy, TimeOff, WorkingHours
from clinic.scheduling.slots import (
    Interval,
    Slot,
    SlotQuery,
    TherapistSchedule,
    find_slots_between,
    local_midnight,
    local_window,
    one_per_start,
)

# No session is longer than this; it bounds the overlap query from below so that it reads
# an index range, not the whole booking history.
MAX_SESSION = timedelta(hours=12)


@dataclass(frozen=True)
class SlotSearch:
    timezone: str
    first_day: date
    last_day: date
    slots: list[Slot]
    therapist_names: dict[int, str]

    def by_day(
        self, link: Callable[[Slot], str], *, each_time_once: bool = False
    ) -> list[tuple[date, list[tuple[str | None, list[ShownSlot]]]]]:
        """The slots as a page lists them, grouped by local day, then by therapist name (days
        without slots left out); `link` gives each slot's address. With `each_time_once` (a
        search for any therapist) a day is one group, named None, holding each start once."""
        zone = ZoneInfo(self.timezone)
        slots = one_per_start(self.slots, zone) if each_time_once else self.slots
        days: dict[date, dict[int, list[ShownSlot]]] = defaultdict(lambda: defaultdict(list))
        for slot in slots:
            local = slot.start.astimezone(zone)
            name = self.therapist_names[slot.therapist_id]
            shown = ShownSlot(link(slot), slot.start.isoformat(), f"{local:%H:%M}", name)
            days[local.date()][0 if each_time_once else slot.therapist_id].append(shown)
        if each_time_once:
            return [(day, [(None, days[day][0])]) for day in sorted(days)]
        return [
            (
                day,
                sorted(
                    ((self.therapist_names[tid], found) for tid, found in days[day].items()),
                    key=lambda pair: pair[0],
                ),
            )
            for day in sorted(days)
        ]


@dataclass(frozen=True)
class ShownSlot:
    """A free time as a page shows it, every text made before the template runs: a page of
    two weeks may hold thousands, and each call from a template costs more than the text."""

    href: str
    instant: str  # ISO 8601, for <time datetime>
    clock: str  # the clinic's wall-clock time: "09:15"
    therapist: str  # the name of whom it books


def search_slots(
    *,
    technique: Technique,
    duration_minutes: int,
    first_day: date,
    last_day: date,
    now: datetime,
    timezone: str,
    therapist_id: int | None = None,
    policy: ClinicPolicy | None = None,
) -> SlotSearch:
    """Free slots for a technique and length between two local dates (inclusive)."""
    zone = ZoneInfo(timezone)
    policy = policy or ClinicPolicy.current()
    range_start = local_midnight(first_day, zone)
    range_end = local_midnight(last_day + timedelta(days=1), zone)
    earliest = max(range_start, now + timedelta(minutes=policy.min_notice_minutes))
    latest = min(range_end - timedelta(microseconds=1), now + timedelta(days=policy.horizon_days))
    empty = SlotSearch(timezone, first_day, last_day, [], {})
    if earliest > latest:
        return empty

    certified = select(Therapist.id, User.name, Certification.valid_from, Certification.valid_until)
    certified = (
        certified.join(Therapist.user)
        .join(Certification, Certification.therapist_id == Therapist.id)
        .where(
            Therapist.active,
            User.active,
            Certification.technique_id == technique.id,
            Certification.valid_from <= last_day,
            Certification.valid_until >= first_day,
        )
    )
    if therapist_id is not None:
        certified = certified.where(Therapist.id == therapist_id)
    valid_days: dict[int, list[tuple[date, date]]] = defaultdict(list)
    names: dict[int, str] = {}
    for tid, name, valid_from, valid_until in db.session.execute(certified):
        valid_days[tid].append((valid_from, valid_until))
        names[tid] = name
    if not names:
        return empty
    ids = list(names)

    hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    weekly = select(
        WorkingHours.therapist_id,
        WorkingHours.weekday,
        WorkingHours.start_time,
        WorkingHours.end_time,
    ).where(WorkingHours.therapist_id.in_(ids))
    for tid, weekday, start_time, end_time in db.session.execute(weekly):  # rows, not objects
        hours[tid][weekday].append((start_time, end_time))

    blocks: dict[int, list[Interval]] = defaultdict(list)
    for tid, starts, ends in db.session.execute(
        select(TimeOff.therapist_id, TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.therapist_id.in_(ids),
            TimeOff.starts_at < range_end,
            TimeOff.ends_at > range_start,
        )
    ):
        blocks[tid].append(Interval(starts, ends))
    for tid, starts, ends in db.session.execute(
        select(BusyTime.therapist_id, BusyTime.starts_at, BusyTime.ends_at).where(
            BusyTime.therapist_id.in_(ids),
            # Stored pieces are at most MAX_BUSY_PIECE long: an index range, bounded below.
            BusyTime.starts_at >= range_start - MAX_BUSY_PIECE,
            BusyTime.starts_at < range_end,
            BusyTime.ends_at > range_start,
        )
    ):
        blocks[tid].append(Interval(starts, ends))

    rooms = list(db.session.scalars(select(Room.id).where(Room.active)))
    room_sessions: dict[int, list[Interval]] = {room: [] for room in rooms}
    sessions: dict[int, list[Interval]] = defaultdict(list)
    bookings = select(Booking.therapist_id, Booking.room_id, Booking.starts_at, Booking.ends_at)
    bookings = bookings.where(
        Booking.status.in_(HOLDS_TIME),
        Booking.starts_at >= range_start - MAX_SESSION - timedelta(minutes=policy.buffer_minutes),
        Booking.starts_at < range_end + timedelta(minutes=policy.buffer_minutes),
    )
    for tid, room, starts, ends in db.session.execute(bookings):
        interval = Interval(starts, ends)
        sessions[tid].append(interval)
        if room in room_sessions:
            room_sessions[room].append(interval)

    schedules = []
    for tid in ids:
        windows = []
        day = first_day
        while day <= last_day:
            if any(a <= day <= b for a, b in valid_days[tid]):
                for start, end in hours[tid].get(day.weekday(), ()):
                    found = local_window(day, start, end, zone)
                    if found:
                        windows.append(found)
            day += timedelta(days=1)
        schedules.append(TherapistSchedule(tid, windows, sessions[tid], blocks[tid]))

    # Over the whole range, not from now on: the clock moves, the range does not, so the same
    # search a moment later is found in the memo and only cut to the times still bookable.
    query = SlotQuery(
        duration=timedelta(minutes=duration_minutes),
        granularity=timedelta(minutes=policy.granularity_minutes),
        buffer=timedelta(minutes=policy.buffer_minutes),
        earliest=range_start,
        latest=range_end - timedelta(microseconds=1),
        timezone=zone,
    )
    slots = find_slots_between(
        schedules, list(room_sessions.values()), query, earliest=earliest, latest=latest
    )
    return SlotSearch(timezone, first_day, last_day, slots, names)
