"""Deleting a client's account: their personal and health data erased, in one transaction.

The `User` row stays, emptied ("Deleted client", a placeholder address, no phone, no usable
password, inactive, `erased_at` set), so that past bookings still count in the reports as
anonymous sessions. Health data goes: screenings with outcomes and reviews, pre-visit check
answers, treatment note texts. So do waitlist entries and offers, the calendar feed, API
tokens, idempotency keys and the e-mail held about them. Upcoming sessions are cancelled through
the booking domain's own cancel operation; the therapists are told, the client is not, and the
notices are written after the name is gone so they cannot carry it. The audit log is never
edited: its entries hold ids only (the audit module's rule), and this one says `account.erased`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import joinedload

from clinic.audit.models import record as audit
from clinic.auth.models import ApiToken, User
from clinic.auth.two_factor_models import RecoveryCode, TwoFactor
from clinic.booking import changes, notices
from clinic.booking.models import LIVE, Booking, IdempotencyKey
from clinic.booking.operations import BookingError
from clinic.calendars.models import CalendarFeed
from clinic.catalog.models import Therapist
from clinic.database import begin_write
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.privacy.health_data import (
    blank_treatment_notes,
    delete_previsit_checks,
    delete_screenings,
)
from clinic.screening.models import Screening
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer

ERASED_NAME = "Deleted client"
# Kept on each cancelled booking and shown to the therapist: it names nobody.
LEAVING_REASON = "The client deleted their account."
# No hashing method writes a hash like this, so no password ever matches it.
UNUSABLE_PASSWORD = "!erased"  # noqa: S105 (a marker, not a password)


class ErasureRefused(Exception):
    """The account cannot be deleted this way; the message is fit to show."""


def placeholder_email(user_id: int) -> str:
    """A unique address that can never receive mail (.invalid is reserved, RFC 2606)."""
    return f"erased-{user_id}@invalid"


@dataclass(frozen=True)
class Erased:
    """What an erasure did, in numbers (these go into the audit entry)."""

    cancelled: int
    kept_bookings: int
    screenings: int
    previsit_checks: int
    treatment_notes: int
    waitlist_entries: int
    emails: int


def erase_account(user: User, *, now: datetime, ip: str = "") -> Erased:
    """Erase a client's personal and health data and cancel their upcoming sessions.

    Only flushes: the caller commits once, so a failure leaves the account as it was. Raises
    ErasureRefused for staff accounts (the clinic handles those) and erased ones.
    """
    begin_write()
    # Two deletions at once (a double click): the second waits here, then sees the first's.
    db.session.refresh(user, with_for_update=True)
    if not user.is_client:
        raise ErasureRefused(
            _("Staff accounts are closed by the clinic: please ask an administrator.")
        )
    if user.erased_at is not None:
        raise ErasureRefused(_("This account has been deleted already."))
    theirs = select(Booking.id).where(Booking.client_id == user.id)
    booking_ids = set(db.session.scalars(select(Booking.id).where(Booking.client_id == user.id)))

    emails = _forget_mail(user, booking_ids)
    # The waitlist goes before the cancellations, so the time they free is not offered to them.
    entries = select(WaitlistEntry.id).where(WaitlistEntry.client_id == user.id)
    db.session.execute(delete(WaitlistOffer).where(WaitlistOffer.entry_id.in_(entries)))
    waitlist = db.session.execute(delete(WaitlistEntry).where(WaitlistEntry.client_id == user.id))
    for model in (CalendarFeed, ApiToken, IdempotencyKey, TwoFactor, RecoveryCode):
        db.session.execute(delete(model).where(model.user_id == user.id))

    screenings = delete_screenings(select(Screening.id).where(Screening.client_id == user.id))
    checks = delete_previsit_checks(theirs)
    notes = blank_treatment_notes(theirs)
    # Reasons are free text (the client's own words, or the clinic's about them).
    db.session.execute(
        update(Booking)
        .where(Booking.client_id == user.id, Booking.cancel_reason != "")
        .values(cancel_reason="")
        .execution_options(synchronize_session=False)
    )

    user.name = ERASED_NAME
    user.email = placeholder_email(user.id)
    user.phone = ""
    user.password_hash = UNUSABLE_PASSWORD
    user.active = False
    user.erased_at = now
    user.end_all_sessions()  # every login cookie of theirs stops working
    db.session.flush()

    upcoming = db.session.scalars(
        select(Booking)
        .where(Booking.client_id == user.id, Booking.status.in_(LIVE), Booking.starts_at > now)
        .options(
            joinedload(Booking.therapist).joinedload(Therapist.user),
            joinedload(Booking.technique),
            joinedload(Booking.room),
        )
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    cancelled = 0
    for booking in upcoming:
        try:
            changes.cancel(booking, by=user, reason=LEAVING_REASON, now=now, leaving=True)
        except BookingError:
            continue  # cancelled or marked by the clinic a moment ago: nothing left to do
        notices.announce(booking, "cancelled", actor_id=user.id, detail={"account_erased": True})
        cancelled += 1

    erased = Erased(
        cancelled=cancelled,
        kept_bookings=len(booking_ids),
        screenings=screenings,
        previsit_checks=checks,
        treatment_notes=notes,
        waitlist_entries=waitlist.rowcount,
        emails=emails,
    )
    audit("account.erased", "user", user.id, actor_id=user.id, ip=ip, detail=asdict(erased))
    db.session.flush()
    return erased


# --- e-mail held about them -----------------------------------------------------------------

# How an e-mail points at a booking: its page's link, or its calendar event's UID.
_BOOKING_REFERENCE = re.compile(r"/bookings/(\d+)(?!\d)|\bbooking-(\d+)@")
_TEXT_COLUMNS = ("subject", "body_text", "body_html", "attachment_text")


def _mentioned_bookings(message: OutboxMessage) -> set[int]:
    found: set[int] = set()
    for column in _TEXT_COLUMNS:
        for link, uid in _BOOKING_REFERENCE.findall(getattr(message, column) or ""):
            found.add(int(link or uid))
    return found


def _forget_mail(user: User, booking_ids: set[int]) -> int:
    """Delete queued and sent e-mail to them or about their sessions; elsewhere, blot out their
    address, phone and (when it is a full name, so no colleague's first name is hit) name.

    One SELECT finds every message to them or naming them (a mail about one of their sessions
    to a therapist names them); the rest is done on those rows only.
    """
    searched = [v for v in (user.email, user.phone, user.name) if v]
    needles = [v for v in (user.email, user.phone) if v] + ([user.name] if " " in user.name else [])
    columns = [getattr(OutboxMessage, c) for c in _TEXT_COLUMNS]
    candidates = db.session.scalars(
        select(OutboxMessage).where(
            or_(
                OutboxMessage.to_address == user.email,
                *(c.contains(n, autoescape=True) for c in columns for n in searched),
            )
        )
    ).all()
    changed = 0
    for message in candidates:
        if message.to_address.lower() == user.email or _mentioned_bookings(message) & booking_ids:
            db.session.delete(message)
            changed += 1
            continue
        before = [getattr(message, c) for c in _TEXT_COLUMNS]
        for column in _TEXT_COLUMNS:
            text = getattr(message, column)
            for needle in needles:
                if text:
                    text = text.replace(needle, "a client who deleted their account")
            setattr(message, column, text)
        changed += before != [getattr(message, c) for c in _TEXT_COLUMNS]
    db.session.flush()
    return changed
