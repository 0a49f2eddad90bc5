"""Register, log in and out, reset a forgotten password, edit the profile."""

from __future__ import annotations

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
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from clinic import clock
from clinic.auth import operations, signin, two_factor
from clinic.auth.access import home_for, is_safe_next, start_session
from clinic.auth.forms import (
    ChangePasswordForm,
    ConfirmForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from clinic.auth.models import User, normalise_email
from clinic.auth.passwords import verify_password
from clinic.auth.two_factor_models import has_two_factor
from clinic.auth.two_factor_views import begin_second_step
from clinic.extensions import db
from clinic.i18n import current_locale, speaking
from clinic.notify.outbox import queue_email, render_email
from clinic.ratelimits import limited, typed_email

bp = Blueprint("auth", __name__)


@bp.route("/register", methods=["GET", "POST"])
@limited("register", typed_email)
def register() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("catalog.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = operations.create_user(
                email=form.email.data,
                name=form.name.data,
                phone=form.phone.data,
                password=form.password.data,
            )
        except operations.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            # E-mails reach them later in the language this page was shown in.
            user.locale = current_locale()
            db.session.commit()
            start_session(user)
            flash(
                _("Welcome to Lindring, %(name)s. Your account is ready.", name=user.name),
                "success",
            )
            return redirect(url_for("catalog.home"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limited("login", typed_email)
def login() -> str | Response:
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_safe_next(next_url) else home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = two_factor.check_password(
            form.email.data,
            form.password.data,
            now=clock.utcnow(),
            ip=request.remote_addr or "",
            policy=signin.lockout_policy(),
        )
        db.session.commit()  # keeps a failure's count, or a good login's cleared one
        if user is None:
            # Same words for an unknown e-mail, a wrong password and a locked account.
            form.password.errors.append(_("The e-mail address or the password is not right."))
        elif has_two_factor(user.id):
            # Not logged in yet: the code comes first (clinic/auth/two_factor_views.py).
            return begin_second_step(user, next_url)
        else:
            start_session(user)
            flash(_("You are logged in as %(name)s.", name=user.name), "success")
            return redirect(next_url if is_safe_next(next_url) else home_for(user))
    return render_template("auth/login.html", form=form, next_url=next_url)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> str | Response:
    """GET asks for confirmation; only the POST (with its CSRF token) logs out."""
    if not current_user.is_authenticated:
        return redirect(url_for("catalog.home"))
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        user.end_all_sessions()
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("You are logged out."), "info")
        return redirect(url_for("catalog.home"))
    return render_template("auth/logout.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limited("password_reset", typed_email)
def forgot_password() -> str | Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = User.by_email(form.email.data)
        if user is not None and user.active:
            token = operations.make_reset_token(user, current_app.config["SECRET_KEY"])
            minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
            with speaking(user):
                text, html = render_email(
                    "auth/email/reset_password",
                    user=user,
                    link=url_for("auth.reset_password", token=token, _external=True),
                    minutes=minutes,
                )
                subject = _("Reset your Lindring password")
            queue_email(user.email, subject, text, html)
            db.session.commit()
        # The same answer whether or not the address has an account.
        flash(
            _(
                "If %(email)s has a Lindring account, a link to choose a new password is on "
                "its way. Check your inbox and spam folder.",
                email=normalise_email(form.email.data),
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response:
    user = operations.user_for_reset_token(
        token, current_app.config["SECRET_KEY"], current_app.config["PASSWORD_RESET_MAX_AGE"]
    )
    if user is None:
        return render_template("auth/reset_invalid.html"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            operations.set_password(user, form.password.data)
        except operations.AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash(_("Your password is changed. Log in with the new one."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> str | Response:
    user = db.session.get(User, current_user.id)
    form = ProfileForm(user=user)
    if form.locale.data is None:  # never chosen: the language the page is shown in
        form.locale.data = current_locale()
    if form.validate_on_submit():
        user.name = form.name.data.strip()
        user.email = normalise_email(form.email.data)
        user.phone = form.phone.data.strip()
        user.locale = form.locale.data
        db.session.commit()
        with speaking(user):  # said in the language just chosen
            flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    user = db.session.get(User, current_user.id)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("Your current password is not right."))
        else:
            try:
                operations.set_password(user, form.password.data)
            except operations.AccountError as exc:
                form.password.errors.append(str(exc))
            else:
                db.session.commit()
                # Other sessions just ended; this one carries on with the new session token.
                start_session(user)
                flash(_("Your password is changed. Other devices have been logged out."), "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)
