"""Calendar feeds and imported busy time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.catalog.models import Therapist
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime


class CalendarFeed(db.Model):
    """A user's private feed URL. Only a hash of its token is stored, so a leaked database
    does not leak working feed URLs; regenerating replaces the hash and kills the old URL."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<CalendarFeed {self.id} user={self.user_id}>"


class CalendarSource(db.Model):
    """An external calendar whose busy events block a therapist's time.

    A URL source is refreshed by `import-calendars`; an uploaded file (url is None) is replaced
    by uploading again. A failed refresh keeps the last good import.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    event_count: Mapped[int] = mapped_column(default=0)

    therapist: Mapped[Therapist] = relationship()
    busy_times: Mapped[list[BusyTime]] = relationship(
        back_populates="source", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<CalendarSource {self.id} therapist={self.therapist_id} {self.name!r}>"


class BusyTime(db.Model):
    """One busy interval from an external calendar (a recurring event gives one row per
    occurrence). No summary is kept: the therapist's private appointments are not ours to hold."""

    __table_args__ = (Index("ix_busy_time_therapist_starts", "therapist_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_source.id", ondelete="CASCADE"), index=True
    )
    # Copied from the source so that the slot search reads busy time without a join.
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    all_day: Mapped[bool] = mapped_column(default=False)

    source: Mapped[CalendarSource] = relationship(back_populates="busy_times")

    def __repr__(self) -> str:
        return f"<BusyTime {self.id} t={self.therapist_id} {self.starts_at:%Y-%m-%dT%H:%M}Z>"
