"""Settings read from environment variables, with safe defaults.

Every variable is listed in the README. `load_config` is pure: it takes the environment as a
mapping so tests can pass their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

ENVIRONMENTS = ("development", "testing", "production")

# Only for development and testing; production refuses to start without SECRET_KEY.
INSECURE_DEV_SECRET = "lindring-insecure-development-key"  # noqa: S105 (dev only)


class ConfigError(RuntimeError):
    """The environment asks for something Lindring cannot start with."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"not a yes/no value: {value!r}")


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


# Abuse limits: (setting, default), each "N per PERIOD" (limits' notation, e.g. "10 per hour").
# Per IP address, and per account where one is known: the e-mail typed, or the signed-in user.
RATE_LIMITS = {
    "RATELIMIT_LOGIN_IP": "30 per 15 minutes",
    "RATELIMIT_LOGIN_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_REGISTER_IP": "10 per hour",
    "RATELIMIT_REGISTER_ACCOUNT": "5 per hour",
    "RATELIMIT_PASSWORD_RESET_IP": "10 per hour",
    "RATELIMIT_PASSWORD_RESET_ACCOUNT": "3 per hour",
    "RATELIMIT_TOKEN_IP": "30 per hour",
    "RATELIMIT_TOKEN_ACCOUNT": "10 per hour",
    "RATELIMIT_BOOKING_IP": "60 per hour",
    "RATELIMIT_BOOKING_ACCOUNT": "20 per hour",
}


