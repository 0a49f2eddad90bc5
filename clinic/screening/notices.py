"""E-mail about screenings. No health data goes into an e-mail: only a link to the page.

Each e-mail is written in its recipient's language."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.i18n import speaking
from clinic.notify.outbox import queue_email, render_email
from clinic.screening.models import Screening


def queue_urgent_alert(screening: Screening) -> None:
    """Tell every active admin that a screening needs attention today."""
    link = url_for("review.show", screening_id=screening.id, _external=True)
    admins = db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active))
    for admin in admins:
        with speaking(admin):
            text, html = render_email("screening/email/urgent_alert", admin=admin, link=link)
            subject = _("Urgent: a client's screening needs attention today")
        queue_email(admin.email, subject, text, html)


def queue_decision_notice(screening: Screening) -> None:
    """Tell the client that a decision was made, without saying what about in the e-mail."""
    link = url_for("screening.show", screening_id=screening.id, _external=True)
    client = screening.client
    with speaking(client):
        text, html = render_email("screening/email/decision", client=client, link=link)
        subject = _("Your health screening has been reviewed")
    queue_email(client.email, subject, text, html)
