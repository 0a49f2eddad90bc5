"""The password policy and hashing.

The common-password list is zxcvbn's (30,000 passwords seen most often in leaks).
"""

from __future__ import annotations

import re
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 128

# Checked against when an e-mail is unknown, so a failed login costs the same time either way.
_DUMMY_HASH_PASSWORD = "lindring-dummy-password-for-timing"  # noqa: S105 (never a real account)


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"]) | {"lindring", "massage", "backpain"}


def _is_repetition(text: str) -> str | None:
    """Return the repeated unit when text is one string several times ("abcabcabc")."""
    match = re.fullmatch(r"(.+?)\1+", text)
    return match.group(1) if match else None


def is_common(password: str) -> bool:
    """True for a well-known password, also with digits or symbols stuck on, or repeated."""
    lowered = password.lower()
    core = lowered.strip("0123456789!@#$%^&*()_-+=.?,;: ")
    if not core:
        # Nothing but digits and symbols: "123456789012" is as guessable as any list entry.
        return True
    candidates = {lowered, core}
    unit = _is_repetition(lowered)
    if unit:
        candidates.add(unit)
    common = _common_passwords()
    return any(c in common for c in candidates if c)


def policy_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why the password is not acceptable, or None when it is."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(num)d characters.", num=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(num)d characters.", num=MAX_LENGTH)
    if is_common(password):
        return _("This password is too common; choose one that others are unlikely to use.")
    lowered = password.lower()
    for personal in (email.strip().lower(), email.split("@")[0].lower(), name.strip().lower()):
        if len(personal) >= 4 and lowered == personal:
            return _("Do not use your name or e-mail address as your password.")
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown account) spend the same effort and say no."""
    if password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)


def _dummy_hash() -> str:
    cached = current_app.extensions.get("lindring_dummy_hash")
    if cached is None:
        cached = hash_password(_DUMMY_HASH_PASSWORD)
        current_app.extensions["lindring_dummy_hash"] = cached
    return cached
