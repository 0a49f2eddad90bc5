"""Bookings. The slot search reads them as busy time; the booking flow creates them."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.catalog.models import Room, Technique, Therapist
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime
from clinic.text import N_

# Cancellation reasons the clinic's own code writes: stored in English like any reason, and
# shown in the reader's language (Booking.shown_cancel_reason).
PREVISIT_CANCEL_REASON = N_("After the pre-visit check, free of charge.")
REVIEW_CANCEL_REASON = N_("Not approved after the screening review.")
EXPIRY_CANCEL_REASON = N_("held too long without a decision")
SYSTEM_CANCEL_REASONS = frozenset(
    {PREVISIT_CANCEL_REASON, REVIEW_CANCEL_REASON, EXPIRY_CANCEL_REASON}
)


class BookingStatus(enum.StrEnum):
    PENDING = "pending"  # waits for a screening review or clearance; holds the slot
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The status as people read it on its own: 'Confirmed', 'No-show'."""
        return str(_STATUS_LABELS[self])

    @property
    def phrase(self) -> str:
        """The status inside a sentence: 'This booking is %(status)s.'"""
        return str(_STATUS_PHRASES[self])


_STATUS_LABELS = {
    BookingStatus.PENDING: _l("Pending"),
    BookingStatus.CONFIRMED: _l("Confirmed"),
    BookingStatus.COMPLETED: _l("Completed"),
    BookingStatus.NO_SHOW: _l("No-show"),
    BookingStatus.CANCELLED: _l("Cancelled"),
}
_STATUS_PHRASES = {
    BookingStatus.PENDING: _l("pending"),
    BookingStatus.CONFIRMED: _l("confirmed"),
    BookingStatus.COMPLETED: _l("completed"),
    BookingStatus.NO_SHOW: _l("no-show"),
    BookingStatus.CANCELLED: _l("cancelled"),
}


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
        # Overlap searches bound the start from both sides, so these indexes serve them: the
        # slot search reads every booking of a date range (all therapists, all rooms) through
        # the first; one therapist's or room's bookings come through the others.
        Index("ix_booking_starts", "starts_at"),
        Index("ix_booking_therapist_starts", "therapist_id", "starts_at"),
        Index("ix_booking_room_starts", "room_id", "starts_at"),
        # A client's bookings by start, a page at a time (/my/bookings): on client_id alone,
        # PostgreSQL walked the start index instead, 4 s a page among a million bookings.
        Index("ix_booking_client_starts", "client_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
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
    # The policy in force when it was booked: later changes never move an existing booking.
    buffer_minutes: Mapped[int] = mapped_column(default=15)
    cancellation_cutoff_hours: Mapped[int] = mapped_column(default=24)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Cancelled after the client's cut-off on the client's account: counted against them.
    late_cancellation: Mapped[bool] = mapped_column(default=False)
    # Bumped on every change the client's calendar must follow (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0)
    series_id: Mapped[int | None] = mapped_column(index=True)
    # Set when the 24-hour reminder was queued, so that no run of the reminder job sends two.
    reminder_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    therapist: Mapped[Therapist] = relationship()
    technique: Mapped[Technique] = relationship()
    room: Mapped[Room] = relationship()

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.status.value} {self.starts_at:%Y-%m-%d %H:%M}Z>"

    @property
    def is_live(self) -> bool:
        """Pending or confirmed: it holds its therapist's and room's time."""
        return self.status in LIVE

    @property
    def shown_cancel_reason(self) -> str:
        """The reason as people read it: the clinic's own reasons translated, staff's as typed."""
        if self.cancel_reason in SYSTEM_CANCEL_REASONS:
            return _(self.cancel_reason)
        return self.cancel_reason

    def cutoff_at(self) -> datetime:
        return self.starts_at - timedelta(hours=self.cancellation_cutoff_hours)

    def is_seen_by(self, user: User) -> bool:
        """The client, the therapist of the session, and admins."""
        return user.is_admin or user.id == self.client_id or self.therapist.user_id == user.id

    def why_client_cannot_change(self, now: datetime) -> str | None:
        """Why the client may not cancel or move it now, or None when they may."""
        if not self.is_live:
            return _("This booking is %(status)s.", status=self.status.phrase)
        if now >= self.cutoff_at():
            return _(
                "Changes are possible until %(hours)d hours before the session. "
                "Please call the clinic.",
                hours=self.cancellation_cutoff_hours,
            )
        return None

    def why_not_cancel(self, user: User, now: datetime) -> str | None:
        """Why this user may not cancel it now, or None when they may."""
        if user.is_admin or (user.is_therapist and self.therapist.user_id == user.id):
            if not self.is_live:
                return _("This booking is %(status)s.", status=self.status.phrase)
            if now >= self.ends_at:
                return _("The session is over: mark it completed or no-show instead.")
            return None
        if user.id == self.client_id:
            return self.why_client_cannot_change(now)
        return _("Only the client, the therapist and the clinic can cancel a booking.")

    def why_not_cancel_for_health(self, now: datetime) -> str | None:
        """Why the client may not cancel it from the pre-visit health check now, or None.

        Unlike an ordinary cancellation this is allowed after the cut-off, until the start.
        """
        if not self.is_live:
            return _("This booking is %(status)s.", status=self.status.phrase)
        if now >= self.starts_at:
            return _("The session has started. Please call the clinic.")
        return None

    def why_not_reschedule(self, user: User, now: datetime) -> str | None:
        """Why this user may not move it now, or None when they may.

        The client until the cut-off; the session's therapist and admins whenever it is live.
        """
        if user.is_admin or (user.is_therapist and self.therapist.user_id == user.id):
            if not self.is_live:
                return _("This booking is %(status)s.", status=self.status.phrase)
            return None
        if user.id == self.client_id:
            return self.why_client_cannot_change(now)
        return _("Only the client, the therapist and the clinic can move a booking.")

    def may_change_therapist(self, user: User) -> bool:
        """Clients and admins may move a session to another therapist; a therapist moves it only
        within their own calendar (handing it to a colleague is the clinic's decision)."""
        return user.is_admin or user.id == self.client_id

    def why_not_mark(self, user: User, now: datetime) -> str | None:
        """Why this user may not mark it completed or no-show now, or None when they may."""
        if not (user.is_admin or (user.is_therapist and self.therapist.user_id == user.id)):
            return _("Only the therapist and the clinic mark sessions.")
        if self.status is not BookingStatus.CONFIRMED:
            return _(
                "Only confirmed sessions can be marked; this one is %(status)s.",
                status=self.status.phrase,
            )
        if now < self.starts_at:
            return _("A session can be marked once it has started.")
        return None


