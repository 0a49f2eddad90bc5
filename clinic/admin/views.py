"""The admin area. Every route here is for admins only, checked once for the blueprint."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from clinic import clock
from clinic.admin import today
from clinic.auth import management
from clinic.auth.models import Role, User
from clinic.booking.attendance import SORTS, client_records
from clinic.catalog.models import Room, Technique, Therapist
from clinic.extensions import db
from clinic.paging import read_page, read_sort
from clinic.scheduling.models import ClinicPolicy

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


@bp.before_request
@login_required
def _admins_only() -> None:
    if current_user.role is not Role.ADMIN:
        abort(403)


@bp.route("/")
def dashboard() -> str:
    """What needs a decision today first, then the clinic in numbers and where to manage it."""
    now = clock.utcnow()
    zone = current_app.config["CLINIC_TIMEZONE"]
    counts = {
        role.value: n
        for role, n in db.session.execute(select(User.role, func.count()).group_by(User.role))
    }
    # The clinic in numbers, in one statement.
    sizes = db.session.execute(
        select(
            select(func.count()).select_from(Technique).scalar_subquery().label("techniques"),
            select(func.count()).select_from(Therapist).scalar_subquery().label("therapists"),
            select(func.count()).select_from(Room).scalar_subquery().label("rooms"),
        )
    ).one()
    return render_template(
        "admin/dashboard.html",
        now=now,
        to_review=today.screenings_to_review(),
        pending=today.pending_bookings(),
        urgent=today.urgent_screenings(now),
        failed=today.failed_emails(),
        expiring=today.expiring_certificates(clock.local_today(zone)),
        after_expiry=today.bookings_after_expiry(now, zone),
        orphaned=today.bookings_without_therapist(now),
        given_up=today.given_up,
        counts=counts,
        techniques=sizes.techniques,
        therapists=sizes.therapists,
        rooms=sizes.rooms,
    )


@bp.route("/users")
def users() -> str:
    """Every account, with search, a role filter and sorting; each links to its page
    (admin/user_views.py) for role changes and deactivation."""
    query = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    if role not in {r.value for r in Role}:
        role = ""
    sort, order = read_sort(request.args, management.SORTS, "name")
    page = management.user_page(
        search=query,
        role=Role(role) if role else None,
        sort=sort,
        order=order,
        page=read_page(request.args),
    )
    return render_template(
        "admin/users.html",
        page=page,
        query=query,
        role=role,
        roles=list(Role),
        sorts=management.SORTS,
    )


@bp.route("/clients")
def clients() -> str:
    """Every client with their bookings, completed sessions, no-shows and late cancellations."""
    query = request.args.get("q", "").strip()[:100]
    sort = request.args.get("sort", "name")
    if sort not in SORTS:
        sort = "name"
    page = read_page(request.args)
    records, total = client_records(search=query, sort=sort, page=page, per_page=PAGE_SIZE)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template(
        "admin/clients.html",
        records=records,
        total=total,
        page=page,
        pages=pages,
        query=query,
        sort=sort,
        sorts=SORTS,
        threshold=ClinicPolicy.current().no_show_review_threshold,
    )
