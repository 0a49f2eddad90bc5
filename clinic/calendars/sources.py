"""External calendars a therapist connects: upload an .ics file or give its URL."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calendar_sources", __name__)
