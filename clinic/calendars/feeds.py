"""Calendar files: a booking's .ics download and each user's private feed."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feeds", __name__)
