"""The pre-visit health check linked from the reminder: three questions the day before a session."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("previsit", __name__)
