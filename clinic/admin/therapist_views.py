"""Admin pages for therapists: invite one by e-mail, see one, deactivate and reactivate.

The list of therapists is scheduling's /admin/therapists (their hours); it links here. Routes
are added to the admin blueprint (admins only); clinic/__init__.py imports this module.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from clinic import clock
from clinic.admin.staff_forms import InviteTherapistForm
from clinic.admin.views import bp
from clinic.auth.forms import ConfirmForm
from clinic.auth.invitations import awaits_password, make_invitation_token, max_age
from clinic.auth.models import User
from clinic.booking.staffing import future_bookings_of
from clinic.catalog import staffing
from clinic.catalog.models import Certification, Therapist
from clinic.extensions import db
from clinic.i18n import speaking
from clinic.notify.outbox import queue_email, render_email


def _me() -> User:
    return db.session.get(User, current_user.id)


def _ip() -> str:
    return request.remote_addr or ""


def _zone() -> str:
    return current_app.config["CLINIC_TIMEZONE"]


def _therapist(therapist_id: int) -> Therapist:
    found = db.session.scalar(
        select(Therapist)
        .where(Therapist.id == therapist_id)
        .options(
            selectinload(Therapist.user),
            selectinload(Therapist.certifications).selectinload(Certification.technique),
        )
    )
    if found is None:
        abort(404)
    return found


def _send_invitation(user: User) -> None:
    """Queue the e-mail with the link to choose a password (sent after the commit), in the
    invited person's language (the clinic's default: they have chosen none yet)."""
    link = url_for("auth.accept_invitation", token=make_invitation_token(user), _external=True)
    with speaking(user):
        text, html = render_email(
            "auth/email/invitation", user=user, link=link, days=max_age() // 86400
        )
        subject = _("You are invited to Lindring: choose your password")
    queue_email(user.email, subject, text, html)


@bp.route("/therapists/invite", methods=["GET", "POST"])
def invite_therapist() -> str | Response:
    form = InviteTherapistForm()
    if form.validate_on_submit():
        try:
            therapist = staffing.invite_therapist(
                name=form.name.data, email=form.email.data, by=_me(), ip=_ip()
            )
        except (staffing.StaffingError, IntegrityError) as exc:
            # IntegrityError: the same address registered since the form's check.
            db.session.rollback()
            form.email.errors.append(
                str(exc) if isinstance(exc, staffing.StaffingError) else str(staffing.EMAIL_TAKEN)
            )
        else:
            _send_invitation(therapist.user)
            db.session.commit()
            flash(
                _(
                    "%(name)s is invited: an e-mail with a link to choose a password is on its "
                    "way. Add their certificates and working hours below.",
                    name=therapist.name,
                ),
                "success",
            )
            return redirect(url_for("admin.therapist", therapist_id=therapist.id))
    return render_template("admin/therapist_invite.html", form=form)


@bp.route("/therapists/<int:therapist_id>")
def therapist(therapist_id: int) -> str:
    found = _therapist(therapist_id)
    return render_template(
        "admin/therapist.html",
        therapist=found,
        awaits_password=awaits_password(found.user),
        bookings=future_bookings_of(found.id, clock.utcnow()),
        today=clock.local_today(_zone()),
        button=ConfirmForm(),
    )


@bp.route("/therapists/<int:therapist_id>/invitation", methods=["POST"])
def resend_invitation(therapist_id: int) -> Response:
    found = _therapist(therapist_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        staffing.renew_invitation(found, by=_me(), ip=_ip())
    except staffing.StaffingError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        _send_invitation(found.user)
        db.session.commit()
        flash(
            _(
                "A new invitation is on its way to %(address)s; earlier links no longer work.",
                address=found.user.email,
            ),
            "success",
        )
    return redirect(url_for("admin.therapist", therapist_id=therapist_id))


@bp.route("/therapists/<int:therapist_id>/deactivate", methods=["GET", "POST"])
def deactivate_therapist(therapist_id: int) -> str | Response:
    """GET: what deactivating means, with the future bookings it leaves; POST: deactivate."""
    found = _therapist(therapist_id)
    now = clock.utcnow()
    bookings = future_bookings_of(found.id, now)
    form = ConfirmForm()
    if form.validate_on_submit():
        staffing.deactivate_therapist(
            found, by=_me(), future_booking_ids=[b.id for b in bookings], ip=_ip()
        )
        db.session.commit()
        if bookings:
            flash(
                ngettext(
                    "%(name)s is deactivated. %(num)d future booking is still on them: move "
                    "each to a colleague or cancel it below.",
                    "%(name)s is deactivated. %(num)d future bookings are still on them: move "
                    "each to a colleague or cancel it below.",
                    len(bookings),
                    name=found.name,
                ),
                "warning",
            )
        else:
            flash(
                _("%(name)s is deactivated and has no future bookings.", name=found.name),
                "success",
            )
        return redirect(url_for("admin.therapist", therapist_id=therapist_id))
    return render_template(
        "admin/therapist_deactivate.html", therapist=found, bookings=bookings, form=form
    )


@bp.route("/therapists/<int:therapist_id>/reactivate", methods=["POST"])
def reactivate_therapist(therapist_id: int) -> Response:
    found = _therapist(therapist_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        staffing.reactivate_therapist(found, by=_me(), ip=_ip())
    except staffing.StaffingError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(
            _("%(name)s is active again: bookable, and able to log in.", name=found.name), "success"
        )
    return redirect(url_for("admin.therapist", therapist_id=therapist_id))
