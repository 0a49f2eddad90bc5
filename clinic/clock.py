"""The one place Lindring reads the time, so tests can move the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def local_today(timezone: str) -> date:
    """Today's date on the clinic's wall calendar."""
    return utcnow().astimezone(ZoneInfo(timezone)).date()
