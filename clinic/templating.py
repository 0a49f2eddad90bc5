"""Filters and values every template can use."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel.numbers import format_currency
from flask import Flask, current_app
from flask_babel import ngettext

from clinic.i18n import current_locale


def format_money(minor: int, currency: str = "DKK", locale: str = "en") -> str:
    """650_00 -> 'DKK 650' (English) or '650 kr.' (Danish); keeps the øre only when there are
    some."""
    whole, cents = divmod(minor, 100)
    if locale != "en":
        pattern = "#,##0 ¤" if not cents else "#,##0.00 ¤"
        return format_currency(
            Decimal(minor) / 100, currency, format=pattern, locale=locale, currency_digits=False
        )
    amount = f"{whole:,}" if not cents else f"{whole:,}.{cents:02d}"
    return f"{currency} {amount}"


def format_date(value: date, locale: str = "en") -> str:
    """'Monday 29 March 2027', or 'mandag 29. marts 2027' in Danish."""
    if locale != "en":
        return babel_dates.format_date(value, "EEEE d. MMMM y", locale=locale)
    return f"{value:%A} {value.day} {value:%B %Y}"


def format_day_name(value: date, locale: str = "en") -> str:
    """A day in a calendar's heading: 'Monday 29 March', or 'mandag 29. marts'."""
    if locale != "en":
        return babel_dates.format_date(value, "EEEE d. MMMM", locale=locale)
    return f"{value:%A} {value.day} {value:%B}"


def format_local_datetime(value: datetime, timezone: str, locale: str = "en") -> str:
    """An instant on the clinic's clock with its zone: '29 March 2027, 09:00 CEST', or
    '29. marts 2027 kl. 09:00 CEST'."""
    local = value.astimezone(ZoneInfo(timezone))
    if locale != "en":
        shown = babel_dates.format_datetime(local, "d. MMMM y 'kl.' HH:mm", locale=locale)
        return f"{shown} {local.tzname()}"
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}"


def format_age(delta: timedelta) -> str:
    """How long something has waited, roughly: '45 minutes', '5 hours', '3 days' (in the
    request's language)."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes >= 1440:
        return ngettext("%(num)d day", "%(num)d days", minutes // 1440)
    if minutes >= 60:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def init_app(app: Flask) -> None:
    app.add_template_filter(format_age, "age")

    @app.template_filter("money")
    def money(minor: int) -> str:
        return format_money(minor, current_app.config["CLINIC_CURRENCY"], current_locale())

    @app.template_filter("longdate")
    def longdate(value: date) -> str:
        return format_date(value, current_locale())

    @app.template_filter("dayname")
    def dayname(value: date) -> str:
        return format_day_name(value, current_locale())

    @app.template_filter("localtime")
    def localtime(value: datetime) -> str:
        return format_local_datetime(value, current_app.config["CLINIC_TIMEZONE"], current_locale())

    @app.template_filter("localclock")
    def localclock(value: datetime) -> str:
        """Just the wall-clock time, for lists under a day heading: '09:15'."""
        return value.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).strftime("%H:%M")

    @app.template_filter("longdate_of")
    def longdate_of(value: datetime) -> str:
        """The clinic's calendar day of an instant: 'Monday 29 March 2027'."""
        day = value.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).date()
        return format_date(day, current_locale())

    @app.template_filter("zonename")
    def zonename(value: datetime) -> str:
        return value.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).tzname() or ""

    @app.context_processor
    def clinic_values() -> dict[str, Any]:
        return {"clinic_name": current_app.config["CLINIC_NAME"]}
