"""Security headers sent with every response."""

from __future__ import annotations

from flask import Response, g, request, session

# Everything, scripts and styles included, comes from this site; no inline code runs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# A year, the figure browsers' preload lists ask for; subdomains are not ours to promise.
HSTS = "max-age=31536000"

# The areas whose pages carry health data, personal data or a secret link, whoever asks
# (a secret link works without logging in). Every answer to a logged-in user is private too.
PRIVATE_AREAS = (
    "/account",
    "/admin",
    "/api",
    "/book",
    "/bookings",
    "/calendar",
    "/invitation",
    "/login",
    "/logout",
    "/my",
    "/password",
    "/register",
    "/screening",
    "/therapist",
    "/visit-check",
    "/waitlist",
)


def in_private_area(path: str) -> bool:
    """True for a path in one of PRIVATE_AREAS (the area itself or anything below it)."""
    return any(path == area or path.startswith(area + "/") for area in PRIVATE_AREAS)


# Files that are the same for everyone: a logged-in browser may keep them too.
SHARED_FILES = ("/assets/", "/static/", "/bootstrap/static/")


def _private(path: str) -> bool:
    if path.startswith(SHARED_FILES):
        return False
    return _logged_in() or in_private_area(path)


def _logged_in() -> bool:
    # The session and token first: asking a loaded user whether they are authenticated reads
    # the database again when the request has committed since (the user is expired then).
    if "_user_id" in session or g.get("api_token") is not None:
        return True
    # Only a user already loaded for this request: loading one here would query the database
    # while answering that the database is unavailable.
    user = g.get("_login_user")
    return user is not None and user.is_authenticated


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        # Only over HTTPS: a browser ignores it over http, and sending it from a development
        # server on http would be a lie. Behind a proxy, is_secure follows X-Forwarded-Proto
        # when TRUSTED_PROXIES is set.
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if _private(request.path):
        no_store(response)
    return response


def no_store(response: Response) -> Response:
    """Keep a page with health data or a secret out of every cache: a shared computer's
    browser, a proxy. add_security_headers calls it for every private answer; a view need not."""
    response.headers["Cache-Control"] = "no-store"
    return response
