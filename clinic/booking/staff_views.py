"""The staff's lists: a therapist's own sessions, every booking for the clinic, and the count
of pending bookings on the admin dashboard.

Routes are added to the booking blueprint; clinic/__init__.py imports this module once,
before the blueprint is registered.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from clinic import clock
from clinic.auth.access import roles_required
from clinic.auth.models import Role
from clinic.booking.models import Booking, BookingStatus
from clinic.booking.views import bp
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.paging import read_page

# How far back a therapist's list reaches.
RECENT_SESSIONS = timedelta(days=30)
ADMIN_PAGE_SIZE = 50


@bp.route("/therapist/sessions")
@roles_required(Role.THERAPIST)
def sessions() -> str:
    """The therapist's own sessions: upcoming ones, then the last 30 days. Five queries."""
    now = clock.utcnow()
    therapist_id = db.session.scalar(
        select(Therapist.id).where(Therapist.user_id == current_user.id)
    )
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.therapist_id == therapist_id, Booking.ends_at > now - RECENT_SESSIONS)
            .options(
                selectinload(Booking.client),
                selectinload(Booking.technique),
                selectinload(Booking.room),
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )
    upcoming = [b for b in bookings if b.ends_at > now]
    recent = [b for b in reversed(bookings) if b.ends_at <= now]
    return render_template("booking/sessions.html", upcoming=upcoming, recent=recent, now=now)


@bp.route("/admin/bookings")
@roles_required(Role.ADMIN)
def admin_list() -> str:
    """Every booking, pending ones first (soonest first), then the rest newest first."""
    timezone = current_app.config["CLINIC_TIMEZONE"]
    notes: list[str] = []
    status = request.args.get("status", "")
    stmt = select(Booking)
    if status in {s.value for s in BookingStatus}:
        stmt = stmt.where(Booking.status == BookingStatus(status))
    elif status:
        notes.append(_("Unknown status; showing all bookings."))
        status = ""
    day: date | None = None
    if request.args.get("day"):
        try:
            day = date.fromisoformat(request.args["day"])
            zone = ZoneInfo(timezone)
            start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        except (ValueError, OverflowError):  # OverflowError: 0001-01-01 or 9999-12-31
            day = None
            notes.append(_("That date could not be read (use YYYY-MM-DD); showing all dates."))
        else:
            stmt = stmt.where(Booking.starts_at >= start, Booking.starts_at < end)
    is_pending = Booking.status == BookingStatus.PENDING
    stmt = stmt.options(
        selectinload(Booking.client),
        selectinload(Booking.technique),
        selectinload(Booking.room),
        selectinload(Booking.therapist).selectinload(Therapist.user),
    ).order_by(
        case((is_pending, 0), else_=1),
        # Pending: the soonest first, as it expires first. The rest: the newest first.
        case((is_pending, Booking.starts_at), else_=None),
        Booking.starts_at.desc(),
        Booking.id.desc(),
    )
    page = read_page(request.args)
    pagination = db.paginate(stmt, page=page, per_page=ADMIN_PAGE_SIZE, error_out=False)
    return render_template(
        "booking/admin_list.html",
        pagination=pagination,
        status=status,
        day=day,
        statuses=list(BookingStatus),
        notes=notes,
    )


@bp.app_template_global()
def pending_booking_count() -> int:
    """For the admin dashboard; a function, so pages that do not show it do not query."""
    return db.session.scalar(
        select(func.count()).select_from(Booking).where(Booking.status == BookingStatus.PENDING)
    )
