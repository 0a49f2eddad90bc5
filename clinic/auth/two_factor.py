"""Two-factor sign-in: setting it up, switching it off, recovery codes, and the second step of
a login. Every function takes the acting user, flushes only and records its audit entry (ids
only: never the secret or a code); the view commits.

A wrong second-step code counts towards the login lock like a wrong password (auth/signin.py),
and a right password alone does not clear the count for a user with two-factor sign-in: only
the whole login does, so entering the password again does not buy more guesses at the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, update

from clinic.audit.models import record as audit
from clinic.auth import signin, totp
from clinic.auth.lockout import Failures, LockoutPolicy, is_locked
from clinic.auth.models import User
from clinic.auth.passwords import verify_password
from clinic.auth.two_factor_models import (
    RecoveryCode,
    TwoFactor,
    has_two_factor,
    two_factor_of,
    unused_recovery_codes,
)
from clinic.extensions import db


class TwoFactorError(ValueError):
    """A refused change, with the form field the message belongs beside."""

    def __init__(self, message: object, field: str = "code") -> None:
        super().__init__(message)
        self.field = field


WRONG_CODE = _l("That code is not right, or it was already used. Type the code your app shows now.")


def admin_rule_on(config: Mapping[str, Any]) -> bool:
    """ADMIN_TWO_FACTOR_REQUIRED; unset means on, except under LINDRING_ENV=testing."""
    value = config.get("ADMIN_TWO_FACTOR_REQUIRED")
    if value is None:
        return config.get("LINDRING_ENV") != "testing"
    return bool(value)


def must_set_up(user: User, config: Mapping[str, Any]) -> bool:
    """True for an admin without two-factor sign-in while the rule requires it."""
    return user.is_admin and admin_rule_on(config) and not has_two_factor(user.id)


# --- setting it up ------------------------------------------------------------------------


def start_setup(user: User, *, app_secret: str) -> TwoFactor:
    """A new secret for the user to scan, not switched on yet (a second call replaces it).

    Raises TwoFactorError when two-factor sign-in is already on.
    """
    row = two_factor_of(user.id)
    if row is not None and row.enabled:
        raise TwoFactorError(_("Two-factor sign-in is already on."))
    if row is None:
        row = TwoFactor(user_id=user.id)
        db.session.add(row)
    row.secret_encrypted = totp.encrypt_secret(totp.new_secret(), app_secret)
    row.last_used_step = None
    db.session.flush()
    return row


def pending_secret(user: User, *, app_secret: str) -> str | None:
    """The secret being set up, to show as a QR code and as text; None if none is pending."""
    row = two_factor_of(user.id)
    if row is None or row.enabled:
        return None
    try:
        return totp.decrypt_secret(row.secret_encrypted, app_secret)
    except totp.SecretUnreadable:
        return None  # SECRET_KEY changed since: the page offers a fresh start (start_setup)


def confirm_setup(user: User, code: str, *, app_secret: str, now: datetime, ip: str) -> list[str]:
    """Switch two-factor sign-in on with a first correct code; the new recovery codes.

    Raises TwoFactorError for a wrong code or when nothing is being set up.
    """
    secret = pending_secret(user, app_secret=app_secret)
    if secret is None:
        raise TwoFactorError(_("Start the set-up first: there is no code to check yet."))
    step = totp.matching_step(secret, code, now, None)
    if step is None:
        raise TwoFactorError(WRONG_CODE)
    row = two_factor_of(user.id)
    row.enabled_at = now
    row.last_used_step = step
    codes = _replace_recovery_codes(user)
    audit("two_factor.enabled", "user", user.id, actor_id=user.id, ip=ip)
    db.session.flush()
    return codes


def regenerate_recovery_codes(user: User, *, ip: str) -> list[str]:
    """Ten new recovery codes; the old ones stop working. Raises TwoFactorError when off."""
    if not has_two_factor(user.id):
        raise TwoFactorError(_("Two-factor sign-in is off."))
    codes = _replace_recovery_codes(user)
    audit("two_factor.codes_regenerated", "user", user.id, actor_id=user.id, ip=ip)
    db.session.flush()
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes
    )
    return codes


def switch_off(
    user: User,
    *,
    password: str,
    code: str,
    app_secret: str,
    now: datetime,
    ip: str,
    config: Mapping[str, Any],
) -> None:
    """Switch two-factor sign-in off: needs the password and a current code (or a recovery
    code). Raises TwoFactorError; admins cannot while ADMIN_TWO_FACTOR_REQUIRED is on."""
    if not has_two_factor(user.id):
        raise TwoFactorError(_("Two-factor sign-in is already off."))
    if user.is_admin and admin_rule_on(config):
        raise TwoFactorError(_("Admins must keep two-factor sign-in on."), field="password")
    if not verify_password(user.password_hash, password):
        raise TwoFactorError(_("Your password is not right."), field="password")
    if _use_code(user, code, app_secret=app_secret, now=now, ip=ip) is None:
        raise TwoFactorError(WRONG_CODE)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.delete(two_factor_of(user.id))
    audit("two_factor.disabled", "user", user.id, actor_id=user.id, ip=ip)
    db.session.flush()


# --- logging in ---------------------------------------------------------------------------


def check_password(
    email: str, password: str, *, now: datetime, ip: str, policy: LockoutPolicy
) -> User | None:
    """`signin.attempt_login`, except that for a user with two-factor sign-in a right password
    leaves the failure count as it was: only a right code clears it (`second_step`)."""
    return signin.attempt_login(
        email,
        password,
        now=now,
        ip=ip,
        policy=policy,
        keeps_count=lambda user: has_two_factor(user.id),
    )


def second_step(
    user: User, typed: str, *, app_secret: str, now: datetime, ip: str, policy: LockoutPolicy
) -> str | None:
    """'code' or 'recovery' when `typed` lets the user in, else None.

    A wrong code counts towards the login lock; a locked account is refused without counting.
    A right one clears the count.
    """
    state = Failures(user.failed_logins, user.failed_login_since, user.locked_until)
    if not user.active or is_locked(state, now):
        return None
    kind = _use_code(user, typed, app_secret=app_secret, now=now, ip=ip)
    if kind is None:
        signin.count_failure(user, now=now, ip=ip, policy=policy)
        return None
    user.clear_login_failures()
    db.session.flush()
    return kind


def _use_code(user: User, typed: str, *, app_secret: str, now: datetime, ip: str) -> str | None:
    """Spend a current code or a recovery code of the user: 'code', 'recovery' or None."""
    row = two_factor_of(user.id)
    if row is None or not row.enabled:
        return None
    if totp.looks_like_totp(totp.normalise_code(typed)):
        try:
            secret = totp.decrypt_secret(row.secret_encrypted, app_secret)
        except totp.SecretUnreadable:
            return None  # SECRET_KEY changed: only recovery codes still work
        step = totp.matching_step(secret, typed, now, row.last_used_step)
        # A conditional UPDATE, so two requests racing with the same code cannot both win.
        if step is None or not _claim(
            update(TwoFactor)
            .where(TwoFactor.user_id == user.id)
            .where(or_(TwoFactor.last_used_step.is_(None), TwoFactor.last_used_step < step))
            .values(last_used_step=step)
        ):
            return None
        return "code"
    if not totp.looks_like_recovery_code(typed):
        return None
    wanted = totp.hash_recovery_code(typed)
    unused = unused_recovery_codes(user.id)
    match = next((c for c in unused if c.code_hash == wanted), None)
    if match is None or not _claim(
        update(RecoveryCode)
        .where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    ):
        return None
    audit(
        "two_factor.recovery_code_used",
        "user",
        user.id,
        actor_id=user.id,
        ip=ip,
        detail={"codes_left": len(unused) - 1},
    )
    db.session.flush()
    return "recovery"


def _claim(statement: Any) -> bool:
    """Run an UPDATE that spends a code; True if it changed a row (nobody spent it first)."""
    result = db.session.execute(statement, execution_options={"synchronize_session": "fetch"})
    return result.rowcount == 1
