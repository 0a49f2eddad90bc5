"""Security headers sent with every response."""

from __future__ import annotations

from flask import Blueprint, Response, g, request, session

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
    "/my",
    "/password",
    "/register",
    "/screening",
    "/therapist",
    "/visit-check",
    "/waitlist",
)


def _private(path: str) -> bool:
    if _logged_in():
        return True
    return any(path == area or path.startswith(area + "/") for area in PRIVATE_AREAS)


def _logged_in() -> bool:
    # Only a user already loaded for this request: loading one here would query the database
    # while answering that the database is unavailable.
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        return True
    return "_user_id" in session or g.get("api_token") is not None


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
    browser, a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def no_store_for(blueprint: Blueprint) -> None:
    """Send every page of this blueprint with `Cache-Control: no-store`."""
    blueprint.after_request(no_store)
