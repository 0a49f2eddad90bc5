"""The pre-visit health check linked from the reminder: three questions the day before a session.

Who may answer: whoever holds the link. The reminder goes to the client's own address, and the
token in it is 256 random bits of which only a hash is stored, so holding the link is as good a
proof as the password reset link. Asking for a login instead would lose most answers: people
open the reminder in their phone's mail app, where they are not logged in, on the day before
the session. What the link can do is kept small to match: it shows only the session's technique,
date and time (nothing from the screening, no therapist, no price), it answers its own booking
only (the form carries no booking id: the token decides), it can be answered once, and it stops
working when the session starts or moves. Someone logged in as another user gets "not found",
as a shared computer's other account must not answer (or learn of) a client's session.

The answers are health data: they are stored on the check, never put in an e-mail, an audit
detail or a log line, the pages are sent with `Cache-Control: no-store`, and the token is
redacted from the request logs like a calendar feed's.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import RadioField, SubmitField
from wtforms.validators import AnyOf, InputRequired

from clinic import clock
from clinic.audit.models import record as audit
from clinic.booking import notices, operations, previsit_checks
from clinic.booking.models import Booking
from clinic.booking.previsit_checks import ANSWER_KEYS, CANCELLED, SYMPTOMS, State
from clinic.extensions import db
from clinic.i18n import current_locale
from clinic.screening.forms import YES_NO
from clinic.screening.models import PreVisitCheck
from clinic.templating import format_date

bp = Blueprint("previsit", __name__)


def _yes_no(question: object) -> RadioField:
    # A value other than yes or no gets the same plain message as a missing one, not WTForms'
    # "Not a valid choice".
    return RadioField(
        question,
        choices=YES_NO,
        validate_choice=False,
        validators=[
            InputRequired(_l("Answer yes or no.")),
            AnyOf(tuple(YES_NO), message=_l("Answer yes or no.")),
        ],
    )


class CheckForm(FlaskForm):
    """The three questions. No booking id: the link's token alone says which booking."""

    infection = _yes_no(_l("Do you have a fever or an infection right now?"))
    injury = _yes_no(_l("Have you had a new injury or surgery since your health screening?"))
    symptoms = _yes_no(_l("Do you have any new symptoms such as the ones listed above?"))
    submit = SubmitField(_l("Send my answers"))

    def answers(self) -> dict[str, bool]:
        return {key: self[key].data == "yes" for key in ANSWER_KEYS}


# --- keeping the token out of the pages' caches and the logs --------------------------------


# --- the page -------------------------------------------------------------------------------


def _load_booking(booking_id: int) -> Booking:
    return db.session.scalar(
        select(Booking)
        .where(Booking.id == booking_id)
        .options(selectinload(Booking.technique), selectinload(Booking.client))
    )


def _when(booking: Booking) -> str:
    """'today at 10:00', 'tomorrow at 10:00' or 'on Wednesday 24 March 2027 at 10:00'."""
    timezone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    local = booking.starts_at.astimezone(timezone)
    today = clock.local_today(current_app.config["CLINIC_TIMEZONE"])
    time = f"{local:%H:%M}"
    if local.date() == today:
        return _("today at %(time)s", time=time)
    if local.date() == today + timedelta(days=1):
        return _("tomorrow at %(time)s", time=time)
    return _("on %(date)s at %(time)s", date=format_date(local.date(), current_locale()), time=time)


def _closed(check: PreVisitCheck, booking: Booking, state: State, status: int) -> tuple[str, int]:
    return render_template(
        "previsit/closed.html", check=check, booking=booking, state=state.value
    ), status


@bp.route("/visit-check/<token>", methods=["GET", "POST"])
def check(token: str) -> tuple[str, int]:
    """GET: the three questions; POST: answer them (any yes cancels the session)."""
    found = previsit_checks.find_check(token)
    booking = _load_booking(found.booking_id) if found else None
    if booking is None or (current_user.is_authenticated and current_user.id != booking.client_id):
        return render_template("previsit/unknown.html"), 404
    now = clock.utcnow()
    state = previsit_checks.state_of(found, booking, now)
    if state is not State.OPEN:
        return _closed(found, booking, state, 200 if request.method == "GET" else 409)

    form = CheckForm()
    if not form.validate_on_submit():
        page = render_template(
            "previsit/check.html",
            form=form,
            token=token,
            booking=booking,
            red_flags=previsit_checks.red_flag_texts(),
        )
        return page, (200 if request.method == "GET" else 422)

    answers = form.answers()
    try:
        outcome = previsit_checks.answer_check(found, booking, answers, now=now)
    except previsit_checks.CheckClosed as closed:
        db.session.rollback()
        return _closed(found, _load_booking(booking.id), closed.state, 409)
    except operations.BookingError:
        db.session.rollback()
        booking = _load_booking(booking.id)
        return _closed(found, booking, previsit_checks.state_of(found, booking, now), 409)
    # Who answered and what came of it; the answers themselves stay on the check.
    audit(
        "previsit.answered",
        "booking",
        booking.id,
        actor_id=booking.client_id,
        ip=request.remote_addr or "",
        detail={"outcome": outcome, "signed_in": current_user.is_authenticated},
    )
    if outcome == CANCELLED:
        notices.announce(
            booking, "cancelled", actor_id=booking.client_id, detail={"reason": "pre-visit check"}
        )
    db.session.commit()
    return render_template(
        "previsit/answered.html",
        booking=booking,
        outcome=outcome,
        urgent=answers[SYMPTOMS],
        when=_when(booking),
    ), 200


@bp.app_template_global()
def previsit_state(booking: Booking) -> str | None:
    """For the client's booking page: "answered", "open" (not yet), "missed", or None when no
    check was sent for the session's present time (the reminder comes 24 hours before)."""
    found = previsit_checks.check_of(booking)
    if found is None:
        return None
    state = previsit_checks.state_of(found, booking, clock.utcnow())
    return {
        State.ANSWERED: "answered",
        State.OPEN: "open",
        State.EXPIRED: "missed",
    }.get(state)
