"""`/healthz`: is the database reachable, and is e-mail piling up in the outbox?

Monitoring reads `status` ("ok" or "unavailable"; the load balancer and the docs rely on
`{"status": "ok"}`) and the HTTP status: 503 while the database cannot be reached.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError

from clinic.errors import RETRY_AFTER
from clinic.extensions import db
from clinic.notify import outbox

log = logging.getLogger(__name__)


def healthz() -> Any:
    try:
        waiting = outbox.backlog()
    except OperationalError as error:
        db.session.rollback()
        log.error("health check: database unavailable (%s)", type(error.orig).__name__)
        response = jsonify(status="unavailable", database="unavailable")
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    return jsonify(status="ok", database="ok", outbox=waiting)


def init_app(app: Flask) -> None:
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
