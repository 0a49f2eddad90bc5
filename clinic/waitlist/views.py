"""The waitlist pages: a client's entries, joining, leaving and claiming; the admin's list."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("waitlist", __name__)
