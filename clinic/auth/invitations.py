"""Invitations: an account made by the clinic (a therapist's) gets a link to choose a password.

No schema of its own. Until the person chooses a password the account holds an unusable one,
marked with UNSET_PREFIX (no password hash starts with "!", so nothing ever matches it). The
link is the signed password-reset token under its own salt and lifetime: bound to that
marker, it dies when the password is set, and also when the clinic sends a new invitation,
which draws a new marker.
"""

from __future__ import annotations

import secrets

from flask import current_app

from clinic.audit.models import record as audit
from clinic.auth.models import User
from clinic.auth.operations import make_reset_token, set_password, user_for_reset_token
from clinic.extensions import db

INVITATION_SALT = "lindring.invitation"
UNSET_PREFIX = "!unset!"


def unusable_password() -> str:
    """A password hash no password matches, new each time (so a new one voids old links)."""
    return UNSET_PREFIX + secrets.token_hex(16)


def awaits_password(user: User) -> bool:
    """True while an invited person has not yet chosen their password."""
    return user.password_hash.startswith(UNSET_PREFIX)


def max_age() -> int:
    """Seconds a link works: INVITATION_MAX_AGE, a week by default (work mail waits for Monday)."""
    return int(current_app.config["INVITATION_MAX_AGE"])


def make_invitation_token(user: User) -> str:
    return make_reset_token(user, current_app.config["SECRET_KEY"], salt=INVITATION_SALT)


def user_for_invitation_token(token: str) -> User | None:
    """The invited user of a link, or None when it is forged, expired, replaced or used."""
    user = user_for_reset_token(
        token, current_app.config["SECRET_KEY"], max_age(), salt=INVITATION_SALT
    )
    if user is None or not awaits_password(user):
        return None
    return user


def renew_marker(user: User) -> None:
    """Draw a new unusable password, so that links sent before stop working."""
    user.password_hash = unusable_password()
    db.session.flush()


def accept_invitation(user: User, password: str, *, ip: str = "") -> None:
    """Set the invited user's first password. Raises AccountError for a weak password."""
    set_password(user, password)
    audit("user.invitation_accepted", "user", user.id, actor_id=user.id, ip=ip)
