"""Booking, cancelling and marking sessions. Operations flush; the caller commits.

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

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from clinic.auth.models import User
from clinic.booking.availability import search_slots
from clinic.booking.models import (
    CLAIM_BLOCK,
    LIVE,
    Booking,
    BookingStatus,
    TimeClaim,
)
from clinic.catalog.models import Room, Technique
from clinic.database import begin_write
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from clinic.screening.models import Decision, Screening, Standing
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
        "Sorry, that time has just been taken or is no longer free. Please pick another.",
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


def _busy_rooms(start: datetime, end: datetime, buffer: timedelta) -> set[int]:
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


def _take(booking: Booking) -> None:
    """Write the booking's claims; raises IntegrityError when any block is held already."""
    db.session.add_all(claims_for(booking))
    db.session.flush()


def _release(booking: Booking) -> None:
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
        raise BookingError(422, "invalid", "We do not offer that technique.", "technique")
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
            422, "invalid", f"{technique.name} comes in {lengths} minutes.", "duration"
        )
    if req.start.tzinfo is None:
        raise BookingError(422, "invalid", "Give the time with its UTC offset.", "start")
    local = req.start.astimezone(ZoneInfo(timezone))
    if (
        (local.hour * 60 + local.minute) % policy.granularity_minutes
        or local.second
        or (local.microsecond)
    ):
        raise BookingError(
            422,
            "invalid",
            f"Sessions start every {policy.granularity_minutes} minutes (09:00, "
            f"09:{policy.granularity_minutes:02d}, ...).",
            "start",
        )
    if req.start <= now:
        raise BookingError(422, "invalid", "That time has passed.", "start")
    if req.start < now + timedelta(minutes=policy.min_notice_minutes):
        hours = policy.min_notice_minutes / 60
        raise BookingError(422, "invalid", f"Please book at least {hours:g} hours ahead.", "start")
    if req.start > now + timedelta(days=policy.horizon_days):
        raise BookingError(
            422, "invalid", f"We take bookings up to {policy.horizon_days} days ahead.", "start"
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
            422, "invalid", "That therapist does not offer this technique on that day.", "therapist"
        )
    return slot_taken()


def book(
    client: User,
    req: Request,
    *,
    now: datetime,
    timezone: str,
    series_id: int | None = None,
) -> Booking:
    """Book a session for a client: confirmed, or pending while the screening waits for staff.

    Raises BookingError: 422 for a request that can never be booked, 403 when the screening
    is missing, expired or blocks the technique, 409 when the time is not free.
    """
    begin_write()
    if not client.is_client or not client.active:
        raise BookingError(403, "forbidden", "Only clients book sessions.")
    policy = ClinicPolicy.current()
    technique, price = check_request(req, now=now, timezone=timezone, policy=policy)

    gate = booking_gate(client.id, technique, now)
    if gate.code in ("screening_required", "screening_expired"):
        raise BookingError(
            403,
            "screening_required",
            "Please answer the health screening first."
            if gate.code == "screening_required"
            else "Your health screening has expired. Please answer it again.",
        )
    if gate.standing is Standing.BLOCKED:
        raise BookingError(
            403,
            "screening_blocks",
            f"Your health screening does not allow {technique.name.lower()} now. "
            "See your screening page for why.",
        )

    problem = availability_problem(req, technique, now=now, timezone=timezone, policy=policy)
    if problem:
        raise problem

    end = req.start + timedelta(minutes=req.duration_minutes)
    buffer = timedelta(minutes=policy.buffer_minutes)
    busy = _busy_rooms(req.start, end, buffer)
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
        else BookingStatus.PENDING,
        buffer_minutes=policy.buffer_minutes,
        cancellation_cutoff_hours=policy.cancellation_cutoff_hours,
        series_id=series_id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(booking)
    db.session.flush()
    _take(booking)
    return booking


# --- changing state -------------------------------------------------------------------------


