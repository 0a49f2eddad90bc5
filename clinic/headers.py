"""Security headers sent with every response."""

from __future__ import annotations

from flask import Blueprint, Response

# Everything, scripts and styles included, comes from this site; no inline code runs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def no_store(response: Response) -> Response:
    """Keep a page with health data or a secret out of every cache: a shared computer's
    browser, a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def no_store_for(blueprint: Blueprint) -> None:
    """Send every page of this blueprint with `Cache-Control: no-store`."""
    blueprint.after_request(no_store)
