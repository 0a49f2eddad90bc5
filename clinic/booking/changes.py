"""Changing a booking that exists: cancelling, marking, confirming, moving, expiring, and
settling pending bookings after a screening review. Operations flush; the caller commits.
Each starts with `begin_write()`, as booking does (see operations.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select, update

from clinic.auth.models import User
from clinic.booking.attendance import needs_missed_sessions_review
from clinic.booking.availability import search_slots
from clinic.booking.models import (
    EXPIRY_CANCEL_REASON,
    LIVE,
    REVIEW_CANCEL_REASON,
    Booking,
    BookingStatus,
)
from clinic.booking.operations import (
    BookingError,
    Request,
    busy_rooms,
    check_request,
    release_claims,
    slot_taken,
    take_claims,
)
from clinic.catalog.models import Room
from clinic.database import begin_write
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from clinic.screening.models import Decision, Screening

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
            _(
                "This booking was changed meanwhile; it is now %(status)s.",
                status=booking.status.phrase,
            ),
        )


def cancel(
    booking: Booking,
    *,
    by: User,
    reason: str,
    now: datetime,
    late: bool = False,
    for_health: bool = False,
    leaving: bool = False,
) -> None:
    """Cancel a live booking and release its time. Staff must give the client a reason.

    `late`: staff cancel on the client's account after the client's cut-off, which counts
    against the client. `for_health`: the client cancels from the pre-visit health check, which
    is allowed until the session starts and is never late. `leaving`: the client deletes their
    account (clinic.privacy), allowed and never late in the same way.
    """
    begin_write()
    staff = by.is_admin or (by.is_therapist and booking.therapist.user_id == by.id)
    if not staff and by.id != booking.client_id:
        raise BookingError(
            403, "forbidden", _("Only the client, the therapist and the clinic can cancel.")
        )
    if for_health or leaving:
        if by.id != booking.client_id:
            raise BookingError(
                403,
                "forbidden",
                _("Only the client answers the health check.")
                if for_health
                else _("Only the client deletes their own account."),
            )
        problem = booking.why_not_cancel_for_health(now)
        late = False
    else:
        problem = booking.why_not_cancel(by, now)
    if problem:
        code = "too_late" if booking.is_live else "conflict"
        raise BookingError(409, code, problem)
    if late and not (staff and now >= booking.cutoff_at()):
        raise BookingError(
            422,
            "invalid",
            _("Only the clinic marks a cancellation late, after the client's cut-off."),
            "late",
        )
    reason = (reason or "").strip()
    if staff and by.id != booking.client_id and not reason:
        # The reason is kept and shown to the client (DESIGN.md, "Booking states").
        raise BookingError(
            422, "invalid", _("Tell the client why the session is cancelled."), "reason"
        )
    _set_status(
        booking,
        BookingStatus.CANCELLED,
        allowed_from=LIVE,
        now=now,
        cancel_reason=reason[:2000],
        cancelled_at=now,
        cancelled_by_id=by.id,
        late_cancellation=late,
    )
    release_claims(booking)
    db.session.flush()


def mark(booking: Booking, outcome: BookingStatus, *, by: User, now: datetime) -> None:
    """Mark a session that has started as completed or a no-show."""
    begin_write()
    if outcome not in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW):
        raise BookingError(422, "invalid", _("Mark a session completed or no-show."))
    if not (by.is_admin or (by.is_therapist and booking.therapist.user_id == by.id)):
        raise BookingError(403, "forbidden", _("Only the therapist and the clinic mark sessions."))
    problem = booking.why_not_mark(by, now)
    if problem:
        raise BookingError(409, "conflict", problem)
    # The claims stay: a session still running must not be booked over.
    _set_status(booking, outcome, allowed_from=(BookingStatus.CONFIRMED,), now=now)


def confirm_pending(booking: Booking, *, by: User, now: datetime) -> None:
    """An admin confirms a pending booking (its time is already held)."""
    begin_write()
    if not by.is_admin:
        raise BookingError(403, "forbidden", _("Only the clinic confirms pending bookings."))
    _set_status(booking, BookingStatus.CONFIRMED, allowed_from=(BookingStatus.PENDING,), now=now)


# --- moving a booking -----------------------------------------------------------------------


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
    problem = booking.why_not_reschedule(by, now)
    if problem:
        code = "too_late" if booking.is_live and by.id == booking.client_id else "forbidden"
        raise BookingError(409 if code == "too_late" else 403, code, problem)
    therapist_id = therapist_id or booking.therapist_id
    if therapist_id != booking.therapist_id and not booking.may_change_therapist(by):
        raise BookingError(
            403,
            "forbidden",
            _("You can move your session only within your own calendar."),
            "therapist",
        )
    policy = ClinicPolicy.current()
    req = Request(booking.technique.slug, booking.duration_minutes, therapist_id, new_start)
    technique, _price = check_request(req, now=now, timezone=timezone, policy=policy)
    if new_start == booking.starts_at and therapist_id == booking.therapist_id:
        raise BookingError(422, "invalid", _("That is the booking's time already."), "start")

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
                    409, "conflict", _("This booking was changed meanwhile. Please reload it.")
                )
            release_claims(booking)

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
                        _("That therapist does not offer this technique on that day."),
                        "therapist",
                    )
                raise slot_taken()

            end = new_start + timedelta(minutes=booking.duration_minutes)
            # The search above used today's buffer; the claims must use the same one.
            buffer = timedelta(minutes=policy.buffer_minutes)
            busy = busy_rooms(new_start, end, buffer)
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
                    reminder_queued_at=None,  # the new time gets a reminder of its own
                )
                .execution_options(synchronize_session=False)
            )
            db.session.refresh(booking)
            take_claims(booking)  # IntegrityError if a racing booking got these blocks first
    except Exception:
        # The savepoint is gone; make the object forget the values it never kept.
        db.session.expire(booking)
        raise
    return before


# --- pending bookings: expiry and the screening review --------------------------------------

# A pending booking nobody decided is let go this long before it starts (DESIGN.md).
PENDING_EXPIRES_BEFORE = timedelta(hours=24)
EXPIRY_REASON = EXPIRY_CANCEL_REASON


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
            release_claims(booking)
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
    # Such a client's bookings are held for their missed sessions too: an admin confirms them.
    missed_sessions = needs_missed_sessions_review(screening.client_id, ClinicPolicy.current())
    changed: list[tuple[Booking, str]] = []
    for booking in pending:
        if decision is Decision.REJECTED:
            if _swap_status(
                booking,
                BookingStatus.CANCELLED,
                allowed_from=(BookingStatus.PENDING,),
                now=now,
                cancel_reason=(reason or REVIEW_CANCEL_REASON)[:2000],
                cancelled_at=now,
                cancelled_by_id=admin.id,
            ):
                release_claims(booking)
                changed.append((booking, "cancelled"))
        elif missed_sessions:
            continue
        elif _swap_status(
            booking, BookingStatus.CONFIRMED, allowed_from=(BookingStatus.PENDING,), now=now
        ):
            changed.append((booking, "confirmed"))
    db.session.flush()
    return changed
