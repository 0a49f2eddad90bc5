"""The therapist's calendar (week and day) and the clinic's day view.

Every page is an agenda (clinic/calendars/agenda.py): per local day, the working hours frame the
sessions, breaks, time off and imported busy time, in order of time. Placing blocks by the
minute would need inline styles, which the content security policy forbids; a list needs none,
shows every time exactly, and turns into a list of days on a phone by CSS alone.

The pages carry health notes, so they are never cached, and each screening whose notes a page
shows is audit-logged, as on the booking page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from clinic import clock
from clinic.audit.models import record_each
from clinic.auth.access import roles_required
from clinic.auth.models import Role, User
from clinic.booking.models import Booking
from clinic.calendars.agenda import Agenda, load_agenda
from clinic.catalog.models import Room, Therapist
from clinic.database import writes_on_get
from clinic.extensions import db

bp = Blueprint("calendar", __name__)

# Dates outside this range are refused rather than risk an overflow at the ends of `date`.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)

Link = Callable[[date | None], str]  # a page of the calendar for a date; None: today's


def _today() -> date:
    return clock.local_today(current_app.config["CLINIC_TIMEZONE"])


def _asked_date(name: str) -> tuple[date, str]:
    """The date in the query string, or today with a note saying why not."""
    raw = request.args.get(name, "")
    if not raw:
        return _today(), ""
    try:
        asked = date.fromisoformat(raw)
    except ValueError:
        return _today(), _("That date could not be read (use YYYY-MM-DD); showing today.")
    if not EARLIEST <= asked <= LATEST:
        return _today(), _(
            "Choose a date from %(first)d to %(last)d; showing today.",
            first=EARLIEST.year,
            last=LATEST.year,
        )
    return asked, ""


def _agenda(therapist_ids: list[int], first: date, last: date, **options: bool) -> Agenda:
    timezone = current_app.config["CLINIC_TIMEZONE"]
    return load_agenda(therapist_ids, first, last, timezone=timezone, today=_today(), **options)


def _render_and_log(template: str, agenda: Agenda, **values: object) -> str:
    """Render, then log each screening the page showed notes of, in the request's one commit."""
    html = render_template(template, **values)
    record_each(
        "screening.notes_viewed",
        "screening",
        {
            screening_id: {"client_id": client_id, "booking_ids": booking_ids}
            for screening_id, (client_id, booking_ids) in agenda.shown.items()
        },
        actor_id=current_user.id,
        ip=request.remote_addr or "",
    )
    if agenda.shown:
        db.session.commit()
    return html


# --- a therapist's calendar, for themselves or for an admin -----------------------------------


def _links(therapist: Therapist, own: bool) -> tuple[Link, Link]:
    """The week and day pages of this therapist's calendar, as the viewer reaches them."""

    def iso(day: date | None) -> str | None:
        return day.isoformat() if day else None

    if own:
        return (
            lambda day: url_for("calendar.week", week=iso(day)),
            lambda day: url_for("calendar.day", date=iso(day)),
        )
    return (
        lambda day: url_for("calendar.therapist_week", therapist_id=therapist.id, week=iso(day)),
        lambda day: url_for("calendar.therapist_day", therapist_id=therapist.id, date=iso(day)),
    )


def _picker(current: Therapist, link: Callable[[Therapist], str]) -> list[tuple[str, str, bool]]:
    """For admins: every active therapist's name, link, and whether it is the one shown."""
    return [(t.name, link(t), t.id == current.id) for t in _active_therapists()]


def _week_page(therapist: Therapist, *, own: bool) -> str:
    asked, note = _asked_date("week")
    monday = asked - timedelta(days=asked.weekday())
    agenda = _agenda([therapist.id], monday, monday + timedelta(days=6), with_notes=True)
    week_url, day_url = _links(therapist, own)
    return _render_and_log(
        "calendars/week.html",
        agenda,
        therapist=therapist,
        own=own,
        note=note,
        monday=monday,
        sunday=monday + timedelta(days=6),
        days=agenda.days[therapist.id],
        day_url=day_url,
        nav={
            "previous": week_url(monday - timedelta(days=7)),
            "today": week_url(None),
            "next": week_url(monday + timedelta(days=7)),
            "jump": week_url(None),
        },
        picker=None if own else _picker(therapist, lambda t: _links(t, own)[0](monday)),
    )


