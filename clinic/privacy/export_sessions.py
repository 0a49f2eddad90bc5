"""The sessions part of a person's data: bookings with their pre-visit checks and treatment
notes, and waitlist entries with their offers. Each kind of row is read once for all of the
person's rows, so the statements are as many however many bookings there are.

`iso` writes an instant on the clinic's clock (export.py's `_Clock`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from clinic.auth.models import User
from clinic.booking.models import Booking
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.screening.models import PreVisitCheck
from clinic.treatment.models import TreatmentNote
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer

Iso = Callable[[datetime | None], str | None]


def _cancelled_by(booking: Booking) -> str | None:
    if booking.cancelled_at is None:
        return None
    if booking.cancelled_by_id is None:
        return "expired"
    return "you" if booking.cancelled_by_id == booking.client_id else "the clinic"


def bookings(user: User, iso: Iso, currency: str) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(Booking)
        .where(Booking.client_id == user.id)
        .options(
            joinedload(Booking.therapist).joinedload(Therapist.user),
            joinedload(Booking.technique),
            joinedload(Booking.room),
        )
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    mine = select(Booking.id).where(Booking.client_id == user.id)
    checks = {
        c.booking_id: c
        for c in db.session.scalars(select(PreVisitCheck).where(PreVisitCheck.booking_id.in_(mine)))
    }
    notes = {
        n.booking_id: n
        for n in db.session.scalars(
            select(TreatmentNote)
            .where(TreatmentNote.booking_id.in_(mine))
            .options(joinedload(TreatmentNote.plan_technique))
        )
    }
    result = []
    for b in rows:
        check, note = checks.get(b.id), notes.get(b.id)
        result.append(
            {
                "id": b.id,
                "technique": b.technique.name,
                "duration_minutes": b.duration_minutes,
                "therapist": b.therapist.user.name,
                "room": b.room.name,
                "starts_at": iso(b.starts_at),
                "ends_at": iso(b.ends_at),
                "status": b.status.value,
                "price_minor": b.price_minor,
                "currency": currency,
                "cancellation_cutoff_hours": b.cancellation_cutoff_hours,
                "booked_at": iso(b.created_at),
                "series_id": b.series_id,
                "cancellation": None
                if b.cancelled_at is None
                else {
                    "cancelled_at": iso(b.cancelled_at),
                    "by": _cancelled_by(b),
                    "reason": b.cancel_reason,
                    "late": b.late_cancellation,
                },
                "pre_visit_check": None
                if check is None or check.answered_at is None
                else {
                    "answered_at": iso(check.answered_at),
                    "answers": dict(check.answers),
                    "outcome": check.outcome,
                },
                "treatment": None if note is None else _treatment(note),
            }
        )
    return result


def _treatment(note: TreatmentNote) -> dict[str, Any]:
    # The private note is shown only to staff in the app, but it is health data about the
    # client and part of what they have a right to see: it is in their export.
    plan = None
    if note.has_plan:
        plan = {
            "technique": note.plan_technique.name if note.plan_technique else None,
            "duration_minutes": note.plan_duration_minutes,
            "every": note.plan_every,
            "sessions": note.plan_count,
            "booked_series_id": note.plan_series_id,
        }
    return {"aftercare": note.aftercare, "therapist_note": note.private_note, "plan": plan}


def waitlist(user: User, iso: Iso) -> list[dict[str, Any]]:
    entries = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.client_id == user.id)
        .options(
            joinedload(WaitlistEntry.technique),
            joinedload(WaitlistEntry.therapist).joinedload(Therapist.user),
        )
        .order_by(WaitlistEntry.id)
    ).all()
    offers: dict[int, list[WaitlistOffer]] = defaultdict(list)
    for offer in db.session.scalars(
        select(WaitlistOffer)
        .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
        .where(WaitlistEntry.client_id == user.id)
        .options(joinedload(WaitlistOffer.therapist).joinedload(Therapist.user))
        .order_by(WaitlistOffer.id)
    ):
        offers[offer.entry_id].append(offer)
    return [
        {
            "technique": e.technique.name,
            "duration_minutes": e.duration_minutes,
            "therapist": e.therapist.user.name if e.therapist else None,
            "weekdays": list(e.weekdays),
            "day_parts": list(e.day_parts),
            "joined_at": iso(e.created_at),
            "left_at": iso(e.left_at),
            "booked_booking_id": e.booked_id,
            "offers": [
                {
                    "therapist": o.therapist.user.name,
                    "starts_at": iso(o.starts_at),
                    "duration_minutes": o.duration_minutes,
                    "offered_at": iso(o.created_at),
                    "expires_at": iso(o.expires_at),
                    "outcome": o.outcome or "open",
                    "decided_at": iso(o.decided_at),
                    "booking_id": o.booking_id,
                }
                for o in offers[e.id]
            ],
        }
        for e in entries
    ]
