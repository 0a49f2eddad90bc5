"""What the therapist writes after a session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.booking.models import Booking
from clinic.catalog.models import Technique
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime


class TreatmentNote(db.Model):
    """One per session: a private note (therapists and admins only, audit-logged when read),
    aftercare advice the client sees, and optionally a proposed plan of further sessions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), unique=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    private_note: Mapped[str] = mapped_column(Text, default="")
    aftercare: Mapped[str] = mapped_column(Text, default="")
    # A proposed plan: technique, how often (clinic.booking.series.Every) and how many sessions.
    plan_technique_id: Mapped[int | None] = mapped_column(ForeignKey("technique.id"))
    plan_duration_minutes: Mapped[int | None]
    plan_every: Mapped[str | None] = mapped_column(String(16))
    plan_count: Mapped[int | None]
    # The series the client booked from the plan (the id of its first booking).
    plan_series_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    booking: Mapped[Booking] = relationship()
    author: Mapped[User] = relationship()
    plan_technique: Mapped[Technique | None] = relationship()

    def __repr__(self) -> str:
        return f"<TreatmentNote {self.id} booking={self.booking_id}>"

    @property
    def has_plan(self) -> bool:
        return bool(self.plan_technique_id and self.plan_every and self.plan_count)
