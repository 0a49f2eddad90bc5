"""Abuse limits on the calls worth guessing or flooding: logging in, registering, asking for a
password reset, getting an API token and booking.

Each action has two budgets (settings RATELIMIT_<ACTION>_IP and _ACCOUNT in clinic/config.py):
one per IP address and one per account, where the account is the e-mail typed (so guessing one
person's password from many addresses still runs out) or the signed-in user. Only POSTs count.
The account budget is keyed by an HMAC of the e-mail, so the limiter's storage (Redis) holds
no addresses. The booking budgets are shared by the booking page, the series page and the API.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_login import current_user

from clinic.auth.models import normalise_email
from clinic.extensions import db, limiter

F = TypeVar("F", bound=Callable[..., Any])

ACTIONS = ("login", "register", "password_reset", "token", "booking")


# --- whose budget a request spends ---------------------------------------------------------


def client_ip() -> str:
    """The caller's address (ProxyFix has put the client's there when behind proxies)."""
    return f"ip:{request.remote_addr or 'unknown'}"


def _account(identity: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()[:32]
    return f"account:{digest}"


def typed_email() -> str:
    """The account a form names in its `email` field (login, register, forgot password)."""
    return _account(normalise_email(request.form.get("email", "")))


def json_email() -> str:
    """The account a JSON body names in `email` (POST /api/v1/tokens)."""
    body = request.get_json(force=True, silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return _account(normalise_email(email) if isinstance(email, str) else "")


def page_user() -> str:
    """The logged-in user of a page (inside roles_required)."""
    return _account(f"user:{current_user.id}")


def api_caller() -> str:
    """The user of an API call (inside bearer_required)."""
    return _account(f"user:{g.api_token.user_id}")


def limited(action: str, account: Callable[[], str]) -> Callable[[F], F]:
    """Spend one of the action's per-IP and per-account budgets on each POST to the view.

    Put it below the decorators that sign the caller in, so `account` can see who it is.
    Raises RateLimitExceeded (answered 429 by `too_many`) when either budget is spent.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown rate-limited action {action!r}")
    name = action.upper()
    per_ip = limiter.shared_limit(
        lambda: current_app.config[f"RATELIMIT_{name}_IP"],
        scope=f"{action}:ip",
        key_func=client_ip,
        methods=["POST"],
    )
    per_account = limiter.shared_limit(
        lambda: current_app.config[f"RATELIMIT_{name}_ACCOUNT"],
        scope=f"{action}:account",
        key_func=account,
        methods=["POST"],
    )

    def decorator(view: F) -> F:
        return per_ip(per_account(view))  # type: ignore[return-value]

    return decorator


# --- the answer when a budget is spent -------------------------------------------------------


def retry_after_seconds() -> int:
    """Whole seconds until the spent budget has room again (at least 1)."""
    spent = limiter.current_limit
    if spent is None:
        return 60
    # reset_at is a whole second rounded up; never more than the window itself.
    return max(1, min(math.ceil(spent.reset_at - time.time()), spent.limit.get_expiry()))


def wait_text(seconds: int) -> str:
    """'40 seconds', 'a minute', '15 minutes', '2 hours': how long to wait, in words."""
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return ngettext("a minute", "%(num)d minutes", minutes)
    return ngettext("%(num)d hour", "%(num)d hours", math.ceil(minutes / 60))


def too_many(error: RateLimitExceeded) -> tuple[Any, int, dict[str, str]]:
    """429 with Retry-After: a page in the site's layout, or JSON for the API."""
    db.session.rollback()  # nothing of the refused call is kept (an API call opened a write)
    seconds = retry_after_seconds()
    headers = {"Retry-After": str(seconds)}
    wait = wait_text(seconds)
    if request.path.startswith("/api/"):
        message = _("Too many requests in a short time. Try again in %(wait)s.", wait=wait)
        return jsonify(error="rate_limited", message=message, retry_after=seconds), 429, headers
    return render_template("errors/rate_limited.html", wait=wait), 429, headers


def init_app(app: Flask) -> None:
    """Bind the limiter; unless RATELIMIT_ENABLED says otherwise, it is off only in testing."""
    if app.config.get("RATELIMIT_ENABLED") is None:
        app.config["RATELIMIT_ENABLED"] = app.config["LINDRING_ENV"] != "testing"
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, too_many)