def _rate(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must read like '10 per hour', not {value!r}") from None
    return value


def _rate_limit_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {
        # None: on, except under LINDRING_ENV=testing (resolved in clinic/ratelimits.py, after
        # a test's own settings), so the suite's many logins from 127.0.0.1 are not refused.
        "RATELIMIT_ENABLED": (
            _bool(environ["RATELIMIT_ENABLED"], True) if environ.get("RATELIMIT_ENABLED") else None
        ),
        # memory:// counts per process; with several app servers share redis://HOST:6379.
        "RATELIMIT_STORAGE_URI": environ.get("RATELIMIT_STORAGE_URI") or "memory://",
        # Failed logins for one account: this many within the window lock it for the duration.
        "LOGIN_LOCKOUT_THRESHOLD": _int(environ, "LOGIN_LOCKOUT_THRESHOLD", 5),
        "LOGIN_LOCKOUT_WINDOW": _int(environ, "LOGIN_LOCKOUT_WINDOW", 15 * 60),
        "LOGIN_LOCKOUT_DURATION": _int(environ, "LOGIN_LOCKOUT_DURATION", 15 * 60),
    }
    settings.update({name: _rate(environ, name, value) for name, value in RATE_LIMITS.items()})
    return settings


def normalise_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables.

    Raises ConfigError for an unknown LINDRING_ENV, a missing SECRET_KEY in production, or a
    malformed value.
    """
    environ = os.environ if environ is None else environ
    env = environ.get("LINDRING_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"LINDRING_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    production = env == "production"

    secret = environ.get("SECRET_KEY", "")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set when LINDRING_ENV=production")
        secret = INSECURE_DEV_SECRET

    timezone = environ.get("CLINIC_TIMEZONE", "Europe/Copenhagen")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"CLINIC_TIMEZONE is not a known time zone: {timezone!r}") from None

    default_locale = environ.get("DEFAULT_LOCALE", "en")
    if default_locale not in ("en", "da"):
        raise ConfigError(f"DEFAULT_LOCALE must be en or da, not {default_locale!r}")

    database_url = environ.get("DATABASE_URL", "")
    mail_backend = environ.get("MAIL_BACKEND", "smtp" if production else "console")
    if mail_backend not in ("console", "smtp", "file", "locmem"):
        raise ConfigError(f"MAIL_BACKEND must be console, smtp, file or locmem: {mail_backend!r}")

    return {
        "LINDRING_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": secret,
        # None means: SQLite in the instance folder, resolved by create_app.
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url) if database_url else None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "CLINIC_NAME": environ.get("CLINIC_NAME", "Demo clinic"),
        "CLINIC_TIMEZONE": timezone,
        "CLINIC_CURRENCY": environ.get("CLINIC_CURRENCY", "DKK"),
        # The language for a visitor whose browser asks for neither Danish nor English.
        "DEFAULT_LOCALE": default_locale,
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Where the site is, for links in e-mails written by commands run from cron.
        "PUBLIC_URL": environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        # The right-hand side of every calendar event's UID; set it once and never change it, or
        # subscribers see each booking twice. Empty: PUBLIC_URL's host.
        "CALENDAR_UID_DOMAIN": environ.get("CALENDAR_UID_DOMAIN", "").strip(),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host.
        "TRUSTED_PROXIES": _int(environ, "TRUSTED_PROXIES", 0),
        "MAX_CONTENT_LENGTH": _int(environ, "MAX_CONTENT_LENGTH", 1024 * 1024),
        # A form may have at most this many fields, and its text fields (not files) at most this
        # many bytes in memory; beyond either the answer is 413, never a 500.
        "MAX_FORM_PARTS": _int(environ, "MAX_FORM_PARTS", 200),
        "MAX_FORM_MEMORY_SIZE": _int(environ, "MAX_FORM_MEMORY_SIZE", 500 * 1024),
        "PASSWORD_HASH_METHOD": environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        "PASSWORD_RESET_MAX_AGE": _int(environ, "PASSWORD_RESET_MAX_AGE", 3600),
        "INVITATION_MAX_AGE": _int(environ, "INVITATION_MAX_AGE", 7 * 24 * 3600),
        "API_TOKEN_MAX_AGE": _int(environ, "API_TOKEN_MAX_AGE", 30 * 24 * 3600),
        # Admins must use two-factor sign-in. Unset: on, except under LINDRING_ENV=testing (read
        # in clinic/auth/two_factor.py after a test's own settings, like RATELIMIT_ENABLED).
        "ADMIN_TWO_FACTOR_REQUIRED": (
            _bool(environ["ADMIN_TWO_FACTOR_REQUIRED"], True)
            if environ.get("ADMIN_TWO_FACTOR_REQUIRED")
            else None
        ),
        # Seconds between a right password and the code of a two-factor login.
        "TWO_FACTOR_LOGIN_MAX_AGE": _int(environ, "TWO_FACTOR_LOGIN_MAX_AGE", 5 * 60),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "MAIL_BACKEND": mail_backend,
        "MAIL_SERVER": environ.get("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": _int(environ, "MAIL_PORT", 25),
        "MAIL_USERNAME": environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(environ.get("MAIL_USE_TLS"), False),
        "MAIL_USE_SSL": _bool(environ.get("MAIL_USE_SSL"), False),
        "MAIL_TIMEOUT": _int(environ, "MAIL_TIMEOUT", 10),
        "MAIL_DEFAULT_SENDER": environ.get("MAIL_DEFAULT_SENDER", "Lindring <noreply@localhost>"),
        "MAIL_FILE_PATH": environ.get("MAIL_FILE_PATH") or None,
        # Send queued e-mail once the answer to the request that committed it is sent; the
        # send-outbox command retries whatever failed.
        "MAIL_DELIVER_AFTER_REQUEST": _bool(environ.get("MAIL_DELIVER_AFTER_REQUEST"), True),
        # Fetching a therapist's external calendar (.ics URL): seconds before giving up, the
        # largest file accepted (also the largest upload), and whether addresses in private
        # networks may be fetched (never in production: it would let anyone probe the network
        # the server sits in; the tests fetch from 127.0.0.1).
        "CALENDAR_FETCH_TIMEOUT": _int(environ, "CALENDAR_FETCH_TIMEOUT", 10),
        "CALENDAR_FETCH_MAX_BYTES": _int(environ, "CALENDAR_FETCH_MAX_BYTES", 2 * 1024 * 1024),
        "CALENDAR_FETCH_ALLOW_PRIVATE": _bool(environ.get("CALENDAR_FETCH_ALLOW_PRIVATE"), False),
        **_rate_limit_settings(environ),
    }
