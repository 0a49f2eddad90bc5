"""Calendar files: a booking's .ics download and each user's private feed.

A feed URL holds a secret token: whoever has the URL reads the calendar, so the token has 256
bits of randomness, only its SHA-256 is stored (a copy of the database gives no working URL),
it is compared in constant time, it can be regenerated (the old URL stops working at once) and
it never reaches a log (clinic/secret_links.py).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from clinic import clock, secret_links
from clinic.audit.models import record as audit
from clinic.auth.forms import ConfirmForm
from clinic.auth.models import User
from clinic.booking.views import load_booking
from clinic.calendars.export import booking_filename, booking_ics, feed_ics
from clinic.calendars.models import CalendarFeed
from clinic.extensions import db
from clinic.i18n import speaking

bp = Blueprint("feeds", __name__)

# Calendar programs poll every few minutes to hours; recording every poll would write to the
# database on each one. Within this interval a read is not recorded again.
READ_MARK_INTERVAL = timedelta(hours=1)

# --- the feed token -------------------------------------------------------------------------


def issue_feed_token(user: User) -> tuple[CalendarFeed, str, bool]:
    """Give the user a new feed token, replacing any old one (whose URL stops working).

    Returns the feed, the token (shown once: only its hash is kept) and whether the feed is new.
    Only flushes; the view commits.
    """
    token, token_digest = secret_links.new_token()
    calendar_feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    created = calendar_feed is None
    if calendar_feed is None:
        calendar_feed = CalendarFeed(user_id=user.id)
        db.session.add(calendar_feed)
    calendar_feed.token_hash = token_digest
    calendar_feed.created_at = clock.utcnow()
    calendar_feed.last_read_at = None
    db.session.flush()
    return calendar_feed, token, created


def find_feed(token: str) -> CalendarFeed | None:
    """The feed of a token whose user may still use it, or None."""
    digest = secret_links.lookup_digest(token)
    if digest is None:
        return None
    found = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == digest))
    if found is None or not secret_links.same_digest(found.token_hash, digest):
        return None
    if not found.user.active:
        return None
    return found


def _mark_read(calendar_feed: CalendarFeed) -> bool:
    """Note when a calendar program last read the feed, at most once per READ_MARK_INTERVAL."""
    now = clock.utcnow()
    if (
        calendar_feed.last_read_at is not None
        and now - calendar_feed.last_read_at < READ_MARK_INTERVAL
    ):
        return False
    calendar_feed.last_read_at = now
    return True


# --- routes ---------------------------------------------------------------------------------


def _calendar_response(text: str, *, filename: str, attachment: bool) -> Response:
    response = Response(text, content_type="text/calendar; charset=utf-8")
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/bookings/<int:booking_id>.ics")
@login_required
def booking_download(booking_id: int) -> Response:
    """The booking's .ics, for its client, its therapist and admins; others get 404."""
    booking = load_booking(booking_id)
    with speaking(current_user):
        text = booking_ics(booking, for_therapist=current_user.id != booking.client_id)
    return _calendar_response(text, filename=booking_filename(booking), attachment=True)


@bp.get("/calendar/<token>.ics")
def feed(token: str) -> Response:
    """The private feed, in its user's language; an unknown, replaced or deleted token, or an
    inactive user: 404."""
    found = find_feed(token)
    if found is None:
        abort(404)
    with speaking(found.user):
        text = feed_ics(found.user)
    if _mark_read(found):
        db.session.commit()
    return _calendar_response(text, filename="lindring.ics", attachment=False)


@bp.get("/account/calendar")
@login_required
def settings() -> str:
    """Whether the user has a feed, and the buttons to create, replace or delete it."""
    return _settings_page(token=None)


@bp.post("/account/calendar/regenerate")
@login_required
def regenerate() -> Response:
    """Create the feed, or replace its token; the new URL is shown on this one page only."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    user = db.session.get(User, current_user.id)
    calendar_feed, token, created = issue_feed_token(user)
    audit(
        "calendar_feed.created" if created else "calendar_feed.regenerated",
        "calendar_feed",
        calendar_feed.id,
        actor_id=user.id,
        ip=request.remote_addr or "",
    )
    db.session.commit()
    response = Response(_settings_page(token=token, created=created))
    return response  # sent with no-store (clinic.headers): it carries the secret URL


@bp.post("/account/calendar/delete")
@login_required
def delete() -> WerkzeugResponse:
    """Remove the feed: its URL stops working and nothing is left to subscribe to."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    calendar_feed = db.session.scalar(
        select(CalendarFeed).where(CalendarFeed.user_id == current_user.id)
    )
    if calendar_feed is not None:
        audit(
            "calendar_feed.deleted",
            "calendar_feed",
            calendar_feed.id,
            actor_id=current_user.id,
            ip=request.remote_addr or "",
        )
        db.session.delete(calendar_feed)
        db.session.commit()
        flash(
            _(
                "Your calendar link is deleted: calendars subscribed to it get nothing more "
                "from us."
            ),
            "success",
        )
    return redirect(url_for("feeds.settings"))


def _settings_page(*, token: str | None, created: bool = False) -> str:
    calendar_feed = db.session.scalar(
        select(CalendarFeed).where(CalendarFeed.user_id == current_user.id)
    )
    url = url_for("feeds.feed", token=token, _external=True) if token else None
    return render_template(
        "calendars/feed.html",
        feed=calendar_feed,
        url=url,
        webcal=("webcal://" + url.split("://", 1)[1]) if url else None,
        created=created,
        form=ConfirmForm(),
    )
