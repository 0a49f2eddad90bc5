"""Admin pages for the catalogue: the techniques with their lengths and prices.

Routes are added to the admin blueprint (admins only, checked once there); clinic/__init__.py
imports this module before the blueprint is registered.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from clinic.admin.technique_form import TechniqueForm
from clinic.admin.views import bp
from clinic.auth.models import User
from clinic.catalog import techniques as operations
from clinic.catalog.models import Technique
from clinic.extensions import db
from clinic.paging import read_page, read_sort

TAKEN_SLUG = _l("Another technique already uses this address name.")


def _me() -> User:
    return db.session.get(User, current_user.id)


def _ip() -> str:
    return request.remote_addr or ""


@bp.route("/techniques")
def techniques() -> str:
    query = request.args.get("q", "").strip()[:100]
    sort, order = read_sort(request.args, operations.SORTS, "name")
    page = operations.technique_page(
        search=query, sort=sort, order=order, page=read_page(request.args)
    )
    return render_template("admin/techniques.html", page=page, query=query, sorts=operations.SORTS)


@bp.route("/techniques/new", methods=["GET", "POST"])
def new_technique() -> str | Response:
    form = TechniqueForm()
    if form.validate_on_submit():
        try:
            technique = operations.create_technique(form.data_for_save(), by=_me(), ip=_ip())
        except IntegrityError:  # the same slug saved by someone else since the check
            db.session.rollback()
            form.slug.errors.append(str(TAKEN_SLUG))
        else:
            db.session.commit()
            flash(_("Technique “%(name)s” added.", name=technique.name), "success")
            return redirect(url_for("admin.techniques"))
    return render_template("admin/technique_form.html", form=form, technique=None)


@bp.route("/techniques/<int:technique_id>", methods=["GET", "POST"])
def edit_technique(technique_id: int) -> str | Response:
    technique = db.session.scalar(
        select(Technique)
        .where(Technique.id == technique_id)
        .options(selectinload(Technique.options))
    )
    if technique is None:
        abort(404)
    form = TechniqueForm(technique=technique)
    if form.validate_on_submit():
        try:
            changed = operations.update_technique(
                technique, form.data_for_save(), by=_me(), ip=_ip()
            )
        except IntegrityError:
            db.session.rollback()
            form.slug.errors.append(str(TAKEN_SLUG))
            technique = db.session.get(Technique, technique_id)
        else:
            db.session.commit()
            if not changed:
                flash(_("Nothing was changed."), "info")
            elif "active" in changed and not technique.active:
                flash(
                    _(
                        "“%(name)s” is no longer offered: it is gone from the public pages "
                        "and cannot be booked. Existing bookings keep it.",
                        name=technique.name,
                    ),
                    "success",
                )
            else:
                flash(_("Technique “%(name)s” saved.", name=technique.name), "success")
            return redirect(url_for("admin.techniques"))
    return render_template("admin/technique_form.html", form=form, technique=technique)
