"""External calendars that block a therapist's time: importing an .ics file or address (fetched
safely by clinic/calendars/fetch.py), storing its busy time in place of the previous import.

A calendar's URL is usually a secret (whoever has it reads the calendar), so it is never logged,
audited or printed: people see only its host (`url_host`).

An error is stored on the source as text, in the language it was made in: the request's when a
person imports, DEFAULT_LOCALE when cron does.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import click
from babel.numbers import format_decimal
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from clinic import clock
from clinic.audit.models import record as audit
from clinic.auth.models import User
from clinic.calendars import ics
from clinic.calendars.fetch import FetchError, download, url_host
from clinic.calendars.models import BusyTime, CalendarSource
from clinic.database import begin_write
from clinic.extensions import db
from clinic.i18n import current_locale
from clinic.scheduling.models import ClinicPolicy
from clinic.text import N_

log = logging.getLogger(__name__)


# What is imported: from a week back (the therapist's calendar shows the whole current week) to
# a week past the booking horizon (a search reads a little beyond its last day).
IMPORT_PAST = timedelta(days=7)
IMPORT_MARGIN = timedelta(days=7)
# No stored busy time is longer than this: longer events (a holiday) are stored in pieces, so
# that the slot search reads an index range bounded from below, as it does for bookings.
MAX_BUSY_PIECE = timedelta(days=7)

NOT_A_CALENDAR = N_("The file could not be read as a calendar.")


class SourceError(Exception):
    """A calendar that could not be imported; the message is for people."""


# --- storing ----------------------------------------------------------------------------------


def import_window(now: datetime, policy: ClinicPolicy) -> tuple[datetime, datetime]:
    """The stretch of time whose busy events are stored."""
    return now - IMPORT_PAST, now + timedelta(days=policy.horizon_days) + IMPORT_MARGIN


def _pieces(busy: ics.Busy) -> list[tuple[datetime, datetime]]:
    pieces = []
    start = busy.start
    while busy.end - start > MAX_BUSY_PIECE:
        pieces.append((start, start + MAX_BUSY_PIECE))
        start += MAX_BUSY_PIECE
    pieces.append((start, busy.end))
    return pieces


def shown(text: object) -> str:
    """A message of the pure parser (an ics.Phrase, with its parts) in the current language."""
    if isinstance(text, ics.Phrase):
        values = {key: shown(value) for key, value in text.values.items()}
        return _(text.template, **values) if values else _(text.template)
    if isinstance(text, int):
        return format_decimal(text, locale=current_locale())
    return str(text)


def record_failure(source: CalendarSource, message: str, *, now: datetime) -> str:
    """Note a failed attempt on the source; its busy time stays as last imported."""
    source.last_attempt_at = now
    source.last_error = message
    db.session.flush()
    return message


def import_source(source: CalendarSource, data: bytes, *, now: datetime) -> str | None:
    """Replace the busy time of `source` (already flushed) by that of `data`, an iCalendar
    file, over the import window. Returns None, or the error for people: then the previous
    import is kept and the error recorded on the source. Only flushes; the caller commits.
    (A feed that expands to more than ics.MAX_OCCURRENCES events is refused by the parser.)
    """
    start, end = import_window(now, ClinicPolicy.current())
    timezone = current_app.config["CLINIC_TIMEZONE"]
    try:
        found = ics.parse_busy(data, start=start, end=end, timezone=timezone)
    except ics.IcsError as exc:
        return record_failure(source, shown(exc.phrase) or _(NOT_A_CALENDAR), now=now)
    except Exception:
        # Someone else's file must not turn into an error page; the log keeps the details.
        log.exception("calendar source %s: the parser failed", source.id)
        return record_failure(source, _(NOT_A_CALENDAR), now=now)
    busy_times = [busy for busy in found if busy.end > busy.start]  # an instant blocks nothing
    db.session.execute(delete(BusyTime).where(BusyTime.source_id == source.id))
    rows = [
        {
            "source_id": source.id,
            "therapist_id": source.therapist_id,
            "starts_at": piece_start,
            "ends_at": piece_end,
            "all_day": busy.all_day,
        }
        for busy in busy_times
        for piece_start, piece_end in _pieces(busy)
    ]
    if rows:
        db.session.execute(insert(BusyTime), rows)
    source.last_attempt_at = now
    source.last_success_at = now
    source.last_error = ""
    source.event_count = len(busy_times)
    db.session.flush()
    return None


def download_unlocked(url: str) -> bytes:
    """download(), with no database transaction open while waiting on someone else's server
    (on SQLite a writing request holds the database's one write lock). The session's
    transaction is ended first, so nothing may be pending, and a writing one is opened after:
    objects loaded before are reloaded on their next use. Raises FetchError.
    """
    db.session.rollback()
    try:
        return download(url)
    finally:
        begin_write()


def _detail(source: CalendarSource, **extra: Any) -> dict[str, Any]:
    # Never the URL itself: it is the calendar's secret.
    return {
        "therapist_id": source.therapist_id,
        "name": source.name,
        "kind": "url" if source.url else "file",
        "host": url_host(source.url),
        **extra,
    }


def add_source(
    therapist_id: int,
    name: str,
    data: bytes,
    *,
    url: str | None,
    by: User,
    now: datetime,
    ip: str = "",
) -> CalendarSource:
    """A new source (`url` None for an uploaded file) with its first import of `data`.

    Raises SourceError when `data` cannot be imported; the caller rolls back, so nothing is
    kept of a calendar that never worked. Only flushes.
    """
    source = CalendarSource(therapist_id=therapist_id, name=name, url=url)
    db.session.add(source)
    db.session.flush()
    error = import_source(source, data, now=now)
    if error is not None:
        raise SourceError(error)
    audit(
        "calendar_source.added",
        "calendar_source",
        source.id,
        actor_id=by.id,
        ip=ip,
        detail=_detail(source, busy_times=source.event_count),
    )
    return source


def replace_upload(
    source: CalendarSource, data: bytes, *, by: User, now: datetime, ip: str = ""
) -> str | None:
    """Import a new file for an uploaded source. Returns None, or the error for people (the
    previous import is kept). Only flushes."""
    error = import_source(source, data, now=now)
    if error is None:
        audit(
            "calendar_source.uploaded",
            "calendar_source",
            source.id,
            actor_id=by.id,
            ip=ip,
            detail=_detail(source, busy_times=source.event_count),
        )
    return error


def delete_source(source: CalendarSource, *, by: User, ip: str = "") -> None:
    """Remove the source and, by the foreign key's cascade, its busy time. Only flushes."""
    audit(
        "calendar_source.deleted",
        "calendar_source",
        source.id,
        actor_id=by.id,
        ip=ip,
        detail=_detail(source),
    )
    db.session.delete(source)
    db.session.flush()


def refresh(source_id: int, *, now: datetime) -> tuple[CalendarSource, str | None] | None:
    """Fetch a URL source again and import it: the source and its error, or None. None when
    the source is gone or is an uploaded file. Ends the session's transaction while fetching
    (see download_unlocked); only flushes after."""
    url = db.session.scalar(select(CalendarSource.url).where(CalendarSource.id == source_id))
    if url is None:
        return None
    data: bytes | None = None
    try:
        data = download_unlocked(url)
        error = None
    except FetchError as exc:
        error = str(exc)
    # Locked, so that two servers refreshing the same source at once take turns instead of
    # both replacing its busy time (PostgreSQL; SQLite's writers take turns anyway).
    source = db.session.get(CalendarSource, source_id, with_for_update=True, populate_existing=True)
    if source is None:
        return None  # deleted while we waited
    if data is None:
        record_failure(source, error or _(NOT_A_CALENDAR), now=now)
    else:
        error = import_source(source, data, now=now)
    return source, error


def refresh_all(now: datetime) -> list[tuple[CalendarSource, str | None]]:
    """Fetch and import every URL source, each in a transaction of its own, so that one failure
    undoes nothing of the others. Returns each source with its error, or None. Commits.
    """
    ids = list(
        db.session.scalars(
            select(CalendarSource.id)
            .where(CalendarSource.url.is_not(None))
            .order_by(CalendarSource.id)
        )
    )
    results = []
    for source_id in ids:
        outcome = refresh(source_id, now=now)
        db.session.commit()
        if outcome is not None:
            results.append(outcome)
    return results


@click.command("import-calendars")
@with_appcontext
def import_calendars_command() -> None:
    """Refresh every external calendar given by URL (run it from cron); exits 1 when one failed.

    A failed calendar keeps its last good import.
    """
    results = refresh_all(clock.utcnow())
    for source, error in results:
        where = url_host(source.url)
        label = f"#{source.id} {source.therapist.name}: {source.name} ({where})"
        if error is None:
            click.echo(f"ok      {label}: {source.event_count} busy time(s)")
        else:
            click.echo(f"FAILED  {label}: {error}")
    failed = sum(1 for _, error in results if error is not None)
    click.echo(f"Imported {len(results) - failed} calendar(s), {failed} failed.")
    if failed:
        raise SystemExit(1)
