"""Future bookings that need the clinic's attention because of who is to give them: the
therapist was deactivated, or their certificate for the technique will not be valid that day.

Each function runs a fixed number of statements whatever the number of bookings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from clinic.auth.models import User
from clinic.booking.models import LIVE, Booking
from clinic.catalog.models import Certification, Therapist
from clinic.extensions import db


def _future_live(now: datetime) -> Select[tuple[Booking]]:
    return (
        select(Booking)
        .where(Booking.status.in_(LIVE), Booking.starts_at > now)
        .options(  # one of each per booking: joined into the same statement
            joinedload(Booking.client),
            joinedload(Booking.technique),
            joinedload(Booking.therapist).joinedload(Therapist.user),
        )
        .order_by(Booking.starts_at, Booking.id)
    )


def future_bookings_of(therapist_id: int, now: datetime) -> list[Booking]:
    """The therapist's pending and confirmed bookings that have not started, soonest first."""
    return list(db.session.scalars(_future_live(now).where(Booking.therapist_id == therapist_id)))


def bookings_needing_new_therapist(now: datetime) -> list[Booking]:
    """Pending and confirmed bookings not yet started whose therapist was deactivated (their
    profile or their account): each must be moved to a colleague or cancelled. One statement.
    """
    inactive = (
        select(Therapist.id)
        .join(User, User.id == Therapist.user_id)
        .where(or_(Therapist.active.is_(False), User.active.is_(False)))
    )
    return list(db.session.scalars(_future_live(now).where(Booking.therapist_id.in_(inactive))))


def uncovered(
    bookings: Iterable[tuple[int, int, int, datetime]],
    certificates: Iterable[tuple[int, int, date, date]],
    zone: ZoneInfo,
) -> list[int]:
    """Pure: the ids of bookings (id, therapist, technique, start) for which no certificate
    (therapist, technique, valid from, valid until; inclusive) is valid on the session's
    local date."""
    held: dict[tuple[int, int], list[tuple[date, date]]] = {}
    for therapist_id, technique_id, valid_from, valid_until in certificates:
        held.setdefault((therapist_id, technique_id), []).append((valid_from, valid_until))
    found = []
    for booking_id, therapist_id, technique_id, starts_at in bookings:
        day = starts_at.astimezone(zone).date()
        spans = held.get((therapist_id, technique_id), [])
        if not any(valid_from <= day <= valid_until for valid_from, valid_until in spans):
            found.append(booking_id)
    return found


def bookings_after_expiry(now: datetime, timezone: str) -> list[Booking]:
    """Pending and confirmed bookings not yet started, with an active therapist who holds no
    certificate for the technique valid on the session's date (in the clinic's zone): it
    expired, or was deleted, before the session. Soonest first; at most three statements.

    Deactivated therapists' bookings are left to bookings_needing_new_therapist.
    """
    active = (
        select(Therapist.id)
        .join(User, User.id == Therapist.user_id)
        .where(Therapist.active, User.active)
    )
    candidates = list(
        db.session.execute(
            select(Booking.id, Booking.therapist_id, Booking.technique_id, Booking.starts_at).where(
                Booking.status.in_(LIVE),
                Booking.starts_at > now,
                Booking.therapist_id.in_(active),
            )
        )
    )
    if not candidates:
        return []
    certificates = db.session.execute(
        select(
            Certification.therapist_id,
            Certification.technique_id,
            Certification.valid_from,
            Certification.valid_until,
        ).where(Certification.therapist_id.in_({row.therapist_id for row in candidates}))
    )
    ids = uncovered(candidates, certificates, ZoneInfo(timezone))
    if not ids:
        return []
    return list(db.session.scalars(_future_live(now).where(Booking.id.in_(ids))))
