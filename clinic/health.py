"""`/healthz`: is the database reachable, and is e-mail piling up in the outbox?

Monitoring reads `status` ("ok" or "unavailable"; the load balancer and the docs rely on
`{"status": "ok"}`) and the HTTP status: 503 while the database cannot be reached.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import OperationalError

from clinic import clock
from clinic.errors import RETRY_AFTER
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.notify.outbox import MAX_ATTEMPTS

log = logging.getLogger(__name__)


def outbox_backlog() -> dict[str, int]:
    """Unsent e-mail in one statement: due now, failed at least once (and retrying), given up."""
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


def healthz() -> Any:
    try:
        backlog = outbox_backlog()
    except OperationalError as error:
        db.session.rollback()
        log.error("health check: database unavailable (%s)", type(error.orig).__name__)
        response = jsonify(status="unavailable", database="unavailable")
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    return jsonify(status="ok", database="ok", outbox=backlog)


def init_app(app: Flask) -> None:
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
