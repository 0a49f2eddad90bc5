"""Filters and values every template can use."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app


def format_money(minor: int, currency: str = "DKK") -> str:
    """650_00 -> 'DKK 650'; keeps the øre only when there are some."""
    whole, cents = divmod(minor, 100)
    amount = f"{whole:,}" if not cents else f"{whole:,}.{cents:02d}"
    return f"{currency} {amount}"


def format_date(value: date) -> str:
    """'Monday 29 March 2027'."""
    return f"{value:%A} {value.day} {value:%B %Y}"


def format_local_datetime(value: datetime, timezone: str) -> str:
    """An instant on the clinic's clock with its zone: '29 March 2027, 09:00 CEST'."""
    local = value.astimezone(ZoneInfo(timezone))
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}"


def format_age(delta: timedelta) -> str:
    """How long something has waited, roughly: '45 minutes', '5 hours', '3 days'."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    for unit, size in (("day", 1440), ("hour", 60)):
        if minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def init_app(app: Flask) -> None:
    app.add_template_filter(format_age, "age")

    @app.template_filter("money")
    def money(minor: int) -> str:
        return format_money(minor, current_app.config["CLINIC_CURRENCY"])

    @app.template_filter("longdate")
    def longdate(value: date) -> str:
        return format_date(value)

    @app.template_filter("localtime")
    def localtime(value: datetime) -> str:
        return format_local_datetime(value, current_app.config["CLINIC_TIMEZONE"])

    @app.template_filter("localclock")
    def localclock(value: datetime) -> str:
        """Just the wall-clock time, for lists under a day heading: '09:15'."""
        return value.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).strftime("%H:%M")

    @app.template_filter("longdate_of")
    def longdate_of(value: datetime) -> str:
        """The clinic's calendar day of an instant: 'Monday 29 March 2027'."""
        return format_date(value.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).date())

    @app.template_filter("zonename")
    def zonename(value: datetime) -> str:
        return value.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).tzname() or ""

    @app.context_processor
    def clinic_values() -> dict[str, Any]:
        return {"clinic_name": current_app.config["CLINIC_NAME"]}
