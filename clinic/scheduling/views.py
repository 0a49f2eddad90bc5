"""Working hours and time off (a therapist's own, or any therapist's for admins); clinic
policies and rooms for admins.

Two blueprints: `scheduling` for the therapist's pages under /therapist, and `scheduling_admin`
under /admin, guarded for admins once, like the admin blueprint. The hours and time-off pages are
the same code and templates for both; only who the therapist is and where links go differ.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload
from werkzeug.wrappers import Response

from clinic import clock
from clinic.auth.access import roles_required
from clinic.auth.models import Role, User
from clinic.catalog.models import Room, Therapist
from clinic.extensions import db
from clinic.paging import paged, read_page, read_sort
from clinic.scheduling import operations
from clinic.scheduling.forms import (
    INTERVALS_PER_DAY,
    WEEKDAYS,
    ButtonForm,
    PolicyForm,
    RoomForm,
    TimeOffForm,
    WeeklyHoursForm,
)
from clinic.scheduling.models import ClinicPolicy, TimeOff, WorkingHours
from clinic.scheduling.signals import hours_saved

bp = Blueprint("scheduling", __name__)
admin_bp = Blueprint("scheduling_admin", __name__, url_prefix="/admin")

PREVIEW_DAYS = 14


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def _me() -> User:
    return db.session.get(User, current_user.id)


def _ip() -> str:
    return request.remote_addr or ""


# --- pages shared by a therapist and the admins -----------------------------------------------


def _hours_page(therapist: Therapist, *, own: bool, here: str) -> str | Response:
    zone = _zone()
    form = WeeklyHoursForm()
    if form.validate_on_submit():
        before = [(h.weekday, h.start_time, h.end_time) for h in therapist.working_hours]
        operations.save_working_hours(therapist, form.intervals(), by=_me(), ip=_ip())
        hours_saved.send(current_app._get_current_object(), therapist=therapist, before=before)
        db.session.commit()
        flash(_("Working hours saved. The coming two weeks below show the result."), "success")
        return redirect(here)
    hours = [
        (weekday, start, end)
        for weekday, start, end in db.session.execute(
            select(WorkingHours.weekday, WorkingHours.start_time, WorkingHours.end_time).where(
                WorkingHours.therapist_id == therapist.id
            )
        )
    ]
    crowded = form.fill(hours) if request.method == "GET" else []
    today = clock.local_today(current_app.config["CLINIC_TIMEZONE"])
    return render_template(
        "scheduling/hours.html",
        form=form,
        therapist=therapist,
        own=own,
        days=[(name, form.pairs(weekday)) for weekday, name in enumerate(WEEKDAYS)],
        intervals_per_day=INTERVALS_PER_DAY,
        crowded=crowded,
        preview=operations.load_preview(therapist.id, hours, today, PREVIEW_DAYS, zone),
        time_off_url=_time_off_url(therapist, own),
    )


def _time_off_page(
    therapist: Therapist, *, own: bool, here: str, delete_url: Callable[[int], str]
) -> str | Response:
    zone = _zone()
    now = clock.utcnow()
    form = TimeOffForm(zone=zone, today=clock.local_today(current_app.config["CLINIC_TIMEZONE"]))
    if form.validate_on_submit():
        assert form.span is not None  # set by a successful validation
        try:
            operations.add_time_off(
                therapist, form.span, form.reason.data or "", by=_me(), now=now, ip=_ip()
            )
        except operations.SchedulingError as exc:
            db.session.rollback()
            form.closing_field.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Time off added."), "success")
            return redirect(here)
    return render_template(
        "scheduling/time_off.html",
        form=form,
        therapist=therapist,
        own=own,
        upcoming=operations.upcoming_time_off(therapist.id, now),
        delete_form=ButtonForm(),
        delete_url=delete_url,
        hours_url=_hours_url(therapist, own),
    )


def _delete_time_off(therapist: Therapist, time_off_id: int, *, back: str) -> Response:
    row = db.session.get(TimeOff, time_off_id)
    if row is None or row.therapist_id != therapist.id:
        abort(404)  # someone else's time off is not found, not forbidden
    if not ButtonForm().validate_on_submit():
        abort(400)
    operations.delete_time_off(row, by=_me(), ip=_ip())
    db.session.commit()
    flash(_("Time off deleted."), "success")
    return redirect(back)


def _hours_url(therapist: Therapist, own: bool) -> str:
    if own:
        return url_for("scheduling.my_hours")
    return url_for("scheduling_admin.therapist_hours", therapist_id=therapist.id)


def _time_off_url(therapist: Therapist, own: bool) -> str:
    if own:
        return url_for("scheduling.my_time_off")
    return url_for("scheduling_admin.therapist_time_off", therapist_id=therapist.id)


# --- a therapist's own ------------------------------------------------------------------------


def _own_therapist() -> Therapist:
    mine = db.session.scalar(select(Therapist).where(Therapist.user_id == current_user.id))
    if mine is None:
        abort(404)  # a therapist account without a profile has no hours to keep
    return mine


@bp.route("/therapist/hours", methods=["GET", "POST"])
@roles_required(Role.THERAPIST)
def my_hours() -> str | Response:
    return _hours_page(_own_therapist(), own=True, here=url_for("scheduling.my_hours"))


@bp.route("/therapist/time-off", methods=["GET", "POST"])
@roles_required(Role.THERAPIST)
def my_time_off() -> str | Response:
    return _time_off_page(
        _own_therapist(),
        own=True,
        here=url_for("scheduling.my_time_off"),
        delete_url=lambda time_off_id: url_for(
            "scheduling.delete_my_time_off", time_off_id=time_off_id
        ),
    )


@bp.route("/therapist/time-off/<int:time_off_id>/delete", methods=["POST"])
@roles_required(Role.THERAPIST)
def delete_my_time_off(time_off_id: int) -> Response:
    return _delete_time_off(_own_therapist(), time_off_id, back=url_for("scheduling.my_time_off"))


# --- admins -----------------------------------------------------------------------------------


@admin_bp.before_request
@login_required
def _admins_only() -> None:
    if current_user.role is not Role.ADMIN:
        abort(403)


def _therapist(therapist_id: int) -> Therapist:
    found = db.session.scalar(
        select(Therapist).where(Therapist.id == therapist_id).options(joinedload(Therapist.user))
    )
    if found is None:
        abort(404)
    return found


THERAPISTS_PER_PAGE = 50
THERAPIST_SORTS = {
    "name": (_l("Name"), [func.lower(User.name)]),
    "email": (_l("E-mail"), [User.email]),
    "active": (_l("Active"), [Therapist.active, User.active, func.lower(User.name)]),
}


@admin_bp.route("/therapists")
def therapists() -> str:
    """Every therapist, searched by name or e-mail, sorted and paged: two statements."""
    query = request.args.get("q", "").strip()[:100]
    sort, order = read_sort(request.args, THERAPIST_SORTS, "name")
    stmt = select(Therapist).join(Therapist.user).options(contains_eager(Therapist.user))
    if query:
        pattern = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(pattern), User.email.like(pattern)))
    page = paged(
        stmt,
        sort_columns=THERAPIST_SORTS[sort][1],
        tiebreak=Therapist.id,
        sort=sort,
        order=order,
        page=read_page(request.args),
        per_page=THERAPISTS_PER_PAGE,
    )
    return render_template(
        "scheduling/therapists.html", page=page, query=query, sorts=THERAPIST_SORTS
    )


@admin_bp.route("/therapists/<int:therapist_id>/hours", methods=["GET", "POST"])
def therapist_hours(therapist_id: int) -> str | Response:
    return _hours_page(
        _therapist(therapist_id),
        own=False,
        here=url_for("scheduling_admin.therapist_hours", therapist_id=therapist_id),
    )


@admin_bp.route("/therapists/<int:therapist_id>/time-off", methods=["GET", "POST"])
def therapist_time_off(therapist_id: int) -> str | Response:
    return _time_off_page(
        _therapist(therapist_id),
        own=False,
        here=url_for("scheduling_admin.therapist_time_off", therapist_id=therapist_id),
        delete_url=lambda time_off_id: url_for(
            "scheduling_admin.delete_therapist_time_off",
            therapist_id=therapist_id,
            time_off_id=time_off_id,
        ),
    )


@admin_bp.route(
    "/therapists/<int:therapist_id>/time-off/<int:time_off_id>/delete", methods=["POST"]
)
def delete_therapist_time_off(therapist_id: int, time_off_id: int) -> Response:
    return _delete_time_off(
        _therapist(therapist_id),
        time_off_id,
        back=url_for("scheduling_admin.therapist_time_off", therapist_id=therapist_id),
    )


@admin_bp.route("/policies", methods=["GET", "POST"])
def policies() -> str | Response:
    stored = db.session.get(ClinicPolicy, 1)
    form = PolicyForm(obj=stored or ClinicPolicy.current())
    if form.validate_on_submit():
        operations.update_policy(form.values(), by=_me(), ip=_ip())
        db.session.commit()
        flash(
            _(
                "Clinic policies saved. New searches for free times and new bookings use them "
                "at once; existing bookings keep their own price and cancellation cut-off."
            ),
            "success",
        )
        return redirect(url_for("scheduling_admin.policies"))
    return render_template("admin/policies.html", form=form, stored=stored is not None)


def _rename_form(room: Room, taken: dict[str, int], formdata: object = None) -> RoomForm:
    form = RoomForm(
        formdata=formdata,
        prefix=f"room-{room.id}",
        taken=taken,
        room_id=room.id,
        data={"name": room.name},
    )
    form.name.label.text = _("New name for %(name)s", name=room.name)
    form.submit.label.text = _("Rename")
    return form


def _rooms_page(add: RoomForm | None = None, renamed: RoomForm | None = None) -> str:
    rooms = list(db.session.scalars(select(Room).order_by(Room.name, Room.id)))
    forms = {room.id: _rename_form(room, {}) for room in rooms}
    if renamed is not None and renamed.room_id in forms:
        forms[renamed.room_id] = renamed
    if add is None:
        add = RoomForm(formdata=None, taken={})
    add.submit.label.text = _("Add room")
    return render_template(
        "admin/rooms.html", rooms=rooms, add=add, rename=forms, button=ButtonForm()
    )


def _room(room_id: int) -> Room:
    room = db.session.get(Room, room_id)
    if room is None:
        abort(404)
    return room


DUPLICATE_ROOM = _l("There is already a room with that name.")


@admin_bp.route("/rooms", methods=["GET", "POST"])
def rooms() -> str | Response:
    if request.method == "GET":
        return _rooms_page()
    form = RoomForm(taken=operations.room_names())
    if form.validate_on_submit():
        try:
            room = operations.add_room(form.name.data, by=_me(), ip=_ip())
        except IntegrityError:  # added by someone else since the check
            db.session.rollback()
            form.name.errors.append(str(DUPLICATE_ROOM))
        else:
            db.session.commit()
            flash(_("Room “%(name)s” added.", name=room.name), "success")
            return redirect(url_for("scheduling_admin.rooms"))
    return _rooms_page(add=form)


@admin_bp.route("/rooms/<int:room_id>/rename", methods=["POST"])
def rename_room(room_id: int) -> str | Response:
    room = _room(room_id)
    old = room.name
    form = _rename_form(room, operations.room_names(), formdata=request.form)
    if form.validate_on_submit():
        try:
            operations.rename_room(room, form.name.data, by=_me(), ip=_ip())
        except IntegrityError:
            db.session.rollback()
            form.name.errors.append(str(DUPLICATE_ROOM))
        else:
            db.session.commit()
            flash(_("Room “%(old)s” is now called “%(new)s”.", old=old, new=room.name), "success")
            return redirect(url_for("scheduling_admin.rooms"))
    return _rooms_page(renamed=form)


@admin_bp.route("/rooms/<int:room_id>/<any(deactivate, reactivate):action>", methods=["POST"])
def room_active(room_id: int, action: str) -> Response:
    room = _room(room_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    active = action == "reactivate"
    operations.set_room_active(room, active, by=_me(), ip=_ip())
    db.session.commit()
    if active:
        flash(_("Room “%(name)s” can be booked again.", name=room.name), "success")
    else:
        flash(
            _("Room “%(name)s” is deactivated: no new bookings will use it.", name=room.name),
            "success",
        )
    return redirect(url_for("scheduling_admin.rooms"))
