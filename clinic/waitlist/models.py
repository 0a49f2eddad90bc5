"""Waitlist entries and the offers made to them when a matching time frees up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.catalog.models import Technique, Therapist
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime

# Parts of the day a client can name, as local wall-clock hours [start, end).
DAY_PARTS = {"morning": (6, 12), "afternoon": (12, 17), "evening": (17, 23)}


class WaitlistEntry(db.Model):
    """A client waiting for a technique (and maybe one therapist) on some days and day parts.

    Active while `left_at` and `booked_id` are both empty; served in the order of `id`.
    """

    __table_args__ = (Index("ix_waitlist_entry_technique_active", "technique_id", "left_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    technique_id: Mapped[int] = mapped_column(ForeignKey("technique.id"))
    duration_minutes: Mapped[int]
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id"))
    # Monday is 0, as in date.weekday(); empty means any day.
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Keys of DAY_PARTS; empty means any time of day.
    day_parts: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The booking a claim made from this entry; the entry is done then.
    booked_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"))

    client: Mapped[User] = relationship()
    technique: Mapped[Technique] = relationship()
    therapist: Mapped[Therapist | None] = relationship()

    def __repr__(self) -> str:
        return f"<WaitlistEntry {self.id} client={self.client_id} technique={self.technique_id}>"

    @property
    def is_active(self) -> bool:
        return self.left_at is None and self.booked_id is None


class WaitlistOffer(db.Model):
    """One freed time offered to one entry by e-mail, with a claim link that expires.

    Only a hash of the link's token is stored. `outcome` is empty while the offer is open, then
    "claimed" (it booked the time), "taken" (someone else was first) or "expired".
    """

    __table_args__ = (Index("ix_waitlist_offer_slot", "therapist_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("waitlist_entry.id", ondelete="CASCADE"), index=True
    )
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"))

    entry: Mapped[WaitlistEntry] = relationship()
    therapist: Mapped[Therapist] = relationship()

    def __repr__(self) -> str:
        return f"<WaitlistOffer {self.id} entry={self.entry_id} {self.outcome or 'open'}>"
