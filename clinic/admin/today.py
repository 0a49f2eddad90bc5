"""What needs an admin's decision today, for the admin start page.

Each part is a count and the first few items, read in a fixed number of statements whatever
the size of the clinic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from clinic.booking import staffing
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.expiry import expiring_certifications
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.notify.outbox import MAX_ATTEMPTS
from clinic.screening.models import Outcome, Screening
from clinic.screening.operations import review_queue, review_queue_count

SHOWN = 5  # items listed under each heading; the rest are behind its link
URGENT_DAYS = 14  # how long an urgent screening stays on the start page


@dataclass(frozen=True)
class Part:
    """One heading of the start page: how many, and the first few."""

    count: int
    items: list[Any]


def screenings_to_review() -> Part:
    return Part(review_queue_count(), review_queue(limit=SHOWN))


def pending_bookings() -> Part:
    """Held bookings, soonest first: each expires a day before it starts if nobody decides."""
    where = Booking.status == BookingStatus.PENDING
    items = db.session.scalars(
        select(Booking)
        .where(where)
        .options(
            joinedload(Booking.client),
            joinedload(Booking.technique),
            joinedload(Booking.therapist).joinedload(Therapist.user),  # the page names them
        )
        .order_by(Booking.starts_at, Booking.id)
        .limit(SHOWN)
    )
    count = db.session.scalar(select(func.count()).select_from(Booking).where(where))
    return Part(count or 0, list(items))


def urgent_screenings(now: datetime) -> Part:
    """Screenings of the last two weeks that sent the client to a doctor, newest first."""
    where = (
        Screening.overall == Outcome.URGENT,
        Screening.superseded_at.is_(None),
        Screening.submitted_at >= now - timedelta(days=URGENT_DAYS),
    )
    items = db.session.scalars(
        select(Screening)
        .where(*where)
        .options(joinedload(Screening.client))
        .order_by(Screening.submitted_at.desc())
        .limit(SHOWN)
    )
    count = db.session.scalar(select(func.count()).select_from(Screening).where(*where))
    return Part(count or 0, list(items))


def _first(items: list[Any]) -> Part:
    return Part(len(items), items[:SHOWN])


def expiring_certificates(today: date) -> Part:
    """Certificates running out in the next 60 days and not renewed yet, soonest first."""
    return _first(expiring_certifications(today))


def bookings_after_expiry(now: datetime, timezone: str) -> Part:
    """Booked sessions whose therapist's certificate for the technique will have run out."""
    return _first(staffing.bookings_after_expiry(now, timezone))


def bookings_without_therapist(now: datetime) -> Part:
    """Future sessions of deactivated therapists, to be moved to a colleague or cancelled."""
    return _first(staffing.bookings_needing_new_therapist(now))


def failed_emails_clause() -> tuple[Any, ...]:
    """Unsent e-mails that failed at least once (waiting for a retry, or given up)."""
    return (OutboxMessage.sent_at.is_(None), OutboxMessage.attempts > 0)


def failed_emails() -> Part:
    items = db.session.scalars(
        select(OutboxMessage)
        .where(*failed_emails_clause())
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(SHOWN)
    )
    count = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(*failed_emails_clause())
    )
    return Part(count or 0, list(items))


def given_up(message: OutboxMessage) -> bool:
    return message.attempts >= MAX_ATTEMPTS
