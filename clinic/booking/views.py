"""Finding a free time (/book), booking it, and seeing one's bookings.

The booking blueprint's other pages add their routes to `bp` when clinic/__init__.py imports
them: change_views.py (changing a booking), staff_views.py (the staff's lists) and
series_views.py (booking a series).
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import and_, not_, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response

from clinic import clock
from clinic.audit.models import record as audit
from clinic.auth.access import roles_required
from clinic.auth.forms import ConfirmForm
from clinic.auth.models import Role, User
from clinic.booking import notices, operations
from clinic.booking.attendance import MISSED_SESSIONS_NOTICE, needs_missed_sessions_review
from clinic.booking.availability import ShownSlot, search_slots
from clinic.booking.forms import BookForm, CancelForm, MarkForm, SlotSearchForm
from clinic.booking.models import Booking, BookingStatus, IdempotencyKey
from clinic.catalog.models import Technique, Therapist
from clinic.database import writes_on_get
from clinic.extensions import db
from clinic.numbers import whole_number
from clinic.paging import paged, read_page
from clinic.ratelimits import limited, page_user
from clinic.scheduling.models import ClinicPolicy
from clinic.scheduling.slots import Slot
from clinic.screening.operations import booking_gate, current_screening, notes_for_session

bp = Blueprint("booking", __name__)

DAYS_PER_PAGE = 14
PAST_PER_PAGE = 20  # a client's past and cancelled bookings on /my/bookings


def confirm_links(technique_slug: str, duration: int) -> Callable[[Slot], str]:
    """Each free time's link to its confirm page: the URL url_for gives, built without routing.

    A page of two weeks can hold thousands of times; routing each link took most of its time.
    """
    base = url_for("booking.confirm", technique=technique_slug, duration=duration)

    def link(slot: Slot) -> str:
        # Quoted as Werkzeug quotes it: of what isoformat() writes, only the offset's "+" needs it.
        start = slot.start.isoformat().replace("+", "%2B")
        return f"{base}&therapist={slot.therapist_id}&start={start}"

    return link


@bp.app_template_filter()
def slot_items(slots: Sequence[ShownSlot]) -> Markup:
    """Free times as the <li> items of their list (templates/booking/_slot_days.html), in one
    pass: a page of two weeks can hold hundreds of times, and in a template loop most of the
    page's time went to making an escaped string of every value."""
    # Each name's "with ..." once: the translated text is escaped as a whole.
    hidden = {
        name: escape(_("with %(name)s", name=name)) for name in {slot.therapist for slot in slots}
    }
    # Every value is escaped as it goes in: html.escape escapes what markupsafe does.
    items = (
        '<li class="list-inline-item"><a class="btn btn-sm btn-outline-primary slot" '
        f'href="{html.escape(slot.href)}"><time datetime="{html.escape(slot.instant)}">'
        f"{html.escape(slot.clock)}</time>"
        f'<span class="visually-hidden"> {hidden[slot.therapist]}</span></a></li>'
        for slot in slots
    )
    return Markup("\n        ".join(items))  # noqa: S704 (escaped above)


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
            notes.append(_("We do not offer that technique; choose one from the list."))
        chosen = techniques[0] if techniques else None
    if chosen is None:
        return render_template("booking/search.html", form=form, search=None, notes=notes)
    form.technique.data = chosen.slug

    durations = [o.duration_minutes for o in chosen.options]
    form.duration.choices = {d: ngettext("%(num)d minute", "%(num)d minutes", d) for d in durations}
    if request.args.get("duration") and form.duration.data not in durations:
        notes.append(
            _(
                "%(technique)s comes in %(lengths)s minutes.",
                technique=chosen.name,
                lengths=", ".join(map(str, durations)),
            )
        )
    if form.duration.data not in durations:
        form.duration.data = durations[0]

    policy = ClinicPolicy.current()
    last_bookable = today + timedelta(days=policy.horizon_days)
    first_day = form.start.data or today
    if request.args.get("start") and form.start.data is None:
        notes.append(_("That date could not be read; showing from today."))
        first_day = today
    if first_day < today:
        notes.append(_("That date has passed; showing from today."))
        first_day = today
    if first_day > last_bookable:
        notes.append(_("We take bookings up to %(days)d days ahead.", days=policy.horizon_days))
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
    form.therapist.choices = {0: _("Any therapist")} | dict(
        sorted(result.therapist_names.items(), key=lambda item: item[1])
    )
    slots = result.slots
    if therapist_id:
        if therapist_id not in result.therapist_names:
            notes.append(_("That therapist does not offer this technique in these weeks."))
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
        confirm_link=confirm_links(chosen.slug, form.duration.data),
        notes=notes,
        zone_name=timezone,
        zone_abbreviation=clock.utcnow().astimezone(ZoneInfo(timezone)).tzname(),
        earlier=page_link(max(today, first_day - timedelta(days=DAYS_PER_PAGE)))
        if first_day > today
        else None,
        later=page_link(last_day + timedelta(days=1)) if last_day < last_bookable else None,
    )


