"""Submitting a screening, reading where a client stands, and the admins' review.

Operations take the acting user, flush, and leave the commit to the view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from clinic.auth.models import User
from clinic.catalog.models import Technique
from clinic.extensions import db
from clinic.screening.consent import CONSENT_VERSION
from clinic.screening.models import (
    Decision,
    Screening,
    ScreeningOutcome,
    ScreeningReview,
    Standing,
)
from clinic.screening.rules import (
    CURRENT_VERSION,
    Outcome,
    clean_answers,
    evaluate,
    evaluate_one,
    most_severe,
    therapist_note_parts,
)
from clinic.text import N_

VALID_FOR = timedelta(days=365)


class ScreeningError(ValueError):
    """The screening or the decision was refused; `field` names the form field at fault.

    The message is English (the API sends it as it is); a page shows it with `_(str(exc))`."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def submit_screening(
    client: User,
    raw_answers: Mapping[str, object],
    *,
    consent: bool,
    now: datetime,
    language: str = "en",
) -> Screening:
    """Store a client's answers with their outcome per technique; it replaces the current one.

    Raises ScreeningError without consent or for a non-client, and rules.InvalidAnswers for
    answers that do not fit the questionnaire.
    """
    if not client.is_client:
        raise ScreeningError(N_("Only clients answer the health screening."), code="not_a_client")
    if consent is not True:
        raise ScreeningError(
            N_("Please agree, or we cannot store your answers."),
            field="consent",
            code="consent_required",
        )
    answers = clean_answers(raw_answers, CURRENT_VERSION)
    techniques = list(db.session.scalars(select(Technique).order_by(Technique.position)))
    results = evaluate(answers, {t.slug: t.pressure.value for t in techniques}, CURRENT_VERSION)

    previous = current_screening(client.id)
    if previous is not None:
        previous.superseded_at = now
        db.session.flush()
    screening = Screening(
        client_id=client.id,
        version=CURRENT_VERSION,
        answers=answers,
        language=language,
        consent_version=CONSENT_VERSION,
        consented_at=now,
        submitted_at=now,
        valid_until=now + VALID_FOR,
        overall=most_severe([r.outcome for r in results.values()]),
    )
    screening.outcomes = [
        ScreeningOutcome(
            technique=t,
            outcome=results[t.slug].outcome,
            because_of=list(results[t.slug].because_of),
        )
        for t in techniques
    ]
    db.session.add(screening)
    try:
        db.session.flush()
    except IntegrityError:
        # Another submission of this client got in first (a double click, two tabs).
        db.session.rollback()
        raise ScreeningError(
            N_(
                "Your answers arrived twice at the same moment; the first copy was kept. "
                "Check your screening page."
            ),
            code="submitted_twice",
        ) from None
    return screening


def current_screening(client_id: int) -> Screening | None:
    """The newest screening of a client, expired or not; None if they never answered."""
    return db.session.scalar(
        select(Screening)
        .where(Screening.client_id == client_id, Screening.superseded_at.is_(None))
        .options(
            selectinload(Screening.outcomes).selectinload(ScreeningOutcome.technique),
            selectinload(Screening.outcomes).selectinload(ScreeningOutcome.review),
        )
        .order_by(Screening.submitted_at.desc(), Screening.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Gate:
    """Whether a client may book a technique now, and why not."""

    standing: Standing
    code: str  # ok, pending, screening_required, screening_expired, screening_blocks
    outcome: Outcome | None = None
    screening: Screening | None = None


def booking_gate(client_id: int, technique: Technique, now: datetime) -> Gate:
    """What the client's current screening says about booking this technique now."""
    screening = current_screening(client_id)
    if screening is None:
        return Gate(Standing.BLOCKED, "screening_required")
    if screening.is_expired_at(now):
        return Gate(Standing.BLOCKED, "screening_expired", screening=screening)
    row = screening.outcome_for(technique.id)
    if row is None:
        # A technique added after the screening: judge it by the same answers.
        outcome = evaluate_one(screening.answers, technique.pressure.value, screening.version)
        standing = (
            Standing.BOOKABLE
            if outcome.outcome.bookable_now
            else Standing.PENDING
            if outcome.outcome.waits_for_staff
            else Standing.BLOCKED
        )
        result = outcome.outcome
    else:
        standing, result = row.standing, row.outcome
    code = {Standing.BOOKABLE: "ok", Standing.PENDING: "pending"}.get(standing, "screening_blocks")
    return Gate(standing, code, result, screening)


def _needs_staff_clause():
    return exists().where(
        ScreeningOutcome.screening_id == Screening.id,
        ScreeningOutcome.decision.is_(None),
        ScreeningOutcome.outcome.in_([Outcome.NEEDS_REVIEW, Outcome.NEEDS_CLEARANCE]),
    )


def review_queue(limit: int | None = None, offset: int = 0) -> list[Screening]:
    """Screenings waiting for a human, oldest first (`limit` of them after the first
    `offset`); replaced ones have left the queue."""
    return list(
        db.session.scalars(
            select(Screening)
            .where(Screening.superseded_at.is_(None), _needs_staff_clause())
            .options(
                joinedload(Screening.client),
                selectinload(Screening.outcomes).joinedload(ScreeningOutcome.technique),
            )
            .order_by(Screening.submitted_at, Screening.id)
            .limit(limit)
            .offset(offset)
        )
    )


def review_queue_count() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Screening)
        .where(Screening.superseded_at.is_(None), _needs_staff_clause())
    )


