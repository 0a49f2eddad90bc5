"""Bookings. The slot search reads them as busy time; the booking flow creates them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.catalog.models import Room, Technique, Therapist
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime


class BookingStatus(enum.StrEnum):
    PENDING = "pending"  # waits for a screening review or clearance; holds the slot
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


# The states in which a booking takes up its therapist's and room's time.
HOLDS_TIME = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)


class Booking(db.Model):
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_end"),
        # Overlap searches bound the start from both sides, so these indexes serve them.
        Index("ix_booking_therapist_starts", "therapist_id", "starts_at"),
        Index("ix_booking_room_starts", "room_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    technique_id: Mapped[int] = mapped_column(ForeignKey("technique.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int]
    price_minor: Mapped[int]
    status: Mapped[BookingStatus] = mapped_column(
        Enum(
            BookingStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=BookingStatus.CONFIRMED,
    )
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[User] = relationship()
    therapist: Mapped[Therapist] = relationship()
    technique: Mapped[Technique] = relationship()
    room: Mapped[Room] = relationship()

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.status.value} {self.starts_at:%Y-%m-%d %H:%M}Z>"