# --- confirming and seeing a booking --------------------------------------------------------


def signed_in_user() -> User:
    return db.session.get(User, current_user.id)


def request_from_args(args) -> operations.Request | None:
    """The session a link asks for; a start without UTC offset is read as clinic time."""
    try:
        start = datetime.fromisoformat(args.get("start", ""))
        if start.tzinfo is None:
            start = start.replace(tzinfo=ZoneInfo(current_app.config["CLINIC_TIMEZONE"]))
        duration, therapist = (
            whole_number(args.get("duration")),
            whole_number(args.get("therapist")),
        )
        if duration is None or therapist is None:
            return None
        return operations.Request(
            technique_slug=args.get("technique", ""),
            duration_minutes=duration,
            therapist_id=therapist,
            start=start,
        )
    except (TypeError, ValueError):
        return None


@bp.route("/book/confirm", methods=["GET", "POST"])
@roles_required(Role.CLIENT)
@limited("booking", page_user)
def confirm() -> str | Response | tuple[str, int]:
    """Show what will be booked, with price and cancellation policy; POST books it."""
    req = request_from_args(request.args)
    if req is None:
        flash(_("That time could not be read. Please pick one from the list."), "warning")
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
    if request.method == "GET":
        # Say now if the time is gone, rather than after the client presses the button.
        problem = operations.availability_problem(
            req, technique, now=now, timezone=timezone, policy=policy
        )
    elif not form.request_token.data:
        flash(_("Please confirm once more."), "warning")

    if form.validate_on_submit():
        token = form.request_token.data
        earlier = db.session.get(IdempotencyKey, (current_user.id, token))
        if earlier is not None and earlier.booking_id:
            flash(_("You had already sent this booking; here it is."), "info")
            return redirect(url_for("booking.show", booking_id=earlier.booking_id))

        def attempt() -> tuple[int, BookingStatus]:
            booking = operations.book(signed_in_user(), req, now=now, timezone=timezone)
            db.session.add(
                IdempotencyKey(user_id=current_user.id, key=token, booking_id=booking.id)
            )
            notices.announce(
                booking,
                "booked" if booking.status is BookingStatus.CONFIRMED else "booked_pending",
                actor_id=current_user.id,
            )
            booked = booking.id, booking.status  # read before the commit expires them
            db.session.commit()
            return booked

        try:
            booking_id, status = operations.with_retries(attempt)
        except operations.BookingError as exc:
            db.session.rollback()
            again = db.session.get(IdempotencyKey, (current_user.id, token))
            if again is not None and again.booking_id:  # our own twin request won the race
                return redirect(url_for("booking.show", booking_id=again.booking_id))
            problem = exc
        else:
            if status is BookingStatus.PENDING:
                flash(
                    _(MISSED_SESSIONS_NOTICE)
                    if needs_missed_sessions_review(current_user.id, policy)
                    else _(
                        "We hold this time for you and confirm it after a review of your "
                        "screening. You will get an e-mail."
                    ),
                    "warning",
                )
            else:
                flash(
                    _("Your booking is confirmed. A confirmation is on its way by e-mail."),
                    "success",
                )
            return redirect(url_for("booking.show", booking_id=booking_id))
    if request.method == "GET" or not form.request_token.data:
        form.request_token.data = secrets.token_urlsafe(24)
    # Read only for the page: a booking that goes through redirects, and book() checks anew.
    return render_template(
        "booking/confirm.html",
        req=req,
        form=form,
        technique=technique,
        price=price,
        therapist=db.session.get(Therapist, req.therapist_id),
        gate=booking_gate(current_user.id, technique, now),
        policy=policy,
        problem=problem,
        end=req.start + timedelta(minutes=req.duration_minutes),
    ), (problem.status if problem else 200)