# Live bookings hold time; their claims below are what the database checks.
LIVE = (BookingStatus.PENDING, BookingStatus.CONFIRMED)

# Claims are made of blocks this long; every start, length and buffer is a multiple of it.
CLAIM_BLOCK = timedelta(minutes=5)


class TimeClaim(db.Model):
    """Five minutes of one therapist's or one room's time, held by a live booking.

    The no-double-booking guarantee lives here: a booking claims every block from its start to
    its end plus the buffer, for its therapist and for its room, and the primary key lets only
    one booking hold a block. Two overlapping bookings would need the same row, so the second
    INSERT fails inside the database, on SQLite and PostgreSQL alike, however many app
    processes race. Claims are deleted when a booking is cancelled; a completed session keeps
    them until its time has passed, as it may still be running when it is marked.
    """

    kind: Mapped[str] = mapped_column(String(9), primary_key=True)  # "therapist" or "room"
    resource_id: Mapped[int] = mapped_column(primary_key=True)
    block_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), index=True
    )

    def __repr__(self) -> str:
        return f"<TimeClaim {self.kind}:{self.resource_id} {self.block_start} by {self.booking_id}>"


class IdempotencyKey(db.Model):
    """The first answer to a request that carried this key, so a retry gets it again."""

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))
    status_code: Mapped[int | None]
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<IdempotencyKey {self.user_id}:{self.key}>"
