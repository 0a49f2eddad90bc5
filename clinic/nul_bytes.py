"""Requests carrying a NUL character are refused with 400 before any view reads them.

No form, link or API client of ours sends one, and PostgreSQL cannot store or even compare
text holding one: a NUL in a name, a search or a JSON string ended in a 500 there, while
SQLite quietly stored it. Files uploaded as multipart parts are left alone (calendar files
are read as bytes).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

bp = Blueprint("nul_bytes", __name__)

NUL = "\x00"

# Calendar uploads set their own, larger body limit inside the view; reading the form here
# would apply the app-wide limit first and refuse a calendar file the view would take.
READS_ITS_OWN_BODY = {
    "calendar_sources.my_upload",
    "calendar_sources.my_replace",
    "calendar_sources.therapist_upload",
    "calendar_sources.therapist_replace",
}


def holds_nul(value: Any) -> bool:
    """Whether a NUL is anywhere in `value`: text, or JSON's lists and objects (keys too)."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


@bp.before_app_request
def refuse_nul() -> None:
    """400 for a NUL in the path, the query, a form field, a header or a JSON body."""
    if NUL in request.path or _pairs_hold_nul(request.args.items(multi=True)):
        abort(400)
    if _pairs_hold_nul(request.headers.items()):
        abort(400)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and (
        request.endpoint not in READS_ITS_OWN_BODY
    ):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if _pairs_hold_nul(request.form.items(multi=True)):
                abort(400)
        elif holds_nul(request.get_json(force=True, silent=True)):
            abort(400)


def _pairs_hold_nul(pairs: Any) -> bool:
    return any(NUL in key or NUL in value for key, value in pairs)
