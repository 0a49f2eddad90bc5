"""Booking a series (/book/series): see every date first, then book the chosen ones together.

Routes are added to the booking blueprint; clinic/__init__.py imports this module once,
before the blueprint is registered.

The page may be opened with everything filled in (technique, length, therapist, first start,
`every`, `count`): a treatment plan does so, adding `plan=ID` of its note. The plan id only
travels along: whoever booked it hears of it through `series_booked`, as booking sits below
the domains that make plans.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField, SelectMultipleField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from clinic import clock
from clinic.auth.access import roles_required
from clinic.auth.models import Role, User
from clinic.booking import notices, operations
from clinic.booking.models import Booking, BookingStatus, IdempotencyKey
from clinic.booking.series import (
    EVERY_CHOICES,
    MAX_COUNT,
    MIN_COUNT,
    SeriesPlan,
    check_picks,
    every_labels,
    plan_series,
    wall_times,
)
from clinic.booking.signals import series_booked
from clinic.booking.views import bp, request_from_args
from clinic.database import begin_write
from clinic.extensions import db
from clinic.i18n import current_locale
from clinic.ratelimits import limited, page_user
from clinic.scheduling.models import ClinicPolicy
from clinic.screening.operations import booking_gate
from clinic.templating import format_local_datetime


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    # A naive value stays naive so that check_picks refuses it with a clear message.
    return datetime.fromisoformat(str(value))


class SeriesChoiceForm(FlaskForm):
    """How often and how many: read from the query string, so no CSRF."""

    class Meta:
        csrf = False

    every = SelectField(_l("Repeat"), choices=every_labels, validate_choice=False)
    count = SelectField(
        _l("Sessions"),
        choices=lambda: {n: _("%(num)d sessions", num=n) for n in range(MIN_COUNT, MAX_COUNT + 1)},
        coerce=_int_or_none,
        validate_choice=False,
    )
    submit = SubmitField(_l("Show the dates"))

    def validate_every(self, field: SelectField) -> None:
        if field.data not in EVERY_CHOICES:
            raise ValidationError(_("Choose every week, every 2 weeks or every month."))

    def validate_count(self, field: SelectField) -> None:
        if field.data is None or not MIN_COUNT <= field.data <= MAX_COUNT:
            raise ValidationError(
                _("A series has %(min)d to %(max)d sessions.", min=MIN_COUNT, max=MAX_COUNT)
            )


class SeriesBookForm(FlaskForm):
    """The ticked dates, with a one-time token so a resent form books nothing twice."""

    request_token = HiddenField(validators=[DataRequired(), Length(min=16, max=100)])
    pick = SelectMultipleField(coerce=_instant, validate_choice=False)
    submit = SubmitField(_l("Book the ticked dates"))


class SeriesDateError(operations.BookingError):
    """A booking of the series was refused; `start` says which one."""

    def __init__(self, cause: operations.BookingError, start: datetime, when: str) -> None:
        super().__init__(
            cause.status,
            cause.code,
            _("%(when)s: %(problem)s Nothing was booked.", when=when, problem=cause.message),
            cause.field,
        )
        self.start = start


def _book_all(
    client_id: int,
    technique_slug: str,
    duration: int,
    therapist_id: int,
    picks: list[datetime],
    token: str,
    now: datetime,
    timezone: str,
    plan_id: int | None = None,
) -> list[Booking]:
    """Book every pick in this transaction, or raise and leave the caller to roll back."""
    begin_write()
    client = db.session.get(User, client_id)
    booked: list[Booking] = []
    for start in picks:
        req = operations.Request(technique_slug, duration, therapist_id, start)
        series_id = booked[0].id if booked else None
        try:
            booking = operations.book(client, req, now=now, timezone=timezone, series_id=series_id)
        except operations.BookingError as exc:
            if exc.status == 403:  # the screening: about the client, not about one date
                raise
            when = format_local_datetime(start, timezone, current_locale())
            raise SeriesDateError(exc, start, when) from None
        if not booked:
            # The series is named after its first booking, whose id exists only now.
            booking.series_id = booking.id
            db.session.flush()
        booked.append(booking)
    db.session.add(
        IdempotencyKey(
            user_id=client_id,
            key=token,
            booking_id=booked[0].id,
            body={"series_id": booked[0].id, "booked": len(booked)},
        )
    )
    for booking in booked:
        notices.announce(
            booking,
            "booked" if booking.status is BookingStatus.CONFIRMED else "booked_pending",
            actor_id=client_id,
            detail={"series_id": booking.series_id},
        )
    series_booked.send(
        current_app._get_current_object(), client_id=client_id, bookings=booked, plan_id=plan_id
    )
    db.session.commit()
    return booked


def _booked_message(booked: list[Booking]) -> str:
    held = sum(1 for b in booked if b.status is BookingStatus.PENDING)
    count = len(booked)
    sentences = [ngettext("%(num)d session booked.", "%(num)d sessions booked.", count)]
    if held:
        sentences.append(
            ngettext(
                "%(num)d of them is held until a review of your screening confirms them.",
                "%(num)d of them are held until a review of your screening confirms them.",
                held,
            )
        )
    sentences.append(_("Confirmations are on their way by e-mail."))
    return " ".join(sentences)


@bp.route("/book/series", methods=["GET", "POST"])
@roles_required(Role.CLIENT)
@limited("booking", page_user)
def series() -> str | Response | tuple[str, int]:
    """Plan a series from a first session's time; POST books the ticked dates, all or none."""
    req = request_from_args(request.args)
    # Plain values: a retry after a rollback must not reload objects before begin_write().
    me = current_user.id
    plan_id = _int_or_none(request.args.get("plan"))
    if req is None:
        flash(_("That time could not be read. Please pick one from the list."), "warning")
        return redirect(url_for("booking.search"))
    timezone = current_app.config["CLINIC_TIMEZONE"]
    zone = ZoneInfo(timezone)
    now = clock.utcnow()
    policy = ClinicPolicy.current()
    choice = SeriesChoiceForm(formdata=request.args)
    form = SeriesBookForm()
    page = {"req": req, "choice": choice, "form": form, "policy": policy, "plan_id": plan_id}
    try:
        technique, price = operations.check_request(req, now=now, timezone=timezone, policy=policy)
    except operations.BookingError as exc:
        return render_template("booking/series.html", problem=exc, **page), 422
    page |= {"technique": technique, "price": price}
    page["gate"] = booking_gate(me, technique, now)
    slug = technique.slug

    chosen = "every" in request.args or "count" in request.args
    if not chosen:
        choice.every.data, choice.count.data = "weekly", 4
        return render_template("booking/series.html", **page)
    if not choice.validate():
        return render_template("booking/series.html", **page), 422
    first_local = req.start.astimezone(zone).replace(tzinfo=None)

    def plan() -> SeriesPlan:
        return plan_series(
            technique=technique,
            duration_minutes=req.duration_minutes,
            therapist_id=req.therapist_id,
            first_local=first_local,
            every=choice.every.data,
            count=choice.count.data,
            now=now,
            timezone=timezone,
            policy=policy,
        )

    problem: operations.BookingError | None = None
    failed: datetime | None = None
    if form.validate_on_submit():
        token = form.request_token.data
        earlier = db.session.get(IdempotencyKey, (me, token))
        if earlier is not None and earlier.booking_id:
            flash(_("You had already sent this series; nothing was booked twice."), "info")
            return redirect(url_for("booking.mine"))
        try:
            walls = wall_times(first_local, choice.every.data, choice.count.data)
            picks = check_picks(walls, form.pick.data or [], zone)
        except ValueError as exc:
            problem = operations.BookingError(422, "invalid", str(exc), "pick")
        else:
            try:
                booked = operations.with_retries(
                    lambda: _book_all(
                        me,
                        slug,
                        req.duration_minutes,
                        req.therapist_id,
                        picks,
                        token,
                        now,
                        timezone,
                        plan_id,
                    )
                )
            except operations.BookingError as exc:
                db.session.rollback()
                again = db.session.get(IdempotencyKey, (me, token))
                if again is not None and again.booking_id:  # our own twin request won the race
                    return redirect(url_for("booking.mine"))
                problem = exc
                failed = getattr(exc, "start", None)
            else:
                flash(_booked_message(booked), "success")
                return redirect(url_for("booking.mine"))
    elif request.method == "POST" and form.pick.errors:
        problem = operations.BookingError(
            422,
            "invalid",
            _("A chosen time could not be read. Please choose from the list."),
            "pick",
        )
    elif request.method == "POST":
        problem = operations.BookingError(
            400, "invalid", _("The form was incomplete or had expired. Please try again.")
        )
    if request.method == "GET":
        form.request_token.data = secrets.token_urlsafe(24)

    found = plan()
    if found.therapist_name is None and problem is None:
        problem = operations.BookingError(
            422,
            "invalid",
            _("That therapist does not offer this technique on these dates."),
            "therapist",
        )
    ticked = set(form.pick.data or []) if request.method == "POST" else None
    return render_template(
        "booking/series.html",
        plan=found,
        problem=problem,
        failed_day=failed.astimezone(zone).date() if failed else None,
        ticked=ticked,
        **page,
    ), (problem.status if problem else 200)
