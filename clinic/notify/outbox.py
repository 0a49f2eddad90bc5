"""Queue e-mail with the change it reports, and deliver it after the commit."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, has_app_context
from flask_mailman import EmailMessage
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.notify.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def queue_email(to: str, subject: str, body: str) -> OutboxMessage:
    """Add an e-mail to the outbox in the current transaction."""
    message = OutboxMessage(to_address=to, subject=subject, body_text=body)
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault("queued_email_ids", []).append(message.id)
    return message


@event.listens_for(Session, "after_commit")
def _remember_committed(session: Session) -> None:
    ids = session.info.pop("queued_email_ids", None)
    if ids and has_app_context():
        g.setdefault("committed_email_ids", []).extend(ids)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("queued_email_ids", None)


def _send(message: OutboxMessage) -> None:
    EmailMessage(
        subject=message.subject,
        body=message.body_text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[message.to_address],
    ).send()


def deliver(messages: list[OutboxMessage]) -> tuple[int, int]:
    """Try to send each message once; return (sent, failed). Commits the outcome."""
    sent = failed = 0
    for message in messages:
        message.attempts += 1
        try:
            _send(message)
        except Exception as exc:  # any transport failure: keep the message for a retry
            message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            failed += 1
            log.warning("e-mail %s to %s failed: %s", message.id, message.to_address, exc)
        else:
            message.sent_at = utcnow()
            message.last_error = None
            sent += 1
        db.session.commit()
    return sent, failed


def deliver_pending(limit: int = 100) -> tuple[int, int]:
    """Send what is still queued, oldest first (the `send-outbox` command)."""
    pending = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    return deliver(list(pending))


def _deliver_after_request(response: Response) -> Response:
    # Only messages whose transaction committed are here; the rest never existed.
    ids = g.pop("committed_email_ids", None)
    if not ids or not current_app.config["MAIL_DELIVER_AFTER_REQUEST"]:
        return response
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_(None))
    ).all()
    deliver(list(messages))
    return response


def init_app(app: Flask) -> None:
    app.after_request(_deliver_after_request)
