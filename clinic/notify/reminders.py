"""The reminder e-mail a client gets 24 hours before each confirmed session.

Only confirmed bookings are reminded: a pending one may still be refused after the review, and
it expires 24 hours before it starts anyway. The reminder carries the time, the place, the
technique, the therapist, a link and the cancellation policy, never health data. It also
carries the link to the pre-visit check (clinic/booking/previsit.py), made in the same
transaction: a reminder and its check exist together or not at all.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import select, update

from clinic.booking.models import Booking, BookingStatus
from clinic.booking.previsit_checks import issue_check
from clinic.database import begin_write
from clinic.extensions import db
from clinic.i18n import current_locale, speaking
from clinic.notify.outbox import queue_email, render_email
from clinic.templating import format_local_datetime

REMIND_BEFORE = timedelta(hours=24)


def queue_due_reminders(now: datetime) -> int:
    """Queue a reminder for each confirmed booking that starts in (now, now + 24 h] and has
    none yet; return how many were queued.

    Each booking is claimed with a conditional UPDATE of `reminder_queued_at` in the same
    transaction as its e-mail, so two runs at once never queue two reminders: on PostgreSQL
    the second UPDATE waits for the first transaction and then finds the column set; on SQLite
    writers take turns. Flushes only; the caller commits (or rolls back both together).
    Outside a request the links point at PUBLIC_URL.
    """
    begin_write()
    due = db.session.scalars(
        select(Booking.id).where(*_due(now)).order_by(Booking.starts_at, Booking.id)
    ).all()
    links = (
        nullcontext()
        if has_request_context()
        else current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"])
    )
    queued = 0
    with links:
        for booking_id in due:
            claimed = db.session.execute(
                update(Booking)
                .where(Booking.id == booking_id, *_due(now))
                # A reminder is no change to the booking: its calendar stamp stays as it was.
                .values(reminder_queued_at=now, updated_at=Booking.updated_at)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                continue
            booking = db.session.get(Booking, booking_id, populate_existing=True)
            _queue_reminder(booking, now)
            queued += 1
    db.session.flush()
    return queued


def _due(now: datetime) -> tuple:
    return (
        Booking.status == BookingStatus.CONFIRMED,
        Booking.reminder_queued_at.is_(None),
        Booking.starts_at > now,
        Booking.starts_at <= now + REMIND_BEFORE,
    )


def _queue_reminder(booking: Booking, now: datetime) -> None:
    token = issue_check(booking, now)
    with speaking(booking.client):
        text, html = render_email(
            "booking/email/reminder",
            booking=booking,
            link=url_for("booking.show", booking_id=booking.id, _external=True),
            check_link=url_for("previsit.check", token=token, _external=True),
            can_change=now < booking.cutoff_at(),
        )
        when = format_local_datetime(
            booking.starts_at, current_app.config["CLINIC_TIMEZONE"], current_locale()
        )
        subject = _("Reminder: your session on %(when)s", when=when)
    queue_email(booking.client.email, subject, text, html)
