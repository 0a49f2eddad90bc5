"""Changing a booking: cancelling, marking and confirming it, moving it to another time, and
settling pending bookings when a screening review decides.

Routes are added to the booking blueprint; clinic/__init__.py imports this module once,
before the blueprint is registered.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from clinic import clock
from clinic.auth.access import roles_required
from clinic.auth.forms import ConfirmForm
from clinic.auth.models import Role, User
from clinic.booking import changes, notices, operations
from clinic.booking.attendance import needs_missed_sessions_review
from clinic.booking.availability import search_slots
from clinic.booking.forms import CancelForm, MarkForm, RescheduleForm
from clinic.booking.models import Booking, BookingStatus
from clinic.booking.views import DAYS_PER_PAGE, bp, load_booking, signed_in_user
from clinic.catalog.models import Therapist
from clinic.database import begin_write
from clinic.extensions import db
from clinic.numbers import whole_number
from clinic.scheduling.models import ClinicPolicy
from clinic.scheduling.slots import Slot
from clinic.screening.models import Decision, Screening, ScreeningReview
from clinic.screening.signals import review_decided

# --- cancelling, marking, confirming --------------------------------------------------------


def _change(booking_id: int, form_class, action) -> Response:
    booking = load_booking(booking_id)
    form = form_class()
    if not form.validate_on_submit():
        flash(_("The form was incomplete or had expired. Please try again."), "warning")
        return redirect(url_for("booking.show", booking_id=booking.id))
    try:
        event, message = action(booking, form)
    except operations.BookingError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        if event:
            notices.announce(booking, event, actor_id=current_user.id)
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("booking.show", booking_id=booking_id))


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel(booking_id: int) -> Response:
    def action(booking: Booking, form: CancelForm) -> tuple[str, str]:
        late = bool(form.late.data)
        changes.cancel(
            booking, by=signed_in_user(), reason=form.reason.data, now=clock.utcnow(), late=late
        )
        if late:
            return "cancelled", _(
                "The booking is cancelled and counted as a late cancellation. An e-mail "
                "confirms it."
            )
        return "cancelled", _("The booking is cancelled. An e-mail confirms it.")

    return _change(booking_id, CancelForm, action)


@bp.route("/bookings/<int:booking_id>/mark", methods=["POST"])
@roles_required(Role.THERAPIST, Role.ADMIN)
def mark(booking_id: int) -> Response:
    def action(booking: Booking, form: MarkForm) -> tuple[str | None, str]:
        outcome = BookingStatus(form.outcome.data)
        changes.mark(booking, outcome, by=signed_in_user(), now=clock.utcnow())
        return outcome.value, (
            _("Marked completed.") if outcome is BookingStatus.COMPLETED else _("Marked no-show.")
        )

    return _change(booking_id, MarkForm, action)


@bp.route("/bookings/<int:booking_id>/confirm", methods=["POST"])
@roles_required(Role.ADMIN)
def confirm_pending(booking_id: int) -> Response:
    def action(booking: Booking, form: ConfirmForm) -> tuple[str, str]:
        changes.confirm_pending(booking, by=signed_in_user(), now=clock.utcnow())
        return "confirmed", _("The booking is confirmed; the client has been told.")

    return _change(booking_id, ConfirmForm, action)


@bp.app_template_global()
def held_for_missed_sessions(client_id: int) -> bool:
    """Whether the clinic confirms this client's bookings itself because of no-shows: for the
    confirm page, the booking page and the e-mails, which explain why a booking is held."""
    return needs_missed_sessions_review(client_id, ClinicPolicy.current())


# --- moving a booking -----------------------------------------------------------------------


def _reschedule_page(
    booking: Booking,
    *,
    form: RescheduleForm,
    problem: str | None,
    status: int = 200,
) -> tuple[str, int]:
    """The free times to move the booking to, and the chosen one to confirm."""
    timezone = current_app.config["CLINIC_TIMEZONE"]
    now = clock.utcnow()
    me = signed_in_user()
    may_change = booking.why_not_reschedule(me, now) is None
    any_therapist = booking.may_change_therapist(me)
    wanted = request.args.get("therapist", "")
    therapist_id: int | None = booking.therapist_id
    if any_therapist and wanted == "any":
        therapist_id = None
    elif any_therapist and whole_number(wanted) is not None:
        therapist_id = whole_number(wanted)

    policy = ClinicPolicy.current()
    today = clock.local_today(timezone)
    last_bookable = today + timedelta(days=policy.horizon_days)
    try:
        first_day = date.fromisoformat(request.args.get("from", ""))
    except ValueError:
        first_day = today
    first_day = min(max(first_day, today), last_bookable)
    last_day = min(first_day + timedelta(days=DAYS_PER_PAGE - 1), last_bookable)

    found = None
    if may_change:
        found = search_slots(
            technique=booking.technique,
            duration_minutes=booking.duration_minutes,
            first_day=first_day,
            last_day=last_day,
            now=now,
            timezone=timezone,
            therapist_id=therapist_id,
            policy=policy,
        )
    names = dict(found.therapist_names) if found else {}
    names.setdefault(booking.therapist_id, booking.therapist.user.name)

    chosen = None
    if request.method == "GET" and request.args.get("start"):
        form.start.data = request.args["start"]
        form.therapist.data = request.args.get("to", str(booking.therapist_id))
    # A refused move is not offered again; a form that had merely expired is.
    offer = request.method == "GET" or status == 400
    start, to = form.new_start(), form.new_therapist()
    # Offer to confirm only a time this page itself lists as free (a link may be stale or made up).
    listed = bool(
        found and start and any(s.start == start and s.therapist_id == to for s in found.slots)
    )
    if offer and may_change and start and to and not listed and problem is None:
        problem = _("That time is not free now. Please choose one of the times below.")
    if offer and may_change and listed:
        chosen_therapist = db.session.get(Therapist, to)
        if chosen_therapist is not None:
            chosen = {
                "start": form.new_start(),
                "end": form.new_start() + timedelta(minutes=booking.duration_minutes),
                "therapist_name": chosen_therapist.user.name,
            }

    def page(day: date) -> dict[str, object]:
        return {
            "booking_id": booking.id,
            "therapist": "any" if therapist_id is None else therapist_id,
            "from": day.isoformat(),
        }

    def move_link(slot: Slot) -> str:
        return url_for(
            "booking.reschedule",
            start=slot.start.isoformat(),
            to=slot.therapist_id,
            _anchor="chosen",
            **page(first_day),
        )

    return render_template(
        "booking/reschedule.html",
        move_link=move_link,
        booking=booking,
        form=form,
        problem=problem,
        search=found,
        names=names,
        chosen=chosen,
        therapist_id=therapist_id,
        any_therapist=any_therapist,
        earlier=page(max(today, first_day - timedelta(days=DAYS_PER_PAGE)))
        if first_day > today
        else None,
        later=page(last_day + timedelta(days=1)) if last_day < last_bookable else None,
    ), status


@bp.route("/bookings/<int:booking_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule(booking_id: int) -> Response | tuple[str, int]:
    """GET: free times for the same technique and length; POST: move the booking there."""
    booking = load_booking(booking_id)
    now = clock.utcnow()
    form = RescheduleForm()
    if request.method == "GET":
        return _reschedule_page(
            booking, form=form, problem=booking.why_not_reschedule(signed_in_user(), now)
        )
    if not form.validate_on_submit():
        return _reschedule_page(
            booking,
            form=form,
            problem=_("The form was incomplete or had expired. Please pick the time again."),
            status=400,
        )
    new_start, therapist_id = form.new_start(), form.new_therapist()
    if new_start is None or therapist_id is None:
        return _reschedule_page(
            booking,
            form=form,
            problem=_("That time could not be read. Please pick one."),
            status=422,
        )
    timezone = current_app.config["CLINIC_TIMEZONE"]
    # Everything so far was read in a reader's transaction, which SQLite cannot turn into a
    # writer's once another writer has committed ("database is locked" on every retry). End
    # it, and open each attempt as a writer before it reads anything.
    db.session.rollback()

    def attempt() -> changes.Move:
        begin_write()
        moving = db.session.get(Booking, booking_id)
        before = changes.reschedule(
            moving,
            by=signed_in_user(),
            new_start=new_start,
            therapist_id=therapist_id,
            now=now,
            timezone=timezone,
        )
        notices.announce(
            moving,
            "rescheduled",
            actor_id=current_user.id,
            detail={
                "from": before.starts_at.isoformat(),
                "to": moving.starts_at.isoformat(),
                "from_therapist_id": before.therapist_id,
                "therapist_id": moving.therapist_id,
            },
        )
        db.session.commit()
        return before

    try:
        operations.with_retries(attempt)
    except operations.BookingError as exc:
        db.session.rollback()
        return _reschedule_page(
            load_booking(booking_id), form=form, problem=exc.message, status=exc.status
        )
    flash(_("The booking has moved. An e-mail confirms the new time."), "success")
    return redirect(url_for("booking.show", booking_id=booking_id))


# --- pending bookings decided with the screening review -------------------------------------


@review_decided.connect
def settle_pending_bookings(
    sender: Flask,
    *,
    screening: Screening,
    review: ScreeningReview,
    decision: Decision,
    technique_ids: list[int],
    **extra: object,
) -> None:
    """Approve/clear confirms, reject cancels the client's pending bookings of those techniques.

    Runs inside the review request's transaction (connected once, when this module is
    imported by register_blueprints); the review view commits.
    """
    admin = db.session.get(User, review.admin_id)
    for booking, event in changes.settle_after_review(
        screening,
        decision=decision,
        technique_ids=technique_ids,
        admin=admin,
        reason=review.reason,
        now=review.decided_at,
    ):
        notices.announce(booking, event, actor_id=admin.id, detail={"review_id": review.id})
