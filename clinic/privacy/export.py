"""Everything Lindring holds about one person, as one JSON-ready dict (the right of access).

A fixed number of statements whatever the number of screenings, bookings or offers: each kind of
row is read once, for all of the person's rows. Never in it: password and token hashes, the
calendar feed's token, other people's contact details, the staff's audit trail. Times are ISO
8601 with the clinic zone's UTC offset, as the API speaks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from clinic.audit.models import record as audit
from clinic.auth.models import ApiToken, User
from clinic.booking.models import Booking
from clinic.calendars.models import CalendarFeed
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.screening.consent import CONSENT_TEXT, CONSENT_VERSION
from clinic.screening.models import PreVisitCheck, Screening, ScreeningOutcome, client_label
from clinic.screening.rules import questions
from clinic.treatment.models import TreatmentNote
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer

FORMAT_VERSION = 1


class _Clock:
    """Instants on the clinic's clock, as ISO 8601 strings with the zone's offset."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)

    def __call__(self, instant: datetime | None) -> str | None:
        if instant is None:
            return None
        return instant.astimezone(self.zone).isoformat(timespec="seconds")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def export_data(
    user: User, *, now: datetime, timezone: str, clinic_name: str, currency: str, ip: str = ""
) -> dict[str, Any]:
    """The user's data for a download, with an audit entry saying they took it (ids only)."""
    data = build_export(
        user, now=now, timezone=timezone, clinic_name=clinic_name, currency=currency
    )
    audit("account.exported", "user", user.id, actor_id=user.id, ip=ip)
    db.session.flush()
    return data


def build_export(
    user: User, *, now: datetime, timezone: str, clinic_name: str, currency: str
) -> dict[str, Any]:
    """All of the user's data. For staff only their own account sections are filled: the
    clinic's records of their work are the clinic's to hand out."""
    iso = _Clock(timezone)
    bookings = _bookings(user, iso, currency)
    screenings = _screenings(user, iso)
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": iso(now),
        "clinic": clinic_name,
        "timezone": timezone,
        "profile": {
            "name": user.name,
            "email": user.email,
            "phone": user.phone,
            "role": user.role.value,
            "created_at": iso(user.created_at),
        },
        "consents": [
            {
                "screening_id": s["id"],
                "consent_version": s["consent_version"],
                "consent_text": s["consent_text"],
                "given_at": s["consented_at"],
            }
            for s in screenings
        ],
        "screenings": screenings,
        "bookings": bookings,
        "waitlist": _waitlist(user, iso),
        "calendar_feed": _feed(user, iso),
        "api_tokens": [
            {
                "created_at": iso(t.created_at),
                "expires_at": iso(t.expires_at),
                "revoked_at": iso(t.revoked_at),
                "last_used_at": iso(t.last_used_at),
            }
            for t in db.session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
            )
        ],
    }


def _answers(screening: Screening) -> list[dict[str, Any]]:
    try:
        asked = questions(screening.version)
    except ValueError:  # a version this code no longer knows: the stored answers as they are
        return [{"question_id": k, "answer": v} for k, v in sorted(screening.answers.items())]
    listed = [
        {"question_id": q.id, "question": q.text, "answer": screening.answers.get(q.id)}
        for q in asked
    ]
    known = {q.id for q in asked}
    extra = sorted((k, v) for k, v in screening.answers.items() if k not in known)
    listed += [{"question_id": k, "answer": v} for k, v in extra]
    return listed


def _outcome(row: ScreeningOutcome) -> dict[str, Any]:
    return {
        "technique": row.technique.name,
        "outcome": row.outcome.value,
        "because_of": list(row.because_of),
        "decision": row.decision.value if row.decision else None,
        "what_it_means": client_label(row),
    }


def _screenings(user: User, iso: _Clock) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(Screening)
        .where(Screening.client_id == user.id)
        .options(
            selectinload(Screening.outcomes).joinedload(ScreeningOutcome.technique),
            selectinload(Screening.reviews),
        )
        .order_by(Screening.submitted_at, Screening.id)
    ).all()
    result = []
    for s in rows:
        covered: dict[int, list[str]] = defaultdict(list)
        for o in s.outcomes:
            if o.review_id is not None:
                covered[o.review_id].append(o.technique.name)
        result.append(
            {
                "id": s.id,
                "submitted_at": iso(s.submitted_at),
                "questionnaire_version": s.version,
                "language": s.language,
                "valid_until": iso(s.valid_until),
                "replaced_at": iso(s.superseded_at),
                "overall_outcome": s.overall.value,
                "consent_version": s.consent_version,
                "consent_text": CONSENT_TEXT if s.consent_version == CONSENT_VERSION else None,
                "consented_at": iso(s.consented_at),
                "answers": _answers(s),
                "outcomes": [_outcome(o) for o in sorted(s.outcomes, key=lambda o: o.id)],
                # The clinic's decisions on it; who decided is the clinic's business, not data
                # about the client, so the admin is not named.
                "reviews": [
                    {
                        "decided_at": iso(r.decided_at),
                        "decision": r.decision.value,
                        "techniques": sorted(covered.get(r.id, [])),
                        "reason": r.reason,
                        "clearance_issued_by": r.clearance_issued_by,
                        "clearance_date": _day(r.clearance_date),
                        "note": r.note,
                    }
                    for r in s.reviews
                ],
            }
        )
    return result


def _cancelled_by(booking: Booking) -> str | None:
    if booking.cancelled_at is None:
        return None
    if booking.cancelled_by_id is None:
        return "expired"
    return "you" if booking.cancelled_by_id == booking.client_id else "the clinic"


def _bookings(user: User, iso: _Clock, currency: str) -> list[dict[str, Any]]:
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


def _waitlist(user: User, iso: _Clock) -> list[dict[str, Any]]:
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


def _feed(user: User, iso: _Clock) -> dict[str, Any]:
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    if feed is None:
        return {"exists": False}
    # The feed's address is a secret and only its hash is stored: existence and dates only.
    return {
        "exists": True,
        "created_at": iso(feed.created_at),
        "last_read_at": iso(feed.last_read_at),
    }
