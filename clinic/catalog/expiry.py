"""Certificates running out: the admin's warning list. Two statements."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from clinic.auth.models import User
from clinic.catalog.models import Certification, Technique, Therapist
from clinic.extensions import db

WARN_DAYS = 60


def is_renewed(
    expiring: tuple[int, int, date], others: Iterable[tuple[int, int, date, date]]
) -> bool:
    """Pure: whether a certificate (therapist, technique, last valid day) is followed by
    another (therapist, technique, from, until) that is valid the day after it ends."""
    therapist_id, technique_id, last_day = expiring
    day_after = last_day + timedelta(days=1)
    return any(
        (t, k) == (therapist_id, technique_id) and valid_from <= day_after <= valid_until
        for t, k, valid_from, valid_until in others
    )


def expiring_certifications(today: date, within_days: int = WARN_DAYS) -> list[Certification]:
    """Certificates of active therapists whose last valid day is between today and
    `within_days` days from today (both inclusive), soonest first.

    Left out: one followed by another certificate for the same technique that is valid the day
    after it ends (renewed in time), so the list holds only what still needs doing.
    """
    candidates = list(
        db.session.scalars(
            select(Certification)
            .join(Certification.therapist)
            .join(User, User.id == Therapist.user_id)
            .join(Certification.technique)
            .where(
                Certification.valid_until >= today,
                Certification.valid_until <= today + timedelta(days=within_days),
                Therapist.active,
                User.active,
            )
            .options(
                contains_eager(Certification.therapist).contains_eager(Therapist.user),
                contains_eager(Certification.technique),
            )
            .order_by(Certification.valid_until, User.name, Technique.name, Certification.id)
        )
    )
    if not candidates:
        return []
    later = list(
        db.session.execute(
            select(
                Certification.therapist_id,
                Certification.technique_id,
                Certification.valid_from,
                Certification.valid_until,
            ).where(
                Certification.therapist_id.in_({c.therapist_id for c in candidates}),
                Certification.valid_until > today,
            )
        )
    )
    return [
        c
        for c in candidates
        if not is_renewed((c.therapist_id, c.technique_id, c.valid_until), later)
    ]
