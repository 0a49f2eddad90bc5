"""Queue e-mail with the change it reports, and deliver it after the commit.

Delivery is safe to run from several places at once (the request that queued a message, any
number of `send-outbox` processes): a sender first leases a message with a conditional UPDATE
and sends only the messages whose lease it won. Failures are retried with exponential backoff
and given up after MAX_ATTEMPTS; a message given up stays in the table, unsent, for people to see.

The one window left: if the SMTP server accepted a message and the sender died before it
committed `sent_at`, the message is sent again once its lease has run out. No outbox can close
that window without the mail server's help; it spans one chunk of sending (CHUNK messages,
seconds), against minutes of lease.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from email.mime.text import MIMEText
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, render_template
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import case, event, func, or_, select, update
from sqlalchemy.orm import Session

from clinic import clock
from clinic.database import begin_write
from clinic.extensions import db, mail
from clinic.notify.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# Waits between attempts: 1, 2, 4, ... minutes, never more than 4 hours. Ten attempts span
# about eight hours, enough to outlast a mail server's maintenance night.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=4)
# Messages leased and settled per commit: one commit leases a chunk, one records how its
# sending went. A sender that dies mid-chunk leaves that chunk's sent messages to be sent again.
CHUNK = 10
# How long a sender holds the messages it is sending, at least. It must outlast sending a whole
# chunk (opening a connection and sending, two MAIL_TIMEOUTs per message at worst), or a second
# sender could take them over: see _lease().
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Attachment:
    """One text file sent with an e-mail, such as an iCalendar invitation.

    `mime_type` may carry parameters, which are sent as given:
    "text/calendar; method=REQUEST; charset=UTF-8".
    """

    name: str
    mime_type: str
    text: str


def render_email(template: str, **context: Any) -> tuple[str, str]:
    """Render `<template>.txt` and `<template>.html` with the same context: (text, html).

    Only the .html template is autoescaped (Flask escapes by file name), so a name such as
    "O'Brien & Co" reads as written in the plain-text part and is escaped in the HTML part.
    """
    return (
        render_template(f"{template}.txt", **context),
        render_template(f"{template}.html", **context),
    )


def queue_email(
    to: str, subject: str, text: str, html: str = "", attachment: Attachment | None = None
) -> OutboxMessage:
    """Add an e-mail to the outbox in the current transaction (flushes, never commits).

    `text` is the plain-text part, `html` the HTML alternative (none when empty). Raises
    ValueError for an attachment that is not text/*: the outbox stores attachments as text.
    """
    if attachment and _content_type(attachment.mime_type).get_content_maintype() != "text":
        raise ValueError(f"only text attachments can be queued, not {attachment.mime_type}")
    message = OutboxMessage(
        to_address=to,
        subject=subject,
        body_text=text,
        body_html=html,
        attachment_name=attachment.name if attachment else None,
        attachment_type=attachment.mime_type if attachment else None,
        attachment_text=attachment.text if attachment else None,
    )
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


# --- sending -------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (1 -> 1 minute, 2 -> 2, ...)."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def _content_type(mime_type: str) -> Message:
    # The standard library parses "type/subtype; key=value" (quoting included) for us.
    header = Message()
    header["Content-Type"] = mime_type
    return header


def _attachment_part(message: OutboxMessage) -> MIMEText:
    content_type = _content_type(message.attachment_type or "text/plain")
    charset = content_type.get_content_charset() or "utf-8"
    part = MIMEText(message.attachment_text or "", content_type.get_content_subtype(), charset)
    for key, value in content_type.get_params()[1:]:
        if key.lower() != "charset":
            part.set_param(key, value)  # e.g. method=REQUEST, which calendar programs read
    part.add_header("Content-Disposition", "attachment", filename=message.attachment_name or "")
    return part


def _send(message: OutboxMessage, connection: Any) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[message.to_address],
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    if message.attachment_name:
        email.attach(_attachment_part(message))
    email.send()


def _claim(message_ids: list[int], now: datetime) -> list[OutboxMessage]:
    """Lease these messages for this sender, counting the attempt; only those it won come back.

    The UPDATE's WHERE is the whole test, so it holds against any number of other senders: on
    PostgreSQL a second UPDATE of a row waits for the first to commit and then sees the lease;
    on SQLite writers take turns (BEGIN IMMEDIATE). The messages come back detached and fully
    loaded, so that no transaction stays open while the SMTP server is talked to.
    """
    begin_write()
    messages = sorted(
        db.session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), *_sendable(now))
            .values(claimed_until=now + _lease(), attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)  # the leased rows as they now are: no second read
            .execution_options(synchronize_session=False, populate_existing=True)
        ),
        key=lambda message: message.id,
    )
    for message in messages:
        db.session.expunge(message)
    db.session.commit()
    return messages


def _lease() -> timedelta:
    timeout = current_app.config.get("MAIL_TIMEOUT") or 0
    return max(LEASE, timedelta(seconds=(2 * CHUNK + 1) * timeout))


def _sendable(now: datetime) -> tuple[Any, ...]:
    """Unsent, not given up, due, and not leased by a sender that may still be at it."""
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts < MAX_ATTEMPTS,
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _finish(outcomes: list[tuple[OutboxMessage, Exception | None]]) -> None:
    """Record the outcome of each attempt and give the leases back, in one transaction."""
    now = clock.utcnow()
    begin_write()
    for message, error in outcomes:
        if error is None:
            values: dict[str, Any] = {"sent_at": now, "last_error": None, "next_attempt_at": None}
        else:
            values = {
                "last_error": f"{type(error).__name__}: {error}"[:1000],
                "next_attempt_at": now + retry_delay(message.attempts),
            }
            log.warning(
                "e-mail %s to %s failed (attempt %s of %s): %s",
                message.id,
                message.to_address,
                message.attempts,
                MAX_ATTEMPTS,
                error,
            )
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.sent_at.is_(None))
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _close(connection: Any) -> None:
    # flask-mailman leaves the socket open when a send fails; close it ourselves.
    try:
        connection.close()
    except Exception:
        log.debug("closing the mail connection failed", exc_info=True)
        if getattr(connection, "connection", None) is not None:
            connection.connection.close()
            connection.connection = None


def deliver(message_ids: list[int]) -> tuple[int, int]:
    """Send each of these messages that is due and not leased by another sender.

    Returns (sent, failed); messages another sender holds or sent are neither. One connection
    serves the whole run; once the server cannot be reached, the rest of the run's messages
    count that as their failed attempt instead of waiting for the same timeout again.
    Works in chunks of CHUNK messages: one commit leases a chunk, one records its outcomes.
    """
    sent = failed = 0
    connection = None
    unreachable: Exception | None = None
    try:
        for first in range(0, len(message_ids), CHUNK):
            outcomes: list[tuple[OutboxMessage, Exception | None]] = []
            try:
                for message in _claim(message_ids[first : first + CHUNK], clock.utcnow()):
                    try:
                        if unreachable is not None:
                            raise unreachable
                        if connection is None:
                            connection = mail.get_connection()
                            try:
                                connection.open()
                            except Exception as exc:
                                unreachable = exc
                                raise
                        _send(message, connection)
                    except Exception as exc:  # any transport failure: keep it for a retry
                        outcomes.append((message, exc))
                        failed += 1
                        if connection is not None and unreachable is None:
                            # The server may have dropped us; the next message starts afresh.
                            _close(connection)
                            connection = None
                    else:
                        outcomes.append((message, None))
                        sent += 1
            finally:
                if outcomes:
                    _finish(outcomes)
    finally:
        if connection is not None:
            _close(connection)
    return sent, failed


def deliver_pending(limit: int = 100) -> tuple[int, int]:
    """Send what is due, oldest first (the `send-outbox` command); returns (sent, failed)."""
    due = db.session.scalars(
        select(OutboxMessage.id)
        .where(*_sendable(clock.utcnow()))
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.rollback()  # end the read; each message is leased in a transaction of its own
    return deliver(list(due))


def make_due_again(message: OutboxMessage, *, now: datetime) -> None:
    """Give a failed or given-up message one more attempt, due now (an admin's "Retry")."""
    message.attempts = min(message.attempts, MAX_ATTEMPTS - 1)
    message.next_attempt_at = now
    message.claimed_until = None


def backlog() -> dict[str, int]:
    """Unsent e-mail, in one statement: due now, failed before and retrying, given up."""
    now = clock.utcnow()
    unsent = OutboxMessage.sent_at.is_(None)
    retrying = OutboxMessage.attempts < MAX_ATTEMPTS
    due = (
        unsent
        & retrying
        & or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)
    )
    failed = unsent & retrying & (OutboxMessage.attempts > 0)
    given_up = unsent & (OutboxMessage.attempts >= MAX_ATTEMPTS)
    row = db.session.execute(
        select(
            func.count(case((due, 1))),
            func.count(case((failed, 1))),
            func.count(case((given_up, 1))),
        ).select_from(OutboxMessage)
    ).one()
    return {"due": row[0], "failed": row[1], "given_up": row[2]}


def _deliver_after_request(response: Response) -> Response:
    # Only messages whose transaction committed are here; the rest never existed.
    ids = g.pop("committed_email_ids", None)
    if not ids or not current_app.config["MAIL_DELIVER_AFTER_REQUEST"]:
        return response
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # The server closes the answer once it has sent it: the person is not kept waiting while
    # the mail server is talked to, which can take longer than the request itself.
    response.call_on_close(lambda: _deliver_after_sending(app, ids))
    return response


def _deliver_after_sending(app: Flask, ids: list[int]) -> None:
    with app.app_context():
        try:
            deliver(ids)
        except Exception:
            # The request's own work is committed; unsent mail stays queued for send-outbox.
            db.session.rollback()
            log.warning("delivery after the request failed; send-outbox will retry", exc_info=True)


def init_app(app: Flask) -> None:
    app.after_request(_deliver_after_request)
