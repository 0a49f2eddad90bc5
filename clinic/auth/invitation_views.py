"""The page an invitation link opens: the invited person chooses their first password.

Routes are added to the auth blueprint; clinic/__init__.py imports this module.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import logout_user
from werkzeug.wrappers import Response

from clinic.auth import invitations
from clinic.auth.forms import ResetPasswordForm
from clinic.auth.operations import AccountError
from clinic.auth.views import bp
from clinic.extensions import db
from clinic.i18n import current_locale


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> str | Response | tuple[str, int]:
    user = invitations.user_for_invitation_token(token)
    if user is None:
        return render_template("auth/invitation_invalid.html"), 400
    form = ResetPasswordForm()
    form.submit.label.text = _("Choose password")
    if form.validate_on_submit():
        try:
            invitations.accept_invitation(user, form.password.data, ip=request.remote_addr or "")
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            # E-mails reach them later in the language this page was shown in.
            user.locale = current_locale()
            db.session.commit()
            # Whoever was logged in in this browser is not the person who just joined.
            logout_user()
            session.clear()
            flash(_("Your password is set. Log in with your e-mail address and it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/invitation.html", form=form, user=user)
