"""Finding a free time (/book)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import HiddenField, SubmitField
from wtforms.validators import DataRequired

from clinic import clock
from clinic.audit.models import record as audit
from clinic.auth.access import roles_required
from clinic.auth.forms import ConfirmForm
from clinic.auth.models import Role, User
from clinic.booking import notices, operations
from clinic.booking.availability import search_slots
from clinic.booking.forms import BookForm, CancelForm, MarkForm, SlotSearchForm
from clinic.booking.models import Booking, BookingStatus, IdempotencyKey
from clinic.catalog.models import Technique, Therapist
from clinic.database import begin_write
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from clinic.screening.models import Decision, Screening, ScreeningReview
from clinic.screening.operations import booking_gate, current_screening, notes_for_session
from clinic.screening.signals import review_decided

bp = Blueprint("booking", __name__)

DAYS_PER_PAGE = 14


@bp.route("/book")
def search() -> str:
    """Free times for a technique, two weeks a page, no JavaScript needed."""
    timezone = current_app.config["CLINIC_TIMEZONE"]
    today = clock.local_today(timezone)
    techniques = list(
        db.session.scalars(
            select(Technique)
            .where(Technique.active)
            .options(selectinload(Technique.options))
            .order_by(Technique.position, Technique.name)
        )
    )
    form = SlotSearchForm(request.args)
    form.technique.choices = {t.slug: t.name for t in techniques}
    chosen = next((t for t in techniques if t.slug == form.technique.data), None)
    notes: list[str] = []
    if chosen is None:
        if form.technique.data:
            notes.append("We do not offer that technique; choose one from the list.")
        chosen = techniques[0] if techniques else None
    if chosen is None:
        return render_template("booking/search.html", form=form, search=None, notes=notes)
    form.technique.data = chosen.slug

    durations = [o.duration_minutes for o in chosen.options]
    form.duration.choices = {d: f"{d} minutes" for d in durations}
    if request.args.get("duration") and form.duration.data not in durations:
        notes.append(f"{chosen.name} comes in {', '.join(map(str, durations))} minutes.")
    if form.duration.data not in durations:
        form.duration.data = durations[0]

    policy = ClinicPolicy.current()
    last_bookable = today + timedelta(days=policy.horizon_days)
    first_day = form.start.data or today
    if request.args.get("start") and form.start.data is None:
        notes.append("That date could not be read; showing from today.")
        first_day = today
    if first_day < today:
        notes.append("That date has passed; showing from today.")
        first_day = today
    if first_day > last_bookable:
        notes.append(f"We take bookings up to {policy.horizon_days} days ahead.")
        first_day = last_bookable
    form.start.data = first_day
    last_day = min(first_day + timedelta(days=DAYS_PER_PAGE - 1), last_bookable)

    result = search_slots(
        technique=chosen,
        duration_minutes=form.duration.data,
        first_day=first_day,
        last_day=last_day,
        now=clock.utcnow(),
        timezone=timezone,
        policy=policy,
    )
    therapist_id = form.therapist.data if request.args.get("therapist") else None
    form.therapist.choices = {0: "Any therapist"} | dict(
        sorted(result.therapist_names.items(), key=lambda item: item[1])
    )
    slots = result.slots
    if therapist_id:
        if therapist_id not in result.therapist_names:
            notes.append("That therapist does not offer this technique in these weeks.")
        slots = [s for s in slots if s.therapist_id == therapist_id]
    else:
        form.therapist.data = 0
    shown = type(result)(result.timezone, first_day, last_day, slots, result.therapist_names)

    def page_link(day):
        return {
            "technique": chosen.slug,
            "duration": form.duration.data,
            "therapist": form.therapist.data or None,
            "start": day.isoformat(),
        }

    return render_template(
        "booking/search.html",
        form=form,
        technique=chosen,
        search=shown,
        notes=notes,
        zone_name=timezone,
        zone_abbreviation=clock.utcnow().astimezone(ZoneInfo(timezone)).tzname(),
        earlier=page_link(max(today, first_day - timedelta(days=DAYS_PER_PAGE)))
        if first_day > today
        else None,
        later=page_link(last_day + timedelta(days=1)) if last_day < last_bookable else None,
    )


# --- confirming, seeing and changing a booking ----------------------------------------------


def _me() -> User:
    return db.session.get(User, current_user.id)


def _request_from_args(args) -> operations.Request | None:
    """The session a link asks for; a start without UTC offset is read as clinic time."""
    try:
        start = datetime.fromisoformat(args.get("start", ""))
        if start.tzinfo is None:
            start = start.replace(tzinfo=ZoneInfo(current_app.config["CLINIC_TIMEZONE"]))
        return operations.Request(
            technique_slug=args.get("technique", ""),
            duration_minutes=int(args.get("duration", "")),
            therapist_id=int(args.get("therapist", "")),
            start=start,
        )
    except (TypeError, ValueError):
        return None


@bp.route("/book/confirm", methods=["GET", "POST"])
@roles_required(Role.CLIENT)
def confirm() -> str | Response | tuple[str, int]:
    """Show what will be booked, with price and cancellation policy; POST books it."""
    req = _request_from_args(request.args)
    if req is None:
        flash("That time could not be read. Please pick one from the list.", "warning")
        return redirect(url_for("booking.search"))
    timezone = current_app.config["CLINIC_TIMEZONE"]
    now = clock.utcnow()
    policy = ClinicPolicy.current()
    form = BookForm()
    problem: operations.BookingError | None = None
    try:
        technique, price = operations.check_request(req, now=now, timezone=timezone, policy=policy)
    except operations.BookingError as exc:
        return render_template("booking/confirm.html", problem=exc, req=req, form=form), 422
    therapist = db.session.get(Therapist, req.therapist_id)
    gate = booking_gate(current_user.id, technique, now)
    if request.method == "GET":
        # Say now if the time is gone, rather than after the client presses the button.
        problem = operations.availability_problem(
            req, technique, now=now, timezone=timezone, policy=policy
        )
    elif not form.request_token.data:
        flash("Please confirm once more.", "warning")

    if form.validate_on_submit():
        token = form.request_token.data
        earlier = db.session.get(IdempotencyKey, (current_user.id, token))
        if earlier is not None and earlier.booking_id:
            flash("You had already sent this booking; here it is.", "info")
            return redirect(url_for("booking.show", booking_id=earlier.booking_id))

        def attempt() -> Booking:
            booking = operations.book(_me(), req, now=now, timezone=timezone)
            db.session.add(
                IdempotencyKey(user_id=current_user.id, key=token, booking_id=booking.id)
            )
            notices.announce(
                booking,
                "booked" if booking.status is BookingStatus.CONFIRMED else "booked_pending",
                actor_id=current_user.id,
            )
            db.session.commit()
            return booking

        try:
            booking = operations.with_retries(attempt)
        except operations.BookingError as exc:
            db.session.rollback()
            again = db.session.get(IdempotencyKey, (current_user.id, token))
            if again is not None and again.booking_id:  # our own twin request won the race
                return redirect(url_for("booking.show", booking_id=again.booking_id))
            problem = exc
        else:
            if booking.status is BookingStatus.PENDING:
                flash(
                    "We hold this time for you and confirm it after a review of your "
                    "screening. You will get an e-mail.",
                    "warning",
                )
            else:
                flash(
                    "Your booking is confirmed. A confirmation is on its way by e-mail.", "success"
                )
            return redirect(url_for("booking.show", booking_id=booking.id))
    if request.method == "GET" or not form.request_token.data:
        form.request_token.data = secrets.token_urlsafe(24)
    return render_template(
        "booking/confirm.html",
        req=req,
        form=form,
        technique=technique,
        price=price,
        therapist=therapist,
        gate=gate,
        policy=policy,
        problem=problem,
        end=req.start + timedelta(minutes=req.duration_minutes),
    ), (problem.status if problem else 200)


def _load(booking_id: int) -> Booking:
    booking = db.session.scalar(
        select(Booking)
        .where(Booking.id == booking_id)
        .options(
            selectinload(Booking.client),
            selectinload(Booking.technique),
            selectinload(Booking.room),
            selectinload(Booking.therapist).selectinload(Therapist.user),
        )
    )
    if booking is None or not booking.is_seen_by(_me()):
        abort(404)  # someone else's booking does not exist, as far as you are concerned
    return booking


@bp.route("/bookings/<int:booking_id>")
@login_required
def show(booking_id: int) -> str:
    booking = _load(booking_id)
    now = clock.utcnow()
    me = _me()
    session_notes = None
    if me.id != booking.client_id:
        # Staff see what matters for this session, never the questionnaire; each look is logged.
        screening = current_screening(booking.client_id)
        if screening is not None:
            session_notes = notes_for_session(screening, booking.technique)
            audit(
                "screening.notes_viewed",
                "screening",
                screening.id,
                actor_id=me.id,
                ip=request.remote_addr or "",
                detail={"client_id": booking.client_id, "booking_id": booking.id},
            )
            db.session.commit()
    return render_template(
        "booking/show.html",
        booking=booking,
        now=now,
        session_notes=session_notes,
        cancel_problem=booking.why_not_cancel(me, now),
        reschedule_problem=operations.why_not_reschedule(booking, me, now),
        mark_problem=booking.why_not_mark(me, now),
        cancel_form=CancelForm(),
        mark_form=MarkForm(),
        confirm_form=ConfirmForm(),
    )


@bp.route("/my/bookings")
@roles_required(Role.CLIENT)
def mine() -> str:
    now = clock.utcnow()
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.client_id == current_user.id)
            .options(
                selectinload(Booking.technique),
                selectinload(Booking.therapist).selectinload(Therapist.user),
            )
            .order_by(Booking.starts_at)
        )
    )
    upcoming = [b for b in bookings if b.ends_at > now and b.status is not BookingStatus.CANCELLED]
    past = [b for b in reversed(bookings) if b not in upcoming]
    return render_template("booking/mine.html", upcoming=upcoming, past=past, now=now)


def _change(booking_id: int, form_class, action) -> Response:
    booking = _load(booking_id)
    form = form_class()
    if not form.validate_on_submit():
        flash("The form was incomplete or had expired. Please try again.", "warning")
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
        operations.cancel(booking, by=_me(), reason=form.reason.data, now=clock.utcnow())
        return "cancelled", "The booking is cancelled. An e-mail confirms it."

    return _change(booking_id, CancelForm, action)


@bp.route("/bookings/<int:booking_id>/mark", methods=["POST"])
@login_required
def mark(booking_id: int) -> Response:
    def action(booking: Booking, form: MarkForm) -> tuple[str | None, str]:
        outcome = BookingStatus(form.outcome.data)
        operations.mark(booking, outcome, by=_me(), now=clock.utcnow())
        return outcome.value, (
            f"Marked {'completed' if outcome is BookingStatus.COMPLETED else 'no-show'}."
        )

    return _change(booking_id, MarkForm, action)


@bp.route("/bookings/<int:booking_id>/confirm", methods=["POST"])
@roles_required(Role.ADMIN)
def confirm_pending(booking_id: int) -> Response:
    def action(booking: Booking, form: ConfirmForm) -> tuple[str, str]:
        operations.confirm_pending(booking, by=_me(), now=clock.utcnow())
        return "confirmed", "The booking is confirmed; the client has been told."

    return _change(booking_id, ConfirmForm, action)


# --- moving a booking -----------------------------------------------------------------------


class RescheduleForm(FlaskForm):
    """The chosen new time. Kept here, beside its only view, while forms.py is being edited
    for series; it belongs in forms.py."""

    start = HiddenField(validators=[DataRequired()])
    therapist = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Move the booking here")

    def new_start(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.start.data or "")
        except ValueError:
            return None

    def new_therapist(self) -> int | None:
        return int(self.therapist.data) if (self.therapist.data or "").isdigit() else None


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
    me = _me()
    may_change = operations.why_not_reschedule(booking, me, now) is None
    any_therapist = operations.may_change_therapist(booking, me)
    wanted = request.args.get("therapist", "")
    therapist_id: int | None = booking.therapist_id
    if any_therapist and wanted == "any":
        therapist_id = None
    elif any_therapist and wanted.isdigit():
        therapist_id = int(wanted)

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
    if offer and may_change and form.new_start() and form.new_therapist():
        chosen_therapist = db.session.get(Therapist, form.new_therapist())
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

    return render_template(
        "booking/reschedule.html",
        booking=booking,
        form=form,
        problem=problem,
        search=found,
        names=names,
        chosen=chosen,
        therapist_id=therapist_id,
        any_therapist=any_therapist,
        this_page=page(first_day),
        earlier=page(max(today, first_day - timedelta(days=DAYS_PER_PAGE)))
        if first_day > today
        else None,
        later=page(last_day + timedelta(days=1)) if last_day < last_bookable else None,
    ), status


@bp.route("/bookings/<int:booking_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule(booking_id: int) -> Response | tuple[str, int]:
    """GET: free times for the same technique and length; POST: move the booking there."""
    booking = _load(booking_id)
    now = clock.utcnow()
    form = RescheduleForm()
    if request.method == "GET":
        return _reschedule_page(
            booking, form=form, problem=operations.why_not_reschedule(booking, _me(), now)
        )
    if not form.validate_on_submit():
        return _reschedule_page(
            booking,
            form=form,
            problem="The form was incomplete or had expired. Please pick the time again.",
            status=400,
        )
    new_start, therapist_id = form.new_start(), form.new_therapist()
    if new_start is None or therapist_id is None:
        return _reschedule_page(
            booking, form=form, problem="That time could not be read. Please pick one.", status=422
        )
    timezone = current_app.config["CLINIC_TIMEZONE"]
    # Everything so far was read in a reader's transaction, which SQLite cannot turn into a
    # writer's once another writer has committed ("database is locked" on every retry). End
    # it, and open each attempt as a writer before it reads anything.
    db.session.rollback()

    def attempt() -> operations.Move:
        begin_write()
        moving = db.session.get(Booking, booking_id)
        before = operations.reschedule(
            moving,
            by=_me(),
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
            _load(booking_id), form=form, problem=exc.message, status=exc.status
        )
    flash("The booking has moved. An e-mail confirms the new time.", "success")
    return redirect(url_for("booking.show", booking_id=booking_id))


# --- the staff's lists ----------------------------------------------------------------------

# How far back a therapist's list reaches.
RECENT_SESSIONS = timedelta(days=30)
ADMIN_PAGE_SIZE = 50


@bp.route("/therapist/sessions")
@roles_required(Role.THERAPIST)
def sessions() -> str:
    """The therapist's own sessions: upcoming ones, then the last 30 days. Five queries."""
    now = clock.utcnow()
    therapist_id = db.session.scalar(
        select(Therapist.id).where(Therapist.user_id == current_user.id)
    )
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.therapist_id == therapist_id, Booking.ends_at > now - RECENT_SESSIONS)
            .options(
                selectinload(Booking.client),
                selectinload(Booking.technique),
                selectinload(Booking.room),
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )
    upcoming = [b for b in bookings if b.ends_at > now]
    recent = [b for b in reversed(bookings) if b.ends_at <= now]
    return render_template("booking/sessions.html", upcoming=upcoming, recent=recent, now=now)


