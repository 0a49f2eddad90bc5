"""What a calendar page shows: each day of some therapists, loaded in a fixed number of queries.

A day is an agenda: its working hours as the frame (where they begin and end, the breaks between
them), then sessions, time off and imported busy time, in order of time, each cut to the day.
Days are local days of the clinic, 23 or 25 hours long when the clocks change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from clinic.booking.availability import MAX_SESSION
from clinic.booking.models import Booking, BookingStatus
from clinic.calendars.models import BusyTime, CalendarSource
from clinic.extensions import db
from clinic.scheduling.models import TimeOff, WorkingHours
from clinic.scheduling.operations import whole_days
from clinic.scheduling.slots import Interval, local_window, merge
from clinic.screening.models import Screening
from clinic.screening.operations import SessionNotes, notes_for_session

# At the same instant: the frame first, then what blocks time, then the sessions.
ORDER = {"closes": 0, "opens": 1, "time_off": 2, "busy": 3, "break": 4, "session": 5}


@dataclass(frozen=True)
class Entry:
    """One line of a day's agenda; start and end are UTC, cut to the day."""

    kind: str  # opens, closes, break, time_off, busy, session
    start: datetime
    end: datetime
    began_before: bool = False  # it started on an earlier day
    goes_on: bool = False  # it goes on into the next day
    booking: Booking | None = None
    notes: SessionNotes | None = None
    unscreened: bool = False  # the notes are shown, but the client has no screening on file
    label: str = ""  # the reason for time off; the source of busy time

    @property
    def whole_day(self) -> bool:
        return self.began_before and self.goes_on


@dataclass(frozen=True)
class Day:
    day: date
    hours: list[Interval]  # the working windows, merged: the day's frame
    entries: list[Entry]
    is_today: bool


@dataclass(frozen=True)
class Agenda:
    """Some therapists' days, and the screenings whose notes are shown (for the audit log)."""

    days: dict[int, list[Day]]
    bookings: list[Booking]
    shown: dict[int, tuple[int, list[int]]]  # screening id -> (client id, booking ids)


def _cut(start: datetime, end: datetime, day: Interval) -> dict | None:
    """The part of [start, end) on this day, with where it goes beyond it; None if none."""
    if start >= day.end or end <= day.start:
        return None
    return {
        "start": max(start, day.start),
        "end": min(end, day.end),
        "began_before": start <= day.start,
        "goes_on": end >= day.end,
    }


def current_screenings(client_ids: Iterable[int]) -> dict[int, Screening]:
    """Each client's screening in force (as `current_screening`), in two queries for them all."""
    ids = set(client_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Screening)
        .where(Screening.client_id.in_(ids), Screening.superseded_at.is_(None))
        .options(selectinload(Screening.outcomes))
        .order_by(Screening.submitted_at, Screening.id)
    )
    return {s.client_id: s for s in rows}  # the newest wins


Block = tuple[str, datetime, datetime, str]  # kind, start, end, label


def _load_blocks(therapist_ids: list[int], span: Interval) -> dict[int, list[Block]]:
    """Time off and imported busy time overlapping the span: two queries."""
    blocks: dict[int, list[Block]] = defaultdict(list)
    for off in db.session.scalars(
        select(TimeOff).where(
            TimeOff.therapist_id.in_(therapist_ids),
            TimeOff.starts_at < span.end,
            TimeOff.ends_at > span.start,
        )
    ):
        blocks[off.therapist_id].append(("time_off", off.starts_at, off.ends_at, off.reason))
    for tid, starts, ends, source in db.session.execute(
        select(BusyTime.therapist_id, BusyTime.starts_at, BusyTime.ends_at, CalendarSource.name)
        .join(BusyTime.source)
        .where(
            BusyTime.therapist_id.in_(therapist_ids),
            BusyTime.starts_at < span.end,
            BusyTime.ends_at > span.start,
        )
    ):
        blocks[tid].append(("busy", starts, ends, source))
    return blocks


