"""Friendly error pages, and JSON errors for the API."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from clinic.extensions import db, login_manager

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("That request did not make sense"),
        _l("Something in what was sent is missing or malformed."),
    ),
    401: (_l("Please log in"), _l("This needs you to be signed in.")),
    403: (_l("Not for you"), _l("Your account does not have access to this page.")),
    404: (
        _l("Page not found"),
        _l("There is no page at this address. It may have moved or never existed."),
    ),
    405: (_l("Not allowed"), _l("This page does not accept that kind of request.")),
    413: (
        _l("Too much data"),
        _l("What was sent is larger than we accept. Send less and try again."),
    ),
    422: (_l("That could not be used"), _l("Something in what was sent is not valid.")),
    429: (
        _l("Slow down"),
        _l("Too many requests in a short time. Wait a little and try again."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("The error is logged. Please try again shortly."),
    ),
    503: (
        _l("We'll be back shortly"),
        _l(
            "Lindring cannot reach its records just now. Nothing you sent was saved; "
            "please try again in a minute."
        ),
    ),
}

# Seconds a client should wait before trying again while the database is unavailable.
RETRY_AFTER = 30


# Stable error codes for the JSON API, by HTTP status.
API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(code: int, detail: str | None = None) -> tuple[object, int]:
    if code in MESSAGES:
        title, text = (str(message) for message in MESSAGES[code])
    else:
        title, text = _("Error %(code)d", code=code), ""
    if _wants_json():
        return jsonify(error=API_CODES.get(code, f"http_{code}"), message=detail or text), code
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


def handle_http_error(error: HTTPException) -> tuple[object, int]:
    return _render(error.code or 500)


def handle_csrf_error(error: CSRFError) -> tuple[object, int]:
    return _render(
        400,
        _(
            "The form was missing its security token or it had expired. "
            "Go back, reload the page and send the form again."
        ),
    )


def handle_unexpected(error: Exception) -> tuple[object, int]:
    # Leave nothing half-written by the failed request.
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _render(500)


def handle_database_unavailable(error: OperationalError) -> tuple[object, int, dict[str, str]]:
    """503 while the database cannot be reached or is locked; the pool's pre-ping reconnects
    on a later request by itself once it is back."""
    with contextlib.suppress(OperationalError):  # a lost connection has nothing to roll back
        db.session.rollback()
    # The page's menu asks who is logged in, which would query the database again.
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()
    # The statement and its parameters stay out of the log: they may hold health data.
    log.error(
        "database unavailable on %s %s: %s", request.method, request.path, type(error.orig).__name__
    )
    body, code = _render(503)
    return body, code, {"Retry-After": str(RETRY_AFTER)}


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(Exception, handle_unexpected)
    app.register_error_handler(OperationalError, handle_database_unavailable)
