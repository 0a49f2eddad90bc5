"""Booking a session: its time claims, retries after a lost race, and the checks a request
must pass. Operations flush; the caller commits. Changing a booking that exists (cancelling,
marking, moving, expiring) is in changes.py.

Every operation that writes starts with `begin_write()` so that, on SQLite, competing writers
queue for the lock; the database's claims (models.TimeClaim) make a double booking impossible
whatever the Python code above them does. `with_retries` turns the rare lost race into a
fresh attempt, which then sees the winner and answers "slot taken".
"""

from __future__ import annotations

import logging
import time as systime
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from clinic.auth.models import User
from clinic.booking.attendance import needs_missed_sessions_review
from clinic.booking.availability import search_slots
from clinic.booking.models import (
    CLAIM_BLOCK,
    Booking,
    BookingStatus,
    TimeClaim,
)
from clinic.catalog.models import Room, Technique
from clinic.database import begin_write
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy, WorkingHours
from clinic.scheduling.slots import local_window
from clinic.screening.models import Standing
from clinic.screening.operations import booking_gate

log = logging.getLogger(__name__)

T = TypeVar("T")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class BookingError(Exception):
    """A refused booking action. `code` is stable (the API sends it); `status` is HTTP's."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def slot_taken() -> BookingError:
    return BookingError(
        409,
        "slot_unavailable",
        _("Sorry, that time has just been taken or is no longer free. Please pick another."),
    )


# --- the guarantee --------------------------------------------------------------------------


def claim_blocks(start: datetime, end: datetime) -> list[datetime]:
    """The 5-minute blocks covering [start, end), on a fixed UTC grid."""
    first = EPOCH + ((start - EPOCH) // CLAIM_BLOCK) * CLAIM_BLOCK
    blocks = []
    t = first
    while t < end:
        blocks.append(t)
        t += CLAIM_BLOCK
    return blocks


def claims_for(booking: Booking) -> list[TimeClaim]:
    """Every block the booking holds: the session plus its buffer, for therapist and room."""
    blocks = claim_blocks(
        booking.starts_at, booking.ends_at + timedelta(minutes=booking.buffer_minutes)
    )
    return [
        TimeClaim(kind=kind, resource_id=rid, block_start=b, booking_id=booking.id)
        for kind, rid in (("room", booking.room_id), ("therapist", booking.therapist_id))
        for b in blocks
    ]


def busy_rooms(start: datetime, end: datetime, buffer: timedelta) -> set[int]:
    """Rooms that cannot take a session [start, end) followed by `buffer`.

    A room's earlier booking holds blocks up to its end plus its buffer, so it shows up here
    when it would leave too short a gap before `start`.
    """
    blocks = claim_blocks(start, end + buffer)
    return set(
        db.session.scalars(
            select(TimeClaim.resource_id)
            .where(
                TimeClaim.kind == "room",
                TimeClaim.block_start >= blocks[0],
                TimeClaim.block_start <= blocks[-1],
            )
            .distinct()
        )
    )


def take_claims(booking: Booking) -> None:
    """Write the booking's claims; raises IntegrityError when any block is held already."""
    db.session.add_all(claims_for(booking))
    db.session.flush()


def release_claims(booking: Booking) -> None:
    db.session.execute(delete(TimeClaim).where(TimeClaim.booking_id == booking.id))


def _is_retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in ("40P01", "40001"):  # deadlock, serialization failure
        return True
    return "database is locked" in str(exc.orig)


def with_retries(operation: Callable[[], T], attempts: int = 5) -> T:
    """Run an operation; after a lost race roll back and run it again from the start.

    A claim collision (IntegrityError) means someone else got in first: the next attempt
    sees their booking and refuses cleanly. Deadlocks and lock time-outs are retried as well.
    """
    for attempt in range(1, attempts + 1):
        try:
            begin_write()  # each attempt reads as a writer, so it cannot lose the lock later
            return operation()
        except IntegrityError:
            db.session.rollback()
            if attempt == attempts:
                raise slot_taken() from None
        except DBAPIError as exc:
            db.session.rollback()
            if not _is_retryable(exc) or attempt == attempts:
                raise
            log.info("retrying after %s", exc.orig)
            systime.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


# --- booking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a client asks for; `start` is an aware instant."""

    technique_slug: str
    duration_minutes: int
    therapist_id: int
    start: datetime


def _technique(slug: str) -> Technique:
    found = db.session.scalar(select(Technique).where(Technique.slug == slug, Technique.active))
    if found is None:
        raise BookingError(422, "invalid", _("We do not offer that technique."), "technique")
    return found


