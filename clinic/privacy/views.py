"""The data-rights pages under /account: download my data, delete my account.

Sent with `Cache-Control: no-store`: the download holds health data, and a shared computer's
browser must not keep it.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from clinic import clock
from clinic.auth.models import User
from clinic.booking.models import LIVE, Booking
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.privacy.erasure import ErasureRefused, erase_account
from clinic.privacy.export import export_data
from clinic.privacy.forms import DeleteAccountForm, DownloadForm

bp = Blueprint("privacy", __name__)

# Set in the (new, empty) session after a deletion, so that only the person who just deleted
# their account sees the confirmation.
ERASED_FLAG = "account_erased"


def _me() -> User:
    return db.session.get(User, current_user.id)


@bp.route("/account/data", methods=["GET", "POST"])
@login_required
def data() -> str | Response:
    """GET explains what the file holds; the POST (with its CSRF token) sends it."""
    form = DownloadForm()
    if form.validate_on_submit():
        now = clock.utcnow()
        config = current_app.config
        payload = export_data(
            _me(),
            now=now,
            timezone=config["CLINIC_TIMEZONE"],
            clinic_name=config["CLINIC_NAME"],
            currency=config["CLINIC_CURRENCY"],
            ip=request.remote_addr or "",
        )
        db.session.commit()
        day = payload["exported_at"][:10]
        return Response(
            json.dumps(payload, ensure_ascii=False, indent=2),
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="lindring-data-{day}.json"'},
        )
    return render_template("privacy/data.html", form=form)


def _upcoming(user: User) -> list[Booking]:
    """The sessions a deletion would cancel."""
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.client_id == user.id,
                Booking.status.in_(LIVE),
                Booking.starts_at > clock.utcnow(),
            )
            .options(
                joinedload(Booking.therapist).joinedload(Therapist.user),
                joinedload(Booking.technique),
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete() -> str | Response:
    """GET says what happens; the POST needs the password and the box ticked."""
    me = _me()
    if not me.is_client:
        # The clinic closes staff accounts: their sessions and notes need handing over.
        if request.method == "POST":
            abort(403)
        return render_template("privacy/delete_staff.html")
    form = DeleteAccountForm(user=me)
    if form.validate_on_submit():
        try:
            erase_account(me, now=clock.utcnow(), ip=request.remote_addr or "")
        except ErasureRefused as exc:
            db.session.rollback()
            form.confirm.errors.append(str(exc))
        else:
            db.session.commit()
            logout_user()
            session.clear()
            session[ERASED_FLAG] = True
            return redirect(url_for("privacy.deleted"))
    status = 422 if form.errors else 200
    return render_template("privacy/delete.html", form=form, upcoming=_upcoming(me)), status


@bp.route("/account/deleted")
def deleted() -> str | Response:
    """The confirmation, once, for the person who has just deleted their account."""
    if not session.pop(ERASED_FLAG, False):
        return redirect(url_for("catalog.home"))
    return render_template("privacy/deleted.html")
