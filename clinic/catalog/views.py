"""Public pages: home, techniques and therapists; a therapist edits their own page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from clinic.auth.access import roles_required
from clinic.auth.models import Role, User
from clinic.catalog.forms import TherapistProfileForm
from clinic.catalog.models import Certification, Technique, Therapist
from clinic.clock import local_today
from clinic.extensions import db

bp = Blueprint("catalog", __name__)


def _active_techniques() -> list[Technique]:
    return list(
        db.session.scalars(
            select(Technique)
            .where(Technique.active)
            .options(selectinload(Technique.options))
            .order_by(Technique.position, Technique.name)
        )
    )


def _therapists_query():
    return (
        select(Therapist)
        .join(Therapist.user)
        .where(Therapist.active, User.active)
        .options(
            selectinload(Therapist.user),
            selectinload(Therapist.certifications).selectinload(Certification.technique),
        )
        .order_by(User.name)
    )


@bp.route("/")
def home() -> str:
    return render_template("catalog/home.html", techniques=_active_techniques())


@bp.route("/techniques")
def techniques() -> str:
    return render_template("catalog/techniques.html", techniques=_active_techniques())


@bp.route("/techniques/<slug>")
def technique(slug: str) -> str:
    found = db.session.scalar(
        select(Technique)
        .where(Technique.slug == slug, Technique.active)
        .options(selectinload(Technique.options))
    )
    if found is None:
        abort(404)
    today = local_today(current_app.config["CLINIC_TIMEZONE"])
    therapists = [
        t for t in db.session.scalars(_therapists_query()) if t.is_certified_for(found, today)
    ]
    return render_template("catalog/technique.html", technique=found, therapists=therapists)


@bp.route("/therapists")
def therapists() -> str:
    today = local_today(current_app.config["CLINIC_TIMEZONE"])
    return render_template(
        "catalog/therapists.html", therapists=db.session.scalars(_therapists_query()), today=today
    )


@bp.route("/therapists/<int:therapist_id>")
def therapist(therapist_id: int) -> str:
    found = db.session.scalar(_therapists_query().where(Therapist.id == therapist_id))
    if found is None:
        abort(404)
    today = local_today(current_app.config["CLINIC_TIMEZONE"])
    return render_template("catalog/therapist.html", therapist=found, today=today)


@bp.route("/therapist/profile", methods=["GET", "POST"])
@roles_required(Role.THERAPIST)
def therapist_profile() -> str | Response:
    mine = db.session.scalar(select(Therapist).where(Therapist.user_id == current_user.id))
    if mine is None:
        abort(404)
    form = TherapistProfileForm(obj=mine)
    if form.validate_on_submit():
        mine.bio = form.bio.data.strip()
        db.session.commit()
        flash(_("Your public page is updated."), "success")
        return redirect(url_for("catalog.therapist", therapist_id=mine.id))
    return render_template("catalog/therapist_profile.html", form=form, therapist=mine)
