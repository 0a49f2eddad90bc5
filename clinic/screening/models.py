"""Stored screenings, their outcome per technique, and the admins' review decisions.

Health answers live here, apart from the account, so they can be exported or erased on their own.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.catalog.models import Technique
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.screening.rules import Outcome, question, questions
from clinic.sqltypes import UTCDateTime


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Decision(enum.StrEnum):
    APPROVED = "approved"
    CLEARED = "cleared"  # a medical clearance was recorded
    REJECTED = "rejected"


class Standing(enum.StrEnum):
    """Where a client stands with one technique, all decisions included."""

    BOOKABLE = "bookable"
    PENDING = "pending"
    BLOCKED = "blocked"


class Screening(db.Model):
    __table_args__ = (
        # One current screening per client, however many requests arrive at once.
        Index(
            "uq_screening_one_current_per_client",
            "client_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    version: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8), default="en")
    consent_version: Mapped[str] = mapped_column(String(32))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    # The most severe outcome over all techniques, as computed when it was submitted.
    overall: Mapped[Outcome] = mapped_column(_enum(Outcome))
    # Set when the client answers again: only the newest screening counts.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[User] = relationship()
    outcomes: Mapped[list[ScreeningOutcome]] = relationship(
        back_populates="screening", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[ScreeningReview]] = relationship(
        back_populates="screening",
        cascade="all, delete-orphan",
        order_by="ScreeningReview.decided_at",
    )

    def __repr__(self) -> str:
        return f"<Screening {self.id} client={self.client_id} {self.overall.value}>"

    def is_valid_at(self, now: datetime) -> bool:
        return self.superseded_at is None and now < self.valid_until

    def is_expired_at(self, now: datetime) -> bool:
        return now >= self.valid_until

    @property
    def is_urgent(self) -> bool:
        return self.overall is Outcome.URGENT

    @property
    def undecided(self) -> list[ScreeningOutcome]:
        return [o for o in self.outcomes if o.standing is Standing.PENDING]

    @property
    def needs_staff(self) -> bool:
        return self.superseded_at is None and bool(self.undecided)

    def outcome_for(self, technique_id: int) -> ScreeningOutcome | None:
        return next((o for o in self.outcomes if o.technique_id == technique_id), None)

    def yes_answers(self) -> list[str]:
        """The ids answered yes (or filled in), in questionnaire order."""
        asked = questions(self.version)
        return [q.id for q in asked if self.answers.get(q.id) not in (None, False, "")]

    def can_be_seen_by(self, user: User) -> bool:
        """The whole screening: its client and admins. Therapists get notes, never this."""
        return user.is_admin or user.id == self.client_id


class ScreeningOutcome(db.Model):
    """The rules' outcome for one technique, and the staff's decision on it, if any."""

    __table_args__ = (UniqueConstraint("screening_id", "technique_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screening.id", ondelete="CASCADE"))
    technique_id: Mapped[int] = mapped_column(ForeignKey("technique.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    because_of: Mapped[list[str]] = mapped_column(JSON, default=list)
    decision: Mapped[Decision | None] = mapped_column(_enum(Decision))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("screening_review.id"))

    screening: Mapped[Screening] = relationship(back_populates="outcomes")
    technique: Mapped[Technique] = relationship()
    review: Mapped[ScreeningReview | None] = relationship()

    def __repr__(self) -> str:
        return f"<ScreeningOutcome {self.screening_id} {self.technique_id} {self.outcome.value}>"

    @property
    def standing(self) -> Standing:
        if self.decision is Decision.REJECTED or self.outcome.blocks:
            return Standing.BLOCKED
        if self.outcome.bookable_now or self.decision in (Decision.APPROVED, Decision.CLEARED):
            return Standing.BOOKABLE
        return Standing.PENDING


class ScreeningReview(db.Model):
    """One admin decision on some of a screening's techniques."""

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(
        ForeignKey("screening.id", ondelete="CASCADE"), index=True
    )
    admin_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[Decision] = mapped_column(_enum(Decision))
    reason: Mapped[str] = mapped_column(Text, default="")
    clearance_issued_by: Mapped[str] = mapped_column(String(200), default="")
    clearance_date: Mapped[date | None]
    note: Mapped[str] = mapped_column(Text, default="")

    screening: Mapped[Screening] = relationship(back_populates="reviews")
    admin: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ScreeningReview {self.id} {self.decision.value} by {self.admin_id}>"


_CLIENT_LABELS = {
    Outcome.CLEAR: _l("You can book it now"),
    Outcome.CAUTION: _l("You can book it now; your therapist will take care"),
    Outcome.NEEDS_REVIEW: _l("You can book; we confirm after a review by our staff"),
    Outcome.NEEDS_CLEARANCE: _l("You can book; we confirm after a medical clearance"),
    Outcome.NOT_NOW: _l("Not now"),
    Outcome.URGENT: _l("Not until you have seen a doctor"),
}


def client_label(row: ScreeningOutcome) -> str:
    """Where the client stands with a technique, in plain words (in the language being used)."""
    if row.decision is Decision.REJECTED:
        return _("Not possible after review")
    if row.decision is Decision.APPROVED:
        return _("You can book it: approved by the clinic")
    if row.decision is Decision.CLEARED:
        return _("You can book it: medical clearance recorded")
    return str(_CLIENT_LABELS[row.outcome])


def client_reasons(row: ScreeningOutcome, version: int) -> list[str]:
    """Why, in plain words: the decision's reason (as the admin wrote it), or what the
    triggering questions mean (in the language being used)."""
    if row.decision is Decision.REJECTED and row.review is not None:
        return [row.review.reason]
    if row.decision is not None:
        return []
    reasons: list[str] = []
    for question_id in row.because_of:
        text = _(question(question_id, version).reason)
        if text not in reasons:
            reasons.append(text)
    return reasons


class PreVisitCheck(db.Model):
    """The three questions asked the day before a session (linked from the reminder).

    Only a hash of the link's token is stored; the link works for its own booking only, until
    the session starts. `answers` holds the three yes/no answers once given (health data).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), unique=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # "clear" (no yes: the session goes ahead) or "cancelled"; empty until answered.
    outcome: Mapped[str] = mapped_column(String(16), default="")

    def __repr__(self) -> str:
        return f"<PreVisitCheck {self.id} booking={self.booking_id} {self.outcome or 'open'}>"
