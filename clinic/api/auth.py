"""Bearer-token authentication for the API.

Only the `Authorization: Bearer <token>` header counts. The browser's session cookie is never
looked at, so a page on another site cannot make a logged-in browser call the API (no CSRF).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from clinic import clock
from clinic.api import ApiError
from clinic.auth import operations
from clinic.auth.models import ApiToken, Role, User
from clinic.database import begin_write

F = TypeVar("F", bound=Callable[..., Any])

# A token from issue_api_token is 43 characters; anything far longer is not one of ours.
_MAX_TOKEN_LENGTH = 200


def _unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "Send a valid API token as 'Authorization: Bearer <token>'; get one from "
        "POST /api/v1/tokens.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    return token


def bearer_required(*roles: Role) -> Callable[[F], F]:
    """Let in calls with a usable bearer token, of a user with one of `roles` (any when none).

    Raises ApiError: 401 without a usable token, 403 for a user of another role. The token's
    last use is recorded in the request's transaction.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            # The call records the token's use, so it writes: open as a writer (SQLite).
            begin_write()
            token = _bearer_token()
            row = operations.api_token_for(token, now=clock.utcnow()) if token else None
            if row is None:
                raise _unauthorized()
            g.api_token = row
            g.api_user_id = row.user_id  # for the request log, read before any commit expires it
            if roles and row.user.role not in roles:
                raise ApiError(403, "forbidden", "Your account cannot do this.")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def current_token() -> ApiToken:
    """The token the current call was made with (inside a bearer_required view)."""
    return g.api_token


def api_user() -> User:
    """The user of the current call (inside a bearer_required view)."""
    return g.api_token.user
