"""Admin pages for certificates: the list, add, edit, delete, and the expiry warnings.

Routes are added to the admin blueprint (admins only); clinic/__init__.py imports this module.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from clinic import clock
from clinic.admin.certification_form import CertificationForm
from clinic.admin.views import bp
from clinic.auth.forms import ConfirmForm
from clinic.auth.models import User
from clinic.booking.staffing import bookings_after_expiry
from clinic.catalog import certifications as operations
from clinic.catalog.expiry import WARN_DAYS, expiring_certifications
from clinic.catalog.models import Certification, Therapist
from clinic.extensions import db
from clinic.numbers import whole_number
from clinic.paging import read_page, read_sort


def _me() -> User:
    return db.session.get(User, current_user.id)


def _ip() -> str:
    return request.remote_addr or ""


def _certification(certification_id: int) -> Certification:
    found = db.session.scalar(
        select(Certification)
        .where(Certification.id == certification_id)
        .options(
            selectinload(Certification.therapist).selectinload(Therapist.user),
            selectinload(Certification.technique),
        )
    )
    if found is None:
        abort(404)
    return found


def _therapist_filter() -> Therapist | None:
    wanted = whole_number(request.args.get("therapist"))
    return None if wanted is None else db.session.get(Therapist, wanted)


@bp.route("/certifications")
def certifications() -> str:
    query = request.args.get("q", "").strip()[:100]
    therapist = _therapist_filter()
    sort, order = read_sort(request.args, operations.SORTS, "valid_until")
    page = operations.certification_page(
        search=query,
        therapist_id=therapist.id if therapist else None,
        sort=sort,
        order=order,
        page=read_page(request.args),
    )
    args = {"q": query, **({"therapist": therapist.id} if therapist else {})}
    return render_template(
        "admin/certifications.html",
        page=page,
        query=query,
        therapist=therapist,
        args=args,
        sorts=operations.SORTS,
        today=clock.local_today(current_app.config["CLINIC_TIMEZONE"]),
    )


@bp.route("/certifications/new", methods=["GET", "POST"])
def new_certification() -> str | Response:
    form = CertificationForm()
    therapist = _therapist_filter()
    if request.method == "GET" and therapist is not None:
        form.therapist.data = therapist.id
    if form.validate_on_submit():
        certification = operations.add_certification(form.data_for_save(), by=_me(), ip=_ip())
        db.session.commit()
        flash(_("Certificate added."), "success")
        return redirect(url_for("admin.therapist", therapist_id=certification.therapist_id))
    return render_template("admin/certification_form.html", form=form, certification=None)


@bp.route("/certifications/<int:certification_id>", methods=["GET", "POST"])
def edit_certification(certification_id: int) -> str | Response:
    certification = _certification(certification_id)
    form = CertificationForm.for_certification(certification)
    if form.validate_on_submit():
        changed = operations.update_certification(
            certification, form.data_for_save(), by=_me(), ip=_ip()
        )
        db.session.commit()
        flash(_("Certificate saved.") if changed else _("Nothing was changed."), "success")
        return redirect(url_for("admin.therapist", therapist_id=certification.therapist_id))
    return render_template(
        "admin/certification_form.html",
        form=form,
        certification=certification,
        delete_form=ConfirmForm(),
    )


@bp.route("/certifications/<int:certification_id>/delete", methods=["POST"])
def delete_certification(certification_id: int) -> Response:
    certification = _certification(certification_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    therapist_id = certification.therapist_id
    operations.delete_certification(certification, by=_me(), ip=_ip())
    db.session.commit()
    flash(
        _(
            "Certificate deleted. Bookings that relied on it are listed under Expiring "
            "certificates."
        ),
        "success",
    )
    return redirect(url_for("admin.therapist", therapist_id=therapist_id))


@bp.route("/certifications/expiry")
def certification_expiry() -> str:
    """Certificates that run out within WARN_DAYS, and bookings already past an expiry."""
    timezone = current_app.config["CLINIC_TIMEZONE"]
    today = clock.local_today(timezone)
    return render_template(
        "admin/certification_expiry.html",
        expiring=expiring_certifications(today, WARN_DAYS),
        bookings=bookings_after_expiry(clock.utcnow(), timezone),
        days=WARN_DAYS,
        today=today,
    )