def _day_page(therapist: Therapist, *, own: bool) -> str:
    day, note = _asked_date("date")
    agenda = _agenda([therapist.id], day, day, with_notes=True)
    week_url, day_url = _links(therapist, own)
    return _render_and_log(
        "calendars/day.html",
        agenda,
        therapist=therapist,
        own=own,
        note=note,
        day=agenda.days[therapist.id][0],
        week_link=week_url(day),
        nav={
            "previous": day_url(day - timedelta(days=1)),
            "today": day_url(None),
            "next": day_url(day + timedelta(days=1)),
            "jump": day_url(None),
        },
        picker=None if own else _picker(therapist, lambda t: _links(t, own)[1](day)),
    )


def _active_therapists() -> list[Therapist]:
    return list(
        db.session.scalars(
            select(Therapist)
            .join(Therapist.user)
            .where(Therapist.active, User.active)
            .options(contains_eager(Therapist.user))
            .order_by(User.name, Therapist.id)
        )
    )


def _own_therapist() -> Therapist:
    mine = db.session.scalar(
        select(Therapist)
        .where(Therapist.user_id == current_user.id)
        .options(joinedload(Therapist.user))
    )
    if mine is None:
        abort(404)  # a therapist account without a profile has no calendar
    return mine


def _therapist(therapist_id: int) -> Therapist:
    found = db.session.get(Therapist, therapist_id, options=[joinedload(Therapist.user)])
    if found is None:
        abort(404)
    return found


@bp.route("/therapist/calendar")
@writes_on_get
@roles_required(Role.THERAPIST)
def week() -> str:
    """The therapist's own week (?week= any date in it; this week by default)."""
    return _week_page(_own_therapist(), own=True)


@bp.route("/therapist/calendar/day")
@writes_on_get
@roles_required(Role.THERAPIST)
def day() -> str:
    """The therapist's own day (?date=; today by default)."""
    return _day_page(_own_therapist(), own=True)


@bp.route("/admin/therapists/<int:therapist_id>/calendar")
@writes_on_get
@roles_required(Role.ADMIN)
def therapist_week(therapist_id: int) -> str:
    return _week_page(_therapist(therapist_id), own=False)


@bp.route("/admin/therapists/<int:therapist_id>/calendar/day")
@writes_on_get
@roles_required(Role.ADMIN)
def therapist_day(therapist_id: int) -> str:
    return _day_page(_therapist(therapist_id), own=False)


# --- the clinic's day -------------------------------------------------------------------------


@bp.route("/admin/calendar/day")
@roles_required(Role.ADMIN)
def clinic_day() -> str:
    """Every active therapist and every room side by side for one day (?date=), without
    screening notes: it is a plan of who is where, and each session links to its notes."""
    day, note = _asked_date("date")
    therapists = _active_therapists()
    ids = [t.id for t in therapists]
    agenda = _agenda(ids, day, day, with_notes=False, live_only=True)
    by_room: dict[int, list[Booking]] = defaultdict(list)
    for booking in agenda.bookings:
        by_room[booking.room_id].append(booking)
    rooms = [
        room
        for room in db.session.scalars(select(Room).order_by(Room.name, Room.id))
        if room.active or room.id in by_room
    ]

    def here(other: date | None) -> str:
        return url_for("calendar.clinic_day", date=other.isoformat() if other else None)

    return render_template(
        "calendars/clinic_day.html",
        note=note,
        day=day,
        therapists=[(t, agenda.days[t.id][0]) for t in therapists],
        names={t.id: t.name for t in therapists},
        rooms=[(room, by_room[room.id]) for room in rooms],
        nav={
            "previous": here(day - timedelta(days=1)),
            "today": here(None),
            "next": here(day + timedelta(days=1)),
            "jump": here(None),
        },
    )


@bp.app_template_global()
def calendar_url_of(booking: Booking) -> str | None:
    """The calendar week of this booking, as the signed-in staff member sees it; None for others."""
    day = booking.starts_at.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).date()
    anchor = f"day-{day.isoformat()}"
    if current_user.is_admin:
        return url_for(
            "calendar.therapist_week",
            therapist_id=booking.therapist_id,
            week=day.isoformat(),
            _anchor=anchor,
        )
    if current_user.is_therapist and booking.therapist.user_id == current_user.id:
        return url_for("calendar.week", week=day.isoformat(), _anchor=anchor)
    return None
