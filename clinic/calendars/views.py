"""The therapist's calendar (week and day) and the clinic's day view."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calendar", __name__)