def check_request(
    req: Request, *, now: datetime, timezone: str, policy: ClinicPolicy
) -> tuple[Technique, int]:
    """Refuse what can never be booked, whatever the calendar says. Returns the price."""
    technique = _technique(req.technique_slug)
    option = next(
        (o for o in technique.options if o.duration_minutes == req.duration_minutes), None
    )
    if option is None:
        lengths = ", ".join(str(o.duration_minutes) for o in technique.options)
        raise BookingError(
            422,
            "invalid",
            _(
                "%(technique)s comes in %(lengths)s minutes.",
                technique=technique.name,
                lengths=lengths,
            ),
            "duration",
        )
    if req.start.tzinfo is None:
        raise BookingError(422, "invalid", _("Give the time with its UTC offset."), "start")
    local = req.start.astimezone(ZoneInfo(timezone))
    if (
        (local.hour * 60 + local.minute) % policy.granularity_minutes
        or local.second
        or (local.microsecond)
    ):
        raise BookingError(
            422,
            "invalid",
            _(
                "Sessions start every %(minutes)d minutes (09:00, 09:%(second)s, ...).",
                minutes=policy.granularity_minutes,
                second=f"{policy.granularity_minutes:02d}",
            ),
            "start",
        )
    if req.start <= now:
        raise BookingError(422, "invalid", _("That time has passed."), "start")
    if req.start < now + timedelta(minutes=policy.min_notice_minutes):
        hours = policy.min_notice_minutes / 60
        raise BookingError(
            422,
            "invalid",
            _("Please book at least %(hours)s hours ahead.", hours=f"{hours:g}"),
            "start",
        )
    if req.start > now + timedelta(days=policy.horizon_days):
        raise BookingError(
            422,
            "invalid",
            _("We take bookings up to %(days)d days ahead.", days=policy.horizon_days),
            "start",
        )
    return technique, option.price_minor


def availability_problem(
    req: Request, technique: Technique, *, now: datetime, timezone: str, policy: ClinicPolicy
) -> BookingError | None:
    """Why the slot search does not offer this time now, or None when it does."""
    day = req.start.astimezone(ZoneInfo(timezone)).date()
    free = search_slots(
        technique=technique,
        duration_minutes=req.duration_minutes,
        first_day=day,
        last_day=day,
        now=now,
        timezone=timezone,
        therapist_id=req.therapist_id,
        policy=policy,
    )
    if any(s.start == req.start and s.therapist_id == req.therapist_id for s in free.slots):
        return None
    if req.therapist_id not in free.therapist_names:
        return BookingError(
            422,
            "invalid",
            _("That therapist does not offer this technique on that day."),
            "therapist",
        )
    zone = ZoneInfo(timezone)
    end = req.start + timedelta(minutes=req.duration_minutes)
    hours = db.session.scalars(
        select(WorkingHours).where(
            WorkingHours.therapist_id == req.therapist_id, WorkingHours.weekday == day.weekday()
        )
    )
    windows = [local_window(day, h.start_time, h.end_time, zone) for h in hours]
    if not any(w and w.start <= req.start and end <= w.end for w in windows):
        # Nothing is in the way: the therapist simply does not work then.
        return BookingError(422, "invalid", _("The therapist does not work at that time."), "start")
    return slot_taken()


def book(
    client: User,
    req: Request,
    *,
    now: datetime,
    timezone: str,
    series_id: int | None = None,
) -> Booking:
    """Book a session for a client: confirmed, or pending while the screening waits for staff
    or while the clinic reviews a client who missed sessions (attendance.py).

    The booking keeps the price, cancellation cut-off and buffer in force now: later changes to
    the policy or the prices never change it.

    Raises BookingError: 422 for a request that can never be booked, 403 when the screening
    is missing, expired or blocks the technique, 409 when the time is not free.
    """
    begin_write()
    if not client.is_client or not client.active:
        raise BookingError(403, "forbidden", _("Only clients book sessions."))
    policy = ClinicPolicy.current()
    technique, price = check_request(req, now=now, timezone=timezone, policy=policy)

    gate = booking_gate(client.id, technique, now)
    if gate.code in ("screening_required", "screening_expired"):
        raise BookingError(
            403,
            "screening_required",
            _("Please answer the health screening first.")
            if gate.code == "screening_required"
            else _("Your health screening has expired. Please answer it again."),
        )
    if gate.standing is Standing.BLOCKED:
        raise BookingError(
            403,
            "screening_blocks",
            _(
                "Your health screening does not allow %(technique)s now. "
                "See your screening page for why.",
                technique=technique.name.lower(),
            ),
        )

    problem = availability_problem(req, technique, now=now, timezone=timezone, policy=policy)
    if problem:
        raise problem

    end = req.start + timedelta(minutes=req.duration_minutes)
    buffer = timedelta(minutes=policy.buffer_minutes)
    busy = busy_rooms(req.start, end, buffer)
    room = db.session.scalar(
        select(Room.id).where(Room.active, Room.id.not_in(busy)).order_by(Room.id).limit(1)
    )
    if room is None:
        raise slot_taken()

    booking = Booking(
        client_id=client.id,
        therapist_id=req.therapist_id,
        technique_id=technique.id,
        room_id=room,
        starts_at=req.start,
        ends_at=end,
        duration_minutes=req.duration_minutes,
        price_minor=price,
        status=BookingStatus.CONFIRMED
        if gate.standing is Standing.BOOKABLE
        and not needs_missed_sessions_review(client.id, policy)
        else BookingStatus.PENDING,
        buffer_minutes=policy.buffer_minutes,
        cancellation_cutoff_hours=policy.cancellation_cutoff_hours,
        series_id=series_id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(booking)
    db.session.flush()
    take_claims(booking)
    return booking