# Which rule outcomes each decision may settle.
_DECIDABLE = {
    Decision.APPROVED: {Outcome.NEEDS_REVIEW},
    Decision.CLEARED: {Outcome.NEEDS_REVIEW, Outcome.NEEDS_CLEARANCE},
    Decision.REJECTED: {Outcome.NEEDS_REVIEW, Outcome.NEEDS_CLEARANCE},
}


def decidable_outcomes(screening: Screening, decision: Decision) -> list[ScreeningOutcome]:
    """The undecided techniques this kind of decision can settle."""
    if screening.superseded_at is not None:
        return []
    return [
        o for o in screening.outcomes if o.decision is None and o.outcome in _DECIDABLE[decision]
    ]


def decide(
    screening: Screening,
    *,
    admin: User,
    decision: Decision,
    technique_ids: list[int],
    now: datetime,
    reason: str | None = "",
    clearance_issued_by: str | None = "",
    clearance_date: date | None = None,
    note: str | None = "",
) -> ScreeningReview:
    """Record an admin's decision on some techniques of a screening.

    Raises ScreeningError when nothing chosen can be decided (already decided, replaced by a
    newer screening, or the wrong kind of decision), or a required detail is missing. Two admins
    deciding at once cannot both win: the rows are claimed with a conditional UPDATE.
    """
    if not admin.is_admin:
        raise ScreeningError(N_("Only admins decide on screenings."), code="forbidden")
    open_rows = {o.technique_id: o for o in decidable_outcomes(screening, decision)}
    if not open_rows:
        raise ScreeningError(
            N_(
                "This screening has nothing left to decide of that kind: it was decided already "
                "or replaced by a newer one."
            ),
            code="already_decided",
        )
    if not technique_ids:
        raise ScreeningError(N_("Choose at least one technique."), field="techniques")
    chosen = [open_rows[tid] for tid in technique_ids if tid in open_rows]
    if len(chosen) != len(set(technique_ids)):
        raise ScreeningError(
            N_("Some of the chosen techniques cannot be decided this way any more."),
            field="techniques",
            code="already_decided",
        )
    reason = (reason or "").strip()
    clearance_issued_by = (clearance_issued_by or "").strip()
    note = (note or "").strip()
    if decision is Decision.REJECTED and not reason:
        raise ScreeningError(N_("Say why, for the client."), field="reason")
    if decision is Decision.CLEARED:
        if not clearance_issued_by:
            raise ScreeningError(N_("Who issued the clearance?"), field="clearance_issued_by")
        if clearance_date is None:
            raise ScreeningError(N_("When was it issued?"), field="clearance_date")
        if clearance_date > now.date():
            raise ScreeningError(
                N_("The clearance date cannot be in the future."), field="clearance_date"
            )

    review = ScreeningReview(
        screening=screening,
        admin_id=admin.id,
        decided_at=now,
        decision=decision,
        reason=reason,
        clearance_issued_by=clearance_issued_by,
        clearance_date=clearance_date,
        note=note,
    )
    db.session.add(review)
    db.session.flush()
    ids = [row.id for row in chosen]
    claimed = db.session.execute(
        update(ScreeningOutcome)
        .where(ScreeningOutcome.id.in_(ids), ScreeningOutcome.decision.is_(None))
        .values(decision=decision, review_id=review.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != len(ids):
        raise ScreeningError(
            N_(
                "Another admin decided on this screening a moment ago. "
                "Reload to see their decision."
            ),
            code="already_decided",
        )
    for row in chosen:
        db.session.refresh(row)
    return review


@dataclass(frozen=True)
class SessionNotes:
    """What a therapist may know of a client's screening for one session: no more."""

    standing: Standing
    outcome: Outcome
    decision: Decision | None
    notes: list[str]


def notes_for_session(screening: Screening, technique: Technique) -> SessionNotes:
    """The outcome and the caution notes that matter for this technique's pressure class."""
    row = screening.outcome_for(technique.id)
    pressure = technique.pressure.value
    if row is None:
        result = evaluate_one(screening.answers, pressure, screening.version).outcome
        standing = Standing.BOOKABLE if result.bookable_now else Standing.PENDING
        decision = None
    else:
        result, standing, decision = row.outcome, row.standing, row.decision
    return SessionNotes(
        standing=standing,
        outcome=result,
        decision=decision,
        notes=[
            _(note, **values)
            for note, values in therapist_note_parts(screening.answers, pressure, screening.version)
        ],
    )
