"""Failed e-mails for admins: who was not reached, why, and a button to try again now."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from clinic import clock
from clinic.admin import today
from clinic.admin.views import PAGE_SIZE, bp
from clinic.audit.models import record as audit
from clinic.extensions import db
from clinic.notify import outbox
from clinic.notify.models import OutboxMessage
from clinic.paging import read_page
from clinic.scheduling.forms import ButtonForm


@bp.route("/emails")
def failed_emails() -> str:
    """Unsent e-mails that failed at least once, newest first; bodies are never shown here."""
    page = read_page(request.args)
    stmt = (
        select(OutboxMessage)
        .where(*today.failed_emails_clause())
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )
    pagination = db.paginate(stmt, page=page, per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "admin/emails.html",
        pagination=pagination,
        given_up=today.given_up,
        button=ButtonForm(),
        now=clock.utcnow(),
    )


@bp.route("/emails/<int(max=2147483647):message_id>/retry", methods=["POST"])
def retry_email(message_id: int) -> Response:
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if message.sent_at is not None:
        flash(_("That e-mail was sent already."), "info")
        return redirect(url_for("admin.failed_emails"))
    outbox.make_due_again(message, now=clock.utcnow())
    audit(
        "email.retried",
        "outbox_message",
        message.id,
        actor_id=current_user.id,
        ip=request.remote_addr or "",
        detail={"attempts": message.attempts},
    )
    db.session.commit()
    sent, _failed = outbox.deliver([message.id])
    if sent:
        flash(_("The e-mail was sent."), "success")
    else:
        db.session.expire_all()
        error = db.session.get(OutboxMessage, message_id).last_error or _("unknown error")
        flash(
            _("It failed again (%(error)s). It will be retried later on its own.", error=error),
            "warning",
        )
    return redirect(url_for("admin.failed_emails"))