def _swap_status(
    booking: Booking,
    new: BookingStatus,
    *,
    allowed_from: tuple[BookingStatus, ...],
    now: datetime,
    **values: object,
) -> bool:
    """UPDATE ... WHERE status IN allowed_from; False (booking refreshed) if someone was first."""
    changed = db.session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status.in_(allowed_from))
        .values(status=new, updated_at=now, sequence=Booking.sequence + 1, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(booking)
    return changed.rowcount == 1


def _set_status(
    booking: Booking,
    new: BookingStatus,
    *,
    allowed_from: tuple[BookingStatus, ...],
    now: datetime,
    **values: object,
) -> None:
    """Compare-and-swap: the change happens only if nobody changed the status meanwhile."""
    if not _swap_status(booking, new, allowed_from=allowed_from, now=now, **values):
        raise BookingError(
            409,
            "conflict",
            f"This booking was changed meanwhile; it is now {booking.status.value}.",
        )


def cancel(booking: Booking, *, by: User, reason: str, now: datetime) -> None:
    """Cancel a live booking and release its time. Staff must give the client a reason."""
    begin_write()
    staff = by.is_admin or (by.is_therapist and booking.therapist.user_id == by.id)
    if not staff and by.id != booking.client_id:
        raise BookingError(
            403, "forbidden", "Only the client, the therapist and the clinic can cancel."
        )
    problem = booking.why_not_cancel(by, now)
    if problem:
        code = "too_late" if booking.is_live else "conflict"
        raise BookingError(409, code, problem)
    reason = (reason or "").strip()
    if staff and by.id != booking.client_id and not reason:
        # The reason is kept and shown to the client (DESIGN.md, "Booking states").
        raise BookingError(
            422, "invalid", "Tell the client why the session is cancelled.", "reason"
        )
    _set_status(
        booking,
        BookingStatus.CANCELLED,
        allowed_from=LIVE,
        now=now,
        cancel_reason=reason[:2000],
        cancelled_at=now,
        cancelled_by_id=by.id,
    )
    _release(booking)
    db.session.flush()


def mark(booking: Booking, outcome: BookingStatus, *, by: User, now: datetime) -> None:
    """Mark a session that has started as completed or a no-show."""
    begin_write()
    if outcome not in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW):
        raise BookingError(422, "invalid", "Mark a session completed or no-show.")
    if not (by.is_admin or (by.is_therapist and booking.therapist.user_id == by.id)):
        raise BookingError(403, "forbidden", "Only the therapist and the clinic mark sessions.")
    problem = booking.why_not_mark(by, now)
    if problem:
        raise BookingError(409, "conflict", problem)
    # The claims stay: a session still running must not be booked over.
    _set_status(booking, outcome, allowed_from=(BookingStatus.CONFIRMED,), now=now)


def confirm_pending(booking: Booking, *, by: User, now: datetime) -> None:
    """An admin confirms a pending booking (its time is already held)."""
    begin_write()
    if not by.is_admin:
        raise BookingError(403, "forbidden", "Only the clinic confirms pending bookings.")
    _set_status(booking, BookingStatus.CONFIRMED, allowed_from=(BookingStatus.PENDING,), now=now)


# --- moving a booking -----------------------------------------------------------------------


def why_not_reschedule(booking: Booking, user: User, now: datetime) -> str | None:
    """Why this user may not move the booking now, or None when they may.

    The client until the cut-off; the session's therapist and admins whenever it is live.
    """
    if user.is_admin or (user.is_therapist and booking.therapist.user_id == user.id):
        return None if booking.is_live else f"This booking is {booking.status.value}."
    if user.id == booking.client_id:
        return booking.why_client_cannot_change(now)
    return "Only the client, the therapist and the clinic can move a booking."


def may_change_therapist(booking: Booking, user: User) -> bool:
    """Clients and admins may move a session to another therapist; a therapist moves it only
    within their own calendar (handing it to a colleague is the clinic's decision)."""
    return user.is_admin or user.id == booking.client_id


@dataclass(frozen=True)
class Move:
    """Where a booking was before it moved, for the audit entry and the e-mails."""

    starts_at: datetime
    therapist_id: int
    room_id: int


