"""Queued e-mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime


class OutboxMessage(db.Model):
    """An e-mail written in the same transaction as the change it reports.

    It goes out only if that transaction commits; failed sends stay here for `send-outbox`.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # One optional attachment, kept as text: the only kind we send is an iCalendar file.
    attachment_name: Mapped[str | None] = mapped_column(String(100))
    attachment_type: Mapped[str | None] = mapped_column(String(100))
    attachment_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Retries back off: nothing is tried again before this instant (None: at once).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A sender leases a message before sending it, so that two senders never both send it.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        state = "sent" if self.sent_at else f"queued ({self.attempts} attempts)"
        return f"<OutboxMessage {self.id} to {self.to_address} {state}>"
