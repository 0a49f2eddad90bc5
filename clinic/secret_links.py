"""Links that carry a secret: a calendar feed, a pre-visit check, a waitlist offer.

Whoever holds such a link may use it, so its token has 256 bits of randomness, only its SHA-256
is stored (a copy of the database gives no working link), it is compared in constant time, and
it never reaches a log: `SecretPathFilter` replaces it with "[redacted]" in every logger that
writes request paths.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

REDACTED = "[redacted]"

# Loggers that write request paths: werkzeug's development server (`make run`), gunicorn's
# access and error logs when they are switched on, and the app's own error log.
PATH_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "clinic", "clinic.errors")

# The paths whose token is secret. Each pattern keeps its first and last group, and the token
# between them is redacted. The last two are signed links (a password reset, an invitation):
# their token is not stored, but it works for whoever reads it in a log all the same.
SECRET_PATHS = (
    re.compile(r"(/calendar/)[^/\s\"'?#]+(\.ics)"),
    re.compile(r"(/visit-check/)[^/\s\"'?#]+()"),
    re.compile(r"(/waitlist/offers/)[^/\s\"'?#]+()"),
    re.compile(r"(/password/reset/)[^/\s\"'?#]+()"),
    re.compile(r"(/invitation/)[^/\s\"'?#]+()"),
)

# secrets.token_urlsafe(32) gives 43 characters; anything far from that shape is not looked up.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")


def new_token() -> tuple[str, str]:
    """A fresh token for a link and the digest to store in its place."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> str:
    """The SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def lookup_digest(token: str) -> str | None:
    """The digest to look a link's token up by, or None when it cannot be one of ours."""
    return digest(token) if _TOKEN_SHAPE.fullmatch(token) else None


def same_digest(stored: str, looked_up: str) -> bool:
    """Compare in constant time, so the answer does not depend on how much of a guess matched,
    whatever the database's own comparison does."""
    return hmac.compare_digest(stored, looked_up)


def redact(message: str) -> str:
    """The message with the token of every secret link replaced by "[redacted]"."""
    for pattern in SECRET_PATHS:
        message = pattern.sub(rf"\1{REDACTED}\2", message)
    return message


class SecretPathFilter(logging.Filter):
    """Replaces the token of any secret link in a log record with "[redacted]"."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_filter() -> None:
    """Put SecretPathFilter on every logger in PATH_LOGGERS (once each)."""
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecretPathFilter) for f in logger.filters):
            logger.addFilter(SecretPathFilter())
