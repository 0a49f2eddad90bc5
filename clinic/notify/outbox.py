"""Queue e-mail with the change it reports, and deliver it after the commit."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context
from flask_mailman import EmailMessage
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from clinic.clock import utcnow
from clinic.database import begin_write
from clinic.extensions import db, mail
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


def _send(message: OutboxMessage, connection: Any) -> None:
    EmailMessage(
        subject=message.subject,
        body=message.body_text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[message.to_address],
        connection=connection,
    ).send()


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    log.warning("e-mail %s to %s failed: %s", message.id, message.to_address, exc)


def deliver(messages: list[OutboxMessage]) -> tuple[int, int]:
    """Try to send each message once over one connection; return (sent, failed).

    Commits the outcome of each message as it goes.
    """
    if not messages:
        return 0, 0
    connection = mail.get_connection()
    try:
        connection.open()
    except Exception as exc:  # the server is down: every message waits for a retry
        for message in messages:
            message.attempts += 1
            _record_failure(message, exc)
        db.session.commit()
        return 0, len(messages)

    sent = failed = 0
    try:
        for message in messages:
            begin_write()
            message.attempts += 1
            try:
                _send(message, connection)
            except Exception as exc:  # any transport failure: keep the message for a retry
                _record_failure(message, exc)
                failed += 1
            else:
                message.sent_at = utcnow()
                message.last_error = None
                sent += 1
            db.session.commit()
    finally:
        # flask-mailman leaves the socket open when a send fails; close it ourselves.
        try:
            connection.close()
        except Exception:
            log.debug("closing the mail connection failed", exc_info=True)
            if getattr(connection, "connection", None) is not None:
                connection.connection.close()
                connection.connection = None
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
    try:
        db.session.rollback()  # never save what a view left open; start delivery afresh
        begin_write()
        messages = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_(None))
        ).all()
        deliver(list(messages))
    except Exception:
        # The request's own work is committed; unsent mail stays queued for send-outbox.
        db.session.rollback()
        log.warning("delivery after the request failed; send-outbox will retry", exc_info=True)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_deliver_after_request)