def reschedule(
    booking: Booking,
    *,
    by: User,
    new_start: datetime,
    therapist_id: int | None = None,
    now: datetime,
    timezone: str,
) -> Move:
    """Move a live booking to a new start (and therapist), keeping its id, status and price.

    One transaction: the old claims are released and the new ones taken, or nothing changes.
    Raises BookingError (403 forbidden, 409 too_late past the client's cut-off, 422 invalid,
    409 slot_unavailable / conflict), or IntegrityError when a racing booking took the new
    blocks between our check and our insert (`with_retries` turns that into a clean 409).
    The booking's own changes are made inside a savepoint, so a refusal leaves the session
    as it was even if the caller forgot to roll back.
    """
    begin_write()
    problem = why_not_reschedule(booking, by, now)
    if problem:
        code = "too_late" if booking.is_live and by.id == booking.client_id else "forbidden"
        raise BookingError(409 if code == "too_late" else 403, code, problem)
    therapist_id = therapist_id or booking.therapist_id
    if therapist_id != booking.therapist_id and not may_change_therapist(booking, by):
        raise BookingError(
            403,
            "forbidden",
            "You can move your session only within your own calendar.",
            "therapist",
        )
    policy = ClinicPolicy.current()
    req = Request(booking.technique.slug, booking.duration_minutes, therapist_id, new_start)
    technique, _ = check_request(req, now=now, timezone=timezone, policy=policy)
    if new_start == booking.starts_at and therapist_id == booking.therapist_id:
        raise BookingError(422, "invalid", "That is the booking's time already.", "start")

    before = Move(booking.starts_at, booking.therapist_id, booking.room_id)
    status = booking.status
    try:
        with db.session.begin_nested():
            # The slot search reads Booking rows as busy time, so this booking's own row
            # would hide every time that overlaps (or sits within a buffer of) where it is
            # now, and a move of half an hour would be refused. Inside this transaction,
            # and invisible to everyone else until the commit, the row is first marked
            # cancelled and its claims released: the search then sees the clinic exactly as
            # it would be without this booking. The status is put back below; any refusal or
            # error rolls the savepoint (and the caller the transaction) back. The UPDATE is
            # also the compare-and-swap: a booking someone cancelled meanwhile is not moved.
            vacated = db.session.execute(
                update(Booking)
                .where(Booking.id == booking.id, Booking.status == status)
                .values(status=BookingStatus.CANCELLED)
                .execution_options(synchronize_session=False)
            )
            if vacated.rowcount != 1:
                raise BookingError(
                    409, "conflict", "This booking was changed meanwhile. Please reload it."
                )
            _release(booking)

            day = new_start.astimezone(ZoneInfo(timezone)).date()
            free = search_slots(
                technique=technique,
                duration_minutes=booking.duration_minutes,
                first_day=day,
                last_day=day,
                now=now,
                timezone=timezone,
                therapist_id=therapist_id,
                policy=policy,
            )
            if not any(s.start == new_start and s.therapist_id == therapist_id for s in free.slots):
                if therapist_id not in free.therapist_names:
                    raise BookingError(
                        422,
                        "invalid",
                        "That therapist does not offer this technique on that day.",
                        "therapist",
                    )
                raise slot_taken()

            end = new_start + timedelta(minutes=booking.duration_minutes)
            # The search above used today's buffer; the claims must use the same one.
            buffer = timedelta(minutes=policy.buffer_minutes)
            busy = _busy_rooms(new_start, end, buffer)
            rooms = db.session.scalars(
                select(Room.id).where(Room.active, Room.id.not_in(busy)).order_by(Room.id)
            ).all()
            if not rooms:
                raise slot_taken()
            room = before.room_id if before.room_id in rooms else rooms[0]  # stay put if free

            db.session.execute(
                update(Booking)
                .where(Booking.id == booking.id)
                .values(
                    status=status,
                    starts_at=new_start,
                    ends_at=end,
                    therapist_id=therapist_id,
                    room_id=room,
                    buffer_minutes=policy.buffer_minutes,
                    sequence=Booking.sequence + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            db.session.refresh(booking)
            _take(booking)  # IntegrityError if a racing booking got these blocks first
    except Exception:
        # The savepoint is gone; make the object forget the values it never kept.
        db.session.expire(booking)
        raise
    return before


# --- pending bookings: expiry and the screening review --------------------------------------

# A pending booking nobody decided is let go this long before it starts (DESIGN.md).
PENDING_EXPIRES_BEFORE = timedelta(hours=24)
EXPIRY_REASON = "held too long without a decision"


def expire_pending(now: datetime) -> list[Booking]:
    """Cancel every pending booking that starts within 24 hours, releasing its time.

    Returns the bookings this call cancelled; one that was confirmed or cancelled meanwhile is
    left alone (compare-and-swap on the status).
    """
    begin_write()
    due = db.session.scalars(
        select(Booking)
        .where(
            Booking.status == BookingStatus.PENDING,
            Booking.starts_at <= now + PENDING_EXPIRES_BEFORE,
        )
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    expired = []
    for booking in due:
        if _swap_status(
            booking,
            BookingStatus.CANCELLED,
            allowed_from=(BookingStatus.PENDING,),
            now=now,
            cancel_reason=EXPIRY_REASON,
            cancelled_at=now,
            cancelled_by_id=None,
        ):
            _release(booking)
            expired.append(booking)
    db.session.flush()
    return expired


def settle_after_review(
    screening: Screening,
    *,
    decision: Decision,
    technique_ids: list[int],
    admin: User,
    reason: str,
    now: datetime,
) -> list[tuple[Booking, str]]:
    """Decide the client's pending bookings as the screening review just did.

    Approving or clearing techniques confirms the client's upcoming pending bookings of those
    techniques; rejecting cancels them with the admin's reason. Only the client's newest
    screening speaks for them. Returns (booking, event) for each booking changed.
    """
    if screening.superseded_at is not None or not technique_ids:
        return []
    begin_write()
    pending = db.session.scalars(
        select(Booking)
        .where(
            Booking.client_id == screening.client_id,
            Booking.status == BookingStatus.PENDING,
            Booking.technique_id.in_(technique_ids),
            Booking.starts_at > now,  # one that has started is left to expiry
        )
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    changed: list[tuple[Booking, str]] = []
    for booking in pending:
        if decision is Decision.REJECTED:
            if _swap_status(
                booking,
                BookingStatus.CANCELLED,
                allowed_from=(BookingStatus.PENDING,),
                now=now,
                cancel_reason=(reason or "Not approved after the screening review.")[:2000],
                cancelled_at=now,
                cancelled_by_id=admin.id,
            ):
                _release(booking)
                changed.append((booking, "cancelled"))
        elif _swap_status(
            booking, BookingStatus.CONFIRMED, allowed_from=(BookingStatus.PENDING,), now=now
        ):
            changed.append((booking, "confirmed"))
    db.session.flush()
    return changed
