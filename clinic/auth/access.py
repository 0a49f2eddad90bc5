"""Who may do what: the role decorator, the login loader, starting a session and safe
redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, session, url_for
from flask_login import current_user, login_required, login_user

from clinic.auth.models import Role, User
from clinic.extensions import db, login_manager
from clinic.i18n import LOCALES, SESSION_KEY

F = TypeVar("F", bound=Callable[..., Any])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Find the user of a login cookie; a cookie from before logout or a password change fails."""
    raw_id, _, token = user_id.partition(":")
    if not raw_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or not user.active or not user.matches_session(token):
        return None
    return user


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Let in logged-in users with one of the roles; others get 403 (anonymous: the login page)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def is_safe_next(target: str | None) -> bool:
    """True only for a path on this site: no scheme, no host, no protocol-relative tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def start_session(user: User) -> None:
    """Log the user in with a fresh session: nothing from before it (a planted id) survives,
    except the language chosen with the switch, which becomes the account's if it has none."""
    chosen = session.get(SESSION_KEY)
    session.clear()
    if chosen in LOCALES:
        session[SESSION_KEY] = chosen
        if user.locale is None:
            user.locale = chosen
            db.session.commit()
    login_user(user)


def home_for(user: User) -> str:
    """Where a user lands after logging in when no page asked for them: admins on theirs."""
    return url_for("admin.dashboard") if user.is_admin else url_for("catalog.home")
