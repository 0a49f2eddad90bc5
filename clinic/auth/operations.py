"""Account operations. They flush; the view commits."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from clinic.auth.models import ApiToken, Role, User, normalise_email
from clinic.auth.passwords import hash_password, policy_problem
from clinic.extensions import db

RESET_SALT = "lindring.password-reset"


class AccountError(ValueError):
    """An account operation was refused; the message is fit to show."""


def create_user(
    *, email: str, name: str, password: str, role: Role = Role.CLIENT, phone: str = ""
) -> User:
    """Create an account after checking the password policy and that the e-mail is free."""
    problem = policy_problem(password, email=email, name=name)
    if problem:
        raise AccountError(problem)
    if User.by_email(email) is not None:
        raise AccountError(_("An account with this e-mail address already exists."))
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        phone=phone.strip(),
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Change the password, end every session holding the old login cookie, lift a lock."""
    problem = policy_problem(password, email=user.email, name=user.name)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(password)
    user.end_all_sessions()
    user.clear_login_failures()  # a new password lifts a lock
    db.session.flush()


def _password_fingerprint(user: User) -> str:
    # Binds a reset link to the current password, so a link works once and dies with a change.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User, secret_key: str, *, salt: str = RESET_SALT) -> str:
    """A signed link token bound to the current password; `salt` keeps kinds of links apart
    (a password reset, a therapist's invitation: auth/invitations.py)."""
    serializer = URLSafeTimedSerializer(secret_key, salt=salt)
    return serializer.dumps({"u": user.id, "p": _password_fingerprint(user)})


def user_for_reset_token(
    token: str, secret_key: str, max_age: int, *, salt: str = RESET_SALT
) -> User | None:
    """The user a reset link belongs to, or None when it is forged, expired or already used."""
    serializer = URLSafeTimedSerializer(secret_key, salt=salt)
    try:
        data = serializer.loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active or data.get("p") != _password_fingerprint(user):
        return None
    return user


def issue_api_token(user: User, *, now: datetime, max_age: timedelta) -> tuple[str, ApiToken]:
    """A new bearer token for the API: the token, to be shown once, and its stored row.

    Only the token's SHA-256 is stored, so a copy of the database gives no usable token.
    """
    token = secrets.token_urlsafe(32)  # 256 bits
    row = ApiToken(
        user=user, token_hash=ApiToken.hash(token), created_at=now, expires_at=now + max_age
    )
    db.session.add(row)
    db.session.flush()
    return token, row


def api_token_for(token: str, *, now: datetime) -> ApiToken | None:
    """The stored token a bearer token stands for, marked as used now.

    None when it is unknown, expired or revoked, or its user is no longer active.
    """
    row = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == ApiToken.hash(token))
        .options(joinedload(ApiToken.user))  # is_usable_at and every view need the user
    )
    if row is None or not row.is_usable_at(now):
        return None
    note_api_token_use(row, now=now)
    return row


def note_api_token_use(row: ApiToken, *, now: datetime) -> None:
    """Record when a token was last used, so a leaked or forgotten token shows."""
    row.last_used_at = now
    db.session.flush()


def revoke_api_token(row: ApiToken, *, now: datetime) -> None:
    """Make the token stop working from now on."""
    if row.revoked_at is None:
        row.revoked_at = now
    db.session.flush()