def _load_bookings(therapist_ids: list[int], span: Interval, *, live_only: bool) -> list[Booking]:
    """The sessions overlapping the span, with client, technique and room: one query."""
    stmt = select(Booking).where(
        Booking.therapist_id.in_(therapist_ids),
        # Bounded from below too, so that the index on (therapist, start) is read, not history.
        Booking.starts_at >= span.start - MAX_SESSION,
        Booking.starts_at < span.end,
        Booking.ends_at > span.start,
    )
    if live_only:
        stmt = stmt.where(Booking.status != BookingStatus.CANCELLED)
    # Each booking has one of each: joined into the same query, not three queries more.
    stmt = stmt.options(
        joinedload(Booking.client), joinedload(Booking.technique), joinedload(Booking.room)
    )
    return list(db.session.scalars(stmt.order_by(Booking.starts_at, Booking.id)))


def _day_entries(
    windows: list[Interval],
    blocks: list[Block],
    sessions: list[Booking],
    notes: dict[int, SessionNotes | None],
    bounds: Interval,
) -> list[Entry]:
    entries = []
    if windows:
        entries.append(Entry("opens", windows[0].start, windows[0].start))
        entries.append(Entry("closes", windows[-1].end, windows[-1].end))
        entries += [Entry("break", a.end, b.start) for a, b in pairwise(windows)]
    for kind, starts, ends, label in blocks:
        if cut := _cut(starts, ends, bounds):
            entries.append(Entry(kind, label=label, **cut))
    for booking in sessions:
        if cut := _cut(booking.starts_at, booking.ends_at, bounds):
            note = notes.get(booking.id)
            unscreened = booking.id in notes and note is None
            entries.append(
                Entry("session", booking=booking, notes=note, unscreened=unscreened, **cut)
            )
    entries.sort(key=lambda e: (e.start, ORDER[e.kind], e.end))
    return entries


def load_agenda(
    therapist_ids: list[int],
    first: date,
    last: date,
    *,
    timezone: str,
    today: date,
    with_notes: bool,
    live_only: bool = False,
) -> Agenda:
    """The days from `first` to `last` of these therapists, in a fixed number of queries
    (four, and two more for the screenings), however many therapists, days and sessions.

    With `with_notes`, each session that is not cancelled carries its screening notes.
    """
    zone = ZoneInfo(timezone)
    span = whole_days(first, last, zone)
    hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for row in db.session.scalars(
        select(WorkingHours).where(WorkingHours.therapist_id.in_(therapist_ids))
    ):
        hours[row.therapist_id][row.weekday].append((row.start_time, row.end_time))
    blocks = _load_blocks(therapist_ids, span)
    bookings = _load_bookings(therapist_ids, span, live_only=live_only)

    notes: dict[int, SessionNotes | None] = {}
    shown: dict[int, tuple[int, list[int]]] = {}
    if with_notes:
        noted = [b for b in bookings if b.status is not BookingStatus.CANCELLED]
        screenings = current_screenings(b.client_id for b in noted)
        for booking in noted:
            screening = screenings.get(booking.client_id)
            notes[booking.id] = screening and notes_for_session(screening, booking.technique)
            if screening is not None:
                shown.setdefault(screening.id, (booking.client_id, []))[1].append(booking.id)
    sessions: dict[int, list[Booking]] = defaultdict(list)
    for booking in bookings:
        sessions[booking.therapist_id].append(booking)

    days: dict[int, list[Day]] = {tid: [] for tid in therapist_ids}
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        bounds = whole_days(day, day, zone)  # 23 or 25 hours when the clocks change
        for tid in therapist_ids:
            spans = hours[tid][day.weekday()]
            windows = merge(w for w in (local_window(day, a, b, zone) for a, b in spans) if w)
            entries = _day_entries(windows, blocks[tid], sessions[tid], notes, bounds)
            days[tid].append(Day(day, windows, entries, day == today))
    return Agenda(days, bookings, shown)
