"""Time-based one-time codes (RFC 6238) and recovery codes: pure functions over plain values.

Codes are 6 digits for 30-second steps; a code of the step before or after the current one is
accepted too (phones' clocks drift), but never a step at or before the last one used, so a code
that was seen once cannot be replayed. The secret is kept encrypted with a key derived from the
app's SECRET_KEY, so a copy of the database alone does not give it away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# 16 characters of base32: 80 bits each, so a plain SHA-256 of one is safe to store.
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_RECOVERY_LENGTH = 16


class SecretUnreadable(ValueError):
    """A stored secret does not decrypt with this key (SECRET_KEY changed, or tampering)."""


def new_secret() -> str:
    """A fresh base32 secret of 160 bits, as authenticator apps expect."""
    return pyotp.random_base32(32)


def step_at(moment: datetime) -> int:
    """The number of the 30-second step `moment` falls in."""
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    """The code of `step` for this secret."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def normalise_code(typed: str) -> str:
    """What was typed with spaces and dashes taken out, lower-case (apps show '123 456')."""
    return "".join(ch for ch in typed if ch not in " -\t").lower()


def looks_like_totp(code: str) -> bool:
    """Six ASCII digits (after `normalise_code`)."""
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, typed: str, now: datetime, last_used_step: int | None) -> int | None:
    """The step whose code was typed, or None: wrong, too old or too new, or already used.

    Every candidate step is compared in constant time, so the answer takes as long either way.
    """
    code = normalise_code(typed)
    if not looks_like_totp(code):
        return None
    current = step_at(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step), code) and found is None:
            found = step
    if found is None or (last_used_step is not None and found <= last_used_step):
        return None
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// link an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data: URI for an <img> (the CSP allows data: images).

    The SVG is made of a rect and a path with fill attributes: no style, no script.
    """
    image = qrcode.make(
        text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=4
    )
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- keeping the secret -------------------------------------------------------------------


def _fernet(app_secret: str) -> Fernet:
    # A key of its own for this purpose, derived from SECRET_KEY, so no other use of
    # SECRET_KEY (session signing, reset links) can be turned into this one.
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"lindring two-factor secret"
    ).derive(app_secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str, app_secret: str) -> str:
    """The secret encrypted (and authenticated) for storage."""
    return _fernet(app_secret).encrypt(secret.encode()).decode("ascii")


def decrypt_secret(stored: str, app_secret: str) -> str:
    """The secret back from `encrypt_secret`; raises SecretUnreadable if the key is not the same."""
    try:
        return _fernet(app_secret).decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable("the two-factor secret does not decrypt with this key") from None


# --- recovery codes -----------------------------------------------------------------------


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """`count` fresh codes like 'abcd-efgh-ijkl-mnop'."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def hash_recovery_code(typed: str) -> str:
    """The SHA-256 a recovery code is stored as; spaces, dashes and case do not matter."""
    return hashlib.sha256(normalise_code(typed).encode()).hexdigest()


def looks_like_recovery_code(typed: str) -> bool:
    code = normalise_code(typed)
    return len(code) == _RECOVERY_LENGTH and all(ch in _RECOVERY_ALPHABET for ch in code)
