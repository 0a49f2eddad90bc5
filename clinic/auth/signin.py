"""Checking a login and counting failures, so guessing one account's password locks it.

Used by the login page and by `POST /api/v1/tokens`, so neither is a way around the lock. The
answer is the same for an unknown e-mail, a wrong password, an inactive and a locked account:
None. Flushes; the caller commits, also when the answer is None (the count must be kept).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app, url_for
from flask_babel import gettext as _

from clinic.audit.models import record as audit
from clinic.auth.lockout import Failures, LockoutPolicy, after_failure, is_locked
from clinic.auth.models import User
from clinic.auth.operations import make_reset_token
from clinic.auth.passwords import verify_password
from clinic.extensions import db
from clinic.i18n import speaking
from clinic.notify.outbox import queue_email, render_email


def lockout_policy() -> LockoutPolicy:
    """The policy from the app's settings (LOGIN_LOCKOUT_*)."""
    config = current_app.config
    return LockoutPolicy.from_seconds(
        config["LOGIN_LOCKOUT_THRESHOLD"],
        config["LOGIN_LOCKOUT_WINDOW"],
        config["LOGIN_LOCKOUT_DURATION"],
    )


def attempt_login(
    email: str,
    password: str,
    *,
    now: datetime,
    ip: str,
    policy: LockoutPolicy,
    keeps_count: Callable[[User], bool] = lambda user: False,
) -> User | None:
    """The active, unlocked user with this e-mail and password, or None.

    A wrong password counts against the account; the failure that reaches the threshold locks
    it, records `account.locked` in the audit log and queues one e-mail to the owner. A right
    password clears the count, unless `keeps_count(user)` says the login is not over yet (a
    code is still to come). The password is checked in every case (a dummy hash for an unknown
    e-mail), so the answer takes the same time whether or not the account exists or is locked.
    """
    user = User.by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not user.active:
        return None  # nothing to count: an unknown e-mail "locks" nothing, silently
    state = Failures(user.failed_logins, user.failed_login_since, user.locked_until)
    if is_locked(state, now):
        return None
    if ok:
        if (user.failed_logins or user.locked_until) and not keeps_count(user):
            user.clear_login_failures()
            db.session.flush()
        return user
    count_failure(user, now=now, ip=ip, policy=policy)
    return None


def count_failure(user: User, *, now: datetime, ip: str, policy: LockoutPolicy) -> None:
    """Count one failed attempt against the account (a wrong password, or a wrong second-step
    code); the one that reaches the threshold locks it and tells the owner. Flushes."""
    state = Failures(user.failed_logins, user.failed_login_since, user.locked_until)
    new, locked = after_failure(state, now, policy)
    user.failed_logins = new.count
    user.failed_login_since = new.since
    user.locked_until = new.locked_until
    if locked:
        audit(
            "account.locked",
            "user",
            user.id,
            actor_id=None,
            ip=ip,
            detail={"failures": new.count, "minutes": _minutes(policy)},
        )
        _tell_owner(user, failures=new.count, minutes=_minutes(policy))
    db.session.flush()


def _minutes(policy: LockoutPolicy) -> int:
    return max(1, round(policy.duration.total_seconds() / 60))


def _tell_owner(user: User, *, failures: int, minutes: int) -> None:
    # A reset link straight away: a new password is the owner's way out of the lock.
    token = make_reset_token(user, current_app.config["SECRET_KEY"])
    with speaking(user):
        text, html = render_email(
            "auth/email/account_locked",
            user=user,
            failures=failures,
            minutes=minutes,
            link=url_for("auth.reset_password", token=token, _external=True),
            link_minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
        )
        subject = _("Your Lindring account was locked after failed logins")
    queue_email(user.email, subject, text, html)
