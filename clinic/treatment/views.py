"""The therapist's treatment note, aftercare and plan after a session; the client's aftercare."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("treatment", __name__)