def load_booking(booking_id: int) -> Booking:
    booking = db.session.scalar(
        select(Booking)
        .where(Booking.id == booking_id)
        .options(  # one of each: joined into one query
            joinedload(Booking.client),
            joinedload(Booking.technique),
            joinedload(Booking.room),
            joinedload(Booking.therapist).joinedload(Therapist.user),
        )
    )
    if booking is None or not booking.is_seen_by(signed_in_user()):
        abort(404)  # someone else's booking does not exist, as far as you are concerned
    return booking


@bp.route("/bookings/<int:booking_id>")
@writes_on_get
@login_required
def show(booking_id: int) -> Response:
    booking = load_booking(booking_id)
    now = clock.utcnow()
    me = signed_in_user()
    session_notes = screening = None
    if me.id != booking.client_id:
        # Staff see what matters for this session, never the questionnaire; each look is logged.
        screening = current_screening(booking.client_id)
        if screening is not None:
            session_notes = notes_for_session(screening, booking.technique)
    page = render_template(
        "booking/show.html",
        booking=booking,
        now=now,
        session_notes=session_notes,
        cancel_problem=booking.why_not_cancel(me, now),
        reschedule_problem=booking.why_not_reschedule(me, now),
        mark_problem=booking.why_not_mark(me, now),
        cancel_form=CancelForm(),
        mark_form=MarkForm(),
        confirm_form=ConfirmForm(),
    )
    if screening is not None:
        # Logged after rendering: the commit would expire what the page shows, to be read again.
        audit(
            "screening.notes_viewed",
            "screening",
            screening.id,
            actor_id=me.id,
            ip=request.remote_addr or "",
            detail={"client_id": booking.client_id, "booking_id": booking.id},
        )
        db.session.commit()
    # Staff see screening and treatment notes here: sent with no-store, as all of /bookings.
    return make_response(page)


@bp.route("/my/bookings")
@roles_required(Role.CLIENT)
def mine() -> str:
    """The client's coming sessions, all of them, and their past and cancelled ones, newest
    first, a page at a time: a weekly client's history grows by fifty rows a year."""
    now = clock.utcnow()
    theirs = Booking.client_id == current_user.id
    ahead = and_(Booking.ends_at > now, Booking.status != BookingStatus.CANCELLED)
    shown = (
        joinedload(Booking.technique),
        joinedload(Booking.therapist).joinedload(Therapist.user),
    )
    upcoming = list(
        db.session.scalars(
            select(Booking).where(theirs, ahead).options(*shown).order_by(Booking.starts_at)
        )
    )
    past = paged(
        select(Booking).where(theirs, not_(ahead)).options(*shown),
        sort_columns=[Booking.starts_at],
        tiebreak=Booking.id.desc(),
        sort="starts_at",
        order="desc",
        page=read_page(request.args),
        per_page=PAST_PER_PAGE,
    )
    return render_template("booking/mine.html", upcoming=upcoming, past=past, now=now)
