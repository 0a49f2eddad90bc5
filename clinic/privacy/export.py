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

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.audit.models import record as audit
from clinic.auth.models import ApiToken, User
from clinic.calendars.models import CalendarFeed
from clinic.extensions import db
from clinic.privacy import export_sessions
from clinic.screening.consent import CONSENT_TEXT, CONSENT_VERSION
from clinic.screening.models import Screening, ScreeningOutcome, client_label
from clinic.screening.rules import questions

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
    bookings = export_sessions.bookings(user, iso, currency)
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
        "waitlist": export_sessions.waitlist(user, iso),
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
        {"question_id": q.id, "question": _(q.text), "answer": screening.answers.get(q.id)}
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
