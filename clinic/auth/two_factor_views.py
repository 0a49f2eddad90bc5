"""Pages for two-factor sign-in: the account page that sets it up and switches it off, and the
second step of a login (`/login/two-factor`).

After a right password, a user with two-factor sign-in is not logged in: the session holds only
a short-lived mark (who, when, where to go next) until the code is given. Admins without it,
while ADMIN_TWO_FACTOR_REQUIRED is on, are sent to the set-up page from every other page.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from clinic import clock
from clinic.auth import signin, totp
from clinic.auth import two_factor as ops
from clinic.auth.access import home_for, is_safe_next, start_session
from clinic.auth.forms import ConfirmForm, LoginCodeForm, SetupCodeForm, SwitchOffForm
from clinic.auth.models import User
from clinic.auth.two_factor_models import two_factor_of, unused_recovery_codes
from clinic.extensions import db
from clinic.ratelimits import client_ip, limited, typed_email

bp = Blueprint("two_factor", __name__)

PENDING = "two_factor_login"
# What an admin who must set up two-factor sign-in can still open.
OPEN_BEFORE_SET_UP = frozenset(
    {"static", "bootstrap.static", "healthz", "auth.logout", "auth.login"}
)


# --- the admin rule -------------------------------------------------------------------------


@bp.before_app_request
def _admins_set_up_first() -> Response | None:
    if not ops.admin_rule_on(current_app.config):
        return None  # cheap way out first: no query at all while the rule is off
    endpoint = request.endpoint or ""
    if request.blueprint in ("api", "two_factor") or endpoint in OPEN_BEFORE_SET_UP:
        return None
    if not endpoint or not current_user.is_authenticated:
        return None
    if ops.must_set_up(current_user, current_app.config):
        return redirect(url_for("two_factor.status"))
    return None


# --- the account page -----------------------------------------------------------------------


def _status_page(
    user: User, *, confirm: SetupCodeForm | None = None, off: SwitchOffForm | None = None
) -> str:
    app_secret = current_app.config["SECRET_KEY"]
    row = two_factor_of(user.id)
    secret = ops.pending_secret(user, app_secret=app_secret)
    qr = None
    if secret is not None:
        uri = totp.provisioning_uri(secret, user.email, current_app.config["CLINIC_NAME"])
        qr = totp.qr_svg_data_uri(uri)
    return render_template(
        "auth/two_factor.html",
        enabled=row is not None and row.enabled,
        qr=qr,
        secret=totp.grouped(secret) if secret else None,
        codes_left=len(unused_recovery_codes(user.id)) if row is not None and row.enabled else 0,
        required=user.is_admin and ops.admin_rule_on(current_app.config),
        confirm=confirm or SetupCodeForm(),
        off=off or SwitchOffForm(),
        button=ConfirmForm(),
    )


def _me() -> User:
    return db.session.get(User, current_user.id)


@bp.get("/account/two-factor")
@login_required
def status() -> str:
    return _status_page(_me())


@bp.post("/account/two-factor/setup")
@login_required
def setup() -> Response:
    if ConfirmForm().validate_on_submit():
        try:
            ops.start_setup(_me(), app_secret=current_app.config["SECRET_KEY"])
        except ops.TwoFactorError as exc:
            flash(str(exc), "info")
        else:
            db.session.commit()
    return redirect(url_for("two_factor.status"))


@bp.post("/account/two-factor/confirm")
@login_required
def confirm() -> str | Response:
    user = _me()
    form = SetupCodeForm()
    if form.validate_on_submit():
        try:
            codes = ops.confirm_setup(
                user,
                form.code.data,
                app_secret=current_app.config["SECRET_KEY"],
                now=clock.utcnow(),
                ip=request.remote_addr or "",
            )
        except ops.TwoFactorError as exc:
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Two-factor sign-in is on."), "success")
            return render_template("auth/two_factor_codes.html", codes=codes)
    return _status_page(user, confirm=form)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def regenerate() -> str | Response:
    if ConfirmForm().validate_on_submit():
        try:
            codes = ops.regenerate_recovery_codes(_me(), ip=request.remote_addr or "")
        except ops.TwoFactorError as exc:
            flash(str(exc), "info")
        else:
            db.session.commit()
            return render_template("auth/two_factor_codes.html", codes=codes)
    return redirect(url_for("two_factor.status"))


@bp.post("/account/two-factor/off")
@login_required
def switch_off() -> str | Response:
    user = _me()
    form = SwitchOffForm()
    if form.validate_on_submit():
        try:
            ops.switch_off(
                user,
                password=form.password.data,
                code=form.code.data,
                app_secret=current_app.config["SECRET_KEY"],
                now=clock.utcnow(),
                ip=request.remote_addr or "",
                config=current_app.config,
            )
        except ops.TwoFactorError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Two-factor sign-in is off."), "info")
            return redirect(url_for("two_factor.status"))
    return _status_page(user, off=form)


# --- the second step of a login -------------------------------------------------------------


def _fingerprint(user: User) -> str:
    # Ties the mark to the user's current session token: a password reset in between ends it.
    return hashlib.sha256(user.session_token.encode()).hexdigest()[:16]


def begin_second_step(user: User, next_url: str | None) -> Response:
    """After a right password: a fresh session holding only the mark, and the code page."""
    session.clear()
    session[PENDING] = {
        "user": user.id,
        "at": int(clock.utcnow().timestamp()),
        "check": _fingerprint(user),
        "account": typed_email(),  # the login's per-account budget, shared by this step
        "next": next_url if is_safe_next(next_url) else None,
    }
    return redirect(url_for("two_factor.login"))


def _pending() -> tuple[User | None, dict[str, Any]]:
    mark = session.get(PENDING)
    if not isinstance(mark, dict) or not isinstance(mark.get("user"), int):
        return None, {}
    age = clock.utcnow().timestamp() - mark.get("at", 0)
    if not 0 <= age <= current_app.config["TWO_FACTOR_LOGIN_MAX_AGE"]:
        return None, {}
    user = db.session.get(User, mark["user"])
    if user is None or not user.active or mark.get("check") != _fingerprint(user):
        return None, {}
    return user, mark


def pending_account() -> str:
    """The login budget the second step spends: the one of the e-mail typed at the first."""
    mark = session.get(PENDING)
    account = mark.get("account") if isinstance(mark, dict) else None
    return account if isinstance(account, str) else client_ip()


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limited("login", pending_account)
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    user, mark = _pending()
    if user is None:
        session.pop(PENDING, None)
        minutes = max(1, current_app.config["TWO_FACTOR_LOGIN_MAX_AGE"] // 60)
        flash(
            _(
                "Log in with your e-mail and password first (the code page waits %(minutes)d "
                "minutes).",
                minutes=minutes,
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    form = LoginCodeForm()
    if form.validate_on_submit():
        kind = ops.second_step(
            user,
            form.code.data,
            app_secret=current_app.config["SECRET_KEY"],
            now=clock.utcnow(),
            ip=request.remote_addr or "",
            policy=signin.lockout_policy(),
        )
        db.session.commit()  # keeps a wrong code's count, or the spent code
        if kind is None:
            form.code.errors.append(
                _(
                    "That code is not right, or it was already used. "
                    "Try the code your app shows now."
                )
            )
        else:
            next_url = mark.get("next")
            start_session(user)
            if kind == "recovery":
                flash(
                    _("You used a recovery code: each works once. Make new ones if few are left.")
                )
            flash(_("You are logged in as %(name)s.", name=user.name), "success")
            if is_safe_next(next_url):
                return redirect(next_url)
            return redirect(home_for(user))
    return render_template("auth/login_two_factor.html", form=form)
