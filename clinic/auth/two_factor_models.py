"""Two-factor sign-in: a user's authenticator secret and their one-time recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime


class TwoFactor(db.Model):
    """A user's TOTP secret: set up (enabled_at empty) until a first correct code switches it on.

    The secret is stored encrypted (clinic/auth/totp.py); `last_used_step` is the 30-second step
    of the last code accepted, so the same code cannot be used twice.
    """

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_step: Mapped[int | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<TwoFactor user={self.user_id} {'on' if self.enabled_at else 'pending'}>"

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None


class RecoveryCode(db.Model):
    """One recovery code, as its SHA-256 only; `used_at` is set when it is spent."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} user={self.user_id}>"


def two_factor_of(user_id: int) -> TwoFactor | None:
    """The user's two-factor row, switched on or only set up, or None."""
    return db.session.get(TwoFactor, user_id)


def has_two_factor(user_id: int) -> bool:
    """True when the user must give a code after the password."""
    row = two_factor_of(user_id)
    return row is not None and row.enabled


def unused_recovery_codes(user_id: int) -> list[RecoveryCode]:
    return list(
        db.session.scalars(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        )
    )