@bp.route("/admin/bookings")
@roles_required(Role.ADMIN)
def admin_list() -> str:
    """Every booking, pending ones first (soonest first), then the rest newest first."""
    timezone = current_app.config["CLINIC_TIMEZONE"]
    notes: list[str] = []
    status = request.args.get("status", "")
    stmt = select(Booking)
    if status in {s.value for s in BookingStatus}:
        stmt = stmt.where(Booking.status == BookingStatus(status))
    elif status:
        notes.append("Unknown status; showing all bookings.")
        status = ""
    day: date | None = None
    if request.args.get("day"):
        try:
            day = date.fromisoformat(request.args["day"])
        except ValueError:
            notes.append("That date could not be read (use YYYY-MM-DD); showing all dates.")
    if day is not None:
        zone = ZoneInfo(timezone)
        start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        stmt = stmt.where(Booking.starts_at >= start, Booking.starts_at < end)
    is_pending = Booking.status == BookingStatus.PENDING
    stmt = stmt.options(
        selectinload(Booking.client),
        selectinload(Booking.technique),
        selectinload(Booking.room),
        selectinload(Booking.therapist).selectinload(Therapist.user),
    ).order_by(
        case((is_pending, 0), else_=1),
        # Pending: the soonest first, as it expires first. The rest: the newest first.
        case((is_pending, Booking.starts_at), else_=None),
        Booking.starts_at.desc(),
        Booking.id.desc(),
    )
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(stmt, page=page, per_page=ADMIN_PAGE_SIZE, error_out=False)
    return render_template(
        "booking/admin_list.html",
        pagination=pagination,
        status=status,
        day=day,
        statuses=list(BookingStatus),
        notes=notes,
    )


@bp.app_template_global()
def pending_booking_count() -> int:
    """For the admin dashboard; a function, so pages that do not show it do not query."""
    return db.session.scalar(
        select(func.count()).select_from(Booking).where(Booking.status == BookingStatus.PENDING)
    )


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
    for booking, event in operations.settle_after_review(
        screening,
        decision=decision,
        technique_ids=technique_ids,
        admin=admin,
        reason=review.reason,
        now=review.decided_at,
    ):
        notices.announce(booking, event, actor_id=admin.id, detail={"review_id": review.id})
