"""One structured log line per request, with a request id that is also sent back.

The line is JSON (`request {...}` on the `clinic.requests` logger) with: the request id, the
method, the path with secret tokens redacted and the query string dropped, the status, the
duration in milliseconds and the user's id. Never an e-mail, a form value, a header or a
cookie: what a person sent may be health data or a password.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request
from sqlalchemy import inspect

from clinic.secret_links import REDACTED, redact

log = logging.getLogger("clinic.requests")

HEADER = "X-Request-ID"

# An incoming id is kept only when it is short and plain (a proxy's UUID, a trace id); anything
# else could carry a line break or a secret into the log, and gets a fresh id.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")

# A path segment that looks like a token (a password reset or invitation link): long, and
# mixing letters with digits, unlike a slug or an id.
_TOKEN_SEGMENT = re.compile(r"(?=[^/]*\d)(?=[^/]*[A-Za-z])[A-Za-z0-9_.-]{20,}")


def request_id(incoming: str | None) -> str:
    """The incoming id when it is sane, else a fresh random one."""
    if incoming and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def loggable_path(path: str) -> str:
    """The path with every secret link's token and anything token-shaped redacted."""
    redacted = redact(path)
    return "/".join(
        REDACTED if _TOKEN_SEGMENT.fullmatch(part) else part for part in redacted.split("/")
    )


def _user_id() -> int | None:
    # Only a user this request already loaded: loading one here would query the database,
    # which may be the very thing that is down.
    # And no attribute read either, not even is_authenticated (it reads `active`): after a
    # commit that would reload the row. The identity (primary key) is known without the
    # database; the anonymous user is no mapped object, so it has none.
    user = g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    if state is not None and state.identity:
        return state.identity[0]
    return g.get("api_user_id")


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id(request.headers.get(HEADER))


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    rid = g.get("request_id") or request_id(None)
    response.headers[HEADER] = rid
    line = {
        "request_id": rid,
        "method": request.method,
        "path": loggable_path(request.path),
        "status": response.status_code,
        "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "user": _user_id(),
    }
    log.info("request %s", json.dumps(line, ensure_ascii=True))
    return response


def init_app(app: Flask) -> None:
    # First among the before-request functions, so the clock and id are set even when a later
    # one (the database's) fails.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    if not app.testing and not log.handlers:
        # The line goes to stderr, where gunicorn and systemd collect it; tests read it through
        # pytest's own handler instead.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
