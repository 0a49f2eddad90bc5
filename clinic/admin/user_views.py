"""Admin pages for one account: change its role (client or admin), deactivate, reactivate.

The list is admin.users (admin/views.py). Routes are added to the admin blueprint (admins
only); clinic/__init__.py imports this module.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from clinic.admin.staff_forms import RoleForm
from clinic.admin.views import bp
from clinic.auth import management
from clinic.auth.forms import ConfirmForm
from clinic.auth.models import Role, User
from clinic.catalog.models import Therapist
from clinic.extensions import db


def _me() -> User:
    return db.session.get(User, current_user.id)


def _ip() -> str:
    return request.remote_addr or ""


def _user(user_id: int) -> User:
    found = db.session.get(User, user_id)
    if found is None:
        abort(404)
    return found


def _page(user: User, form: RoleForm | None = None, status: int = 200) -> tuple[str, int]:
    if form is None:
        form = RoleForm(formdata=None, data={"role": user.role.value})
    therapist_id = db.session.scalar(select(Therapist.id).where(Therapist.user_id == user.id))
    return render_template(
        "admin/user.html",
        user=user,
        form=form,
        button=ConfirmForm(),
        therapist_id=therapist_id,
        problem=management.why_not_change(user, by=_me()),
    ), status


@bp.route("/users/<int:user_id>")
def user(user_id: int) -> tuple[str, int]:
    return _page(_user(user_id))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
def change_user_role(user_id: int) -> Response | tuple[str, int]:
    found = _user(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _page(found, form, 422)
    try:
        changed = management.change_role(found, Role(form.role.data), by=_me(), ip=_ip())
    except management.UserAdminError as exc:
        db.session.rollback()
        form.role.errors.append(str(exc))
        return _page(_user(user_id), form, 409)
    db.session.commit()
    if changed:
        if found.is_admin:
            flash(_("%(name)s is now an admin.", name=found.name), "success")
        else:
            flash(_("%(name)s is now a client.", name=found.name), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/<any(deactivate, reactivate):action>", methods=["POST"])
def user_active(user_id: int, action: str) -> Response:
    found = _user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    active = action == "reactivate"
    try:
        management.set_active(found, active, by=_me(), ip=_ip())
    except management.UserAdminError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        if active:
            flash(_("%(name)s can log in again.", name=found.name), "success")
        else:
            flash(
                _("%(name)s is deactivated and logged out everywhere.", name=found.name), "success"
            )
    return redirect(url_for("admin.user", user_id=user_id))
