"""User accounts and roles."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime


class Role(enum.StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"
    ADMIN = "admin"


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def normalise_email(email: str) -> str:
    """E-mail addresses are unique regardless of case, so they are stored lower-case."""
    return email.strip().lower()


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=Role.CLIENT,
    )
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login cookie; rotating it ends every session that holds the old value.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the client deleted their account: the row stays, emptied of personal data, so
    # past bookings still count in the reports.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Failed logins since `failed_login_since`; enough of them lock logins until
    # `locked_until` (rules in auth/lockout.py). Reset by a good login or a new password.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_login_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language the user chose ("en" or "da"); None: the browser's (clinic/i18n.py).
    locale: Mapped[str | None] = mapped_column(String(8))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def matches_session(self, token: str) -> bool:
        return hmac.compare_digest(self.session_token.encode(), token.encode())

    def end_all_sessions(self) -> None:
        """Make every login cookie of this user stop working (logout, password change)."""
        self.session_token = new_session_token()

    def clear_login_failures(self) -> None:
        """Forget failed logins and lift a lock (a good login, a new password)."""
        self.failed_logins = 0
        self.failed_login_since = None
        self.locked_until = None

    @property
    def is_client(self) -> bool:
        return self.role is Role.CLIENT

    @property
    def is_therapist(self) -> bool:
        return self.role is Role.THERAPIST

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.email == normalise_email(email)))


class ApiToken(db.Model):
    """A bearer token for the JSON API: stored as its SHA-256 only, expiring, revocable."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id}>"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def is_usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at and self.user.active
