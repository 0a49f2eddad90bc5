"""Clinic-wide scheduling policies."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime


class ClinicPolicy(db.Model):
    """The one row of admin-editable policies; the defaults are those in DESIGN.md."""

    __table_args__ = (
        CheckConstraint("granularity_minutes > 0", name="granularity_positive"),
        CheckConstraint("buffer_minutes >= 0", name="buffer_not_negative"),
        CheckConstraint("min_notice_minutes >= 0", name="notice_not_negative"),
        CheckConstraint("horizon_days > 0", name="horizon_positive"),
        CheckConstraint("cancellation_cutoff_hours >= 0", name="cutoff_not_negative"),
        CheckConstraint("screening_retention_years >= 1", name="retention_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    granularity_minutes: Mapped[int] = mapped_column(default=15)
    buffer_minutes: Mapped[int] = mapped_column(default=15)
    min_notice_minutes: Mapped[int] = mapped_column(default=120)
    horizon_days: Mapped[int] = mapped_column(default=90)
    cancellation_cutoff_hours: Mapped[int] = mapped_column(default=24)
    # How long a waitlist offer's claim link works.
    waitlist_claim_minutes: Mapped[int] = mapped_column(default=120)
    # A client with this many no-shows books only after a review (pending); 0 turns it off.
    no_show_review_threshold: Mapped[int] = mapped_column(default=0)
    # Screenings are erased this many years after the client's last visit (purge-expired).
    screening_retention_years: Mapped[int] = mapped_column(default=5)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<ClinicPolicy every {self.granularity_minutes} min, buffer {self.buffer_minutes}>"

    @classmethod
    def current(cls) -> ClinicPolicy:
        """The clinic's policy; unsaved defaults when none has been stored yet."""
        return db.session.get(cls, 1) or cls(
            id=1,
            granularity_minutes=15,
            buffer_minutes=15,
            min_notice_minutes=120,
            horizon_days=90,
            cancellation_cutoff_hours=24,
            waitlist_claim_minutes=120,
            no_show_review_threshold=0,
            screening_retention_years=5,
        )


class WorkingHours(db.Model):
    """One interval of a therapist's usual week, on the clinic's wall clock.

    A day may have several intervals; the gaps between them are breaks.
    """

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_time < end_time", name="starts_before_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]  # Monday is 0, as in date.weekday()
    start_time: Mapped[time]
    end_time: Mapped[time]

    def __repr__(self) -> str:
        span = f"{self.start_time:%H:%M}-{self.end_time:%H:%M}"
        return f"<WorkingHours {self.therapist_id} day {self.weekday} {span}>"


class TimeOff(db.Model):
    """A stretch when a therapist does not work: holiday, course, a dentist's appointment."""

    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_end"),
        Index("ix_time_off_therapist_starts", "therapist_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<TimeOff {self.therapist_id} {self.starts_at}-{self.ends_at}>"
