"""E-mail about screenings. No health data goes into an e-mail: only a link to the page."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.notify.outbox import queue_email, render_email
from clinic.screening.models import Screening


def queue_urgent_alert(screening: Screening) -> None:
    """Tell every active admin that a screening needs attention today."""
    link = url_for("review.show", screening_id=screening.id, _external=True)
    admins = db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active))
    for admin in admins:
        text, html = render_email("screening/email/urgent_alert", admin=admin, link=link)
        queue_email(admin.email, "Urgent: a client's screening needs attention today", text, html)


def queue_decision_notice(screening: Screening) -> None:
    """Tell the client that a decision was made, without saying what about in the e-mail."""
    link = url_for("screening.show", screening_id=screening.id, _external=True)
    text, html = render_email("screening/email/decision", client=screening.client, link=link)
    queue_email(screening.client.email, "Your health screening has been reviewed", text, html)
