"""The therapist's treatment note, aftercare and plan after a session; the client's aftercare.

The staff page (/bookings/ID/treatment) writes or reads a session's note; the booking page
shows its parts through `treatment_of` (a template global: the booking view belongs to the
booking blueprint, which does not know this one); /bookings/ID/plan sends the client to the
series page with the plan filled in. Pages that show a private note are never cached, and each
note shown to staff is audit-logged.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from clinic import clock
from clinic.auth.access import roles_required
from clinic.auth.models import Role, User
from clinic.booking.models import Booking
from clinic.booking.series import EVERY_LABELS
from clinic.booking.signals import series_booked
from clinic.catalog.models import TechniqueOption, Therapist
from clinic.database import writes_on_get
from clinic.extensions import db
from clinic.i18n import speaking
from clinic.notify.outbox import queue_email, render_email
from clinic.scheduling.models import ClinicPolicy
from clinic.text import N_
from clinic.treatment import operations
from clinic.treatment.forms import NO_PLAN, SNIPPETS, TreatmentForm, option_key
from clinic.treatment.models import TreatmentNote

bp = Blueprint("treatment", __name__)

# Ids the database can hold: a larger one in an edited address is "not found", not an error.
BOOKING_ID = "<int(max=2147483647):booking_id>"

# Plain texts (tests and the outbox compare them), translated when an e-mail is written.
SUBJECT_FIRST = N_("Your aftercare after today's session")
SUBJECT_CHANGED = N_("Your aftercare advice has been updated")


def _me() -> User:
    return db.session.get(User, current_user.id)


def _booking(booking_id: int) -> Booking:
    booking = db.session.scalar(
        select(Booking)
        .where(Booking.id == booking_id)
        .options(
            joinedload(Booking.client),
            joinedload(Booking.technique),
            joinedload(Booking.therapist).joinedload(Therapist.user),
        )
    )
    if booking is None:
        abort(404)
    return booking


def _ip() -> str:
    return request.remote_addr or ""


def _option_label(option: TechniqueOption) -> str:
    return _(
        "%(technique)s, %(minutes)s minutes",
        technique=option.technique.name,
        minutes=option.duration_minutes,
    )


@bp.app_template_filter("plan_summary")
def plan_summary(note: TreatmentNote) -> str:
    """'4 sessions of Sports massage, 60 minutes, every 2 weeks'; empty without a plan."""
    if not note.has_plan or note.plan_technique is None:
        return ""
    every = str(EVERY_LABELS.get(note.plan_every or "", "")).lower()
    return _(
        "%(count)s sessions of %(technique)s, %(minutes)s minutes, %(every)s",
        count=note.plan_count,
        technique=note.plan_technique.name,
        minutes=note.plan_duration_minutes,
        every=every,
    )


def _plan_from(form: TreatmentForm, options: list[TechniqueOption]) -> operations.Plan | None:
    if not form.wants_plan:
        return None
    chosen = next(
        o
        for o in options
        if option_key(o.technique.slug, o.duration_minutes) == form.plan_option.data
    )
    return operations.Plan(
        chosen.technique_id, chosen.duration_minutes, form.plan_every.data, form.plan_count.data
    )


def _fill(form: TreatmentForm, note: TreatmentNote) -> None:
    form.private_note.data = note.private_note
    form.aftercare.data = note.aftercare
    if note.has_plan and note.plan_technique is not None:
        form.plan_option.data = option_key(note.plan_technique.slug, note.plan_duration_minutes)
        form.plan_every.data = note.plan_every
        form.plan_count.data = note.plan_count


def _tell_client(note: TreatmentNote, *, first: bool) -> None:
    """Queue the aftercare e-mail: the advice and the plan, never the private note."""
    booking = note.booking
    with speaking(booking.client):
        text, html = render_email(
            "treatment/email/aftercare",
            booking=booking,
            aftercare_lines=[line for line in note.aftercare.splitlines() if line.strip()],
            plan=plan_summary(note),
            first=first,
            link=url_for("booking.show", booking_id=booking.id, _external=True),
        )
        subject = _(SUBJECT_FIRST if first else SUBJECT_CHANGED)
    queue_email(booking.client.email, subject, text, html)


@bp.route(f"/bookings/{BOOKING_ID}/treatment", methods=["GET", "POST"])
@writes_on_get
@roles_required(Role.THERAPIST, Role.ADMIN)
def edit(booking_id: int) -> str | Response | tuple[str, int]:
    """The session's note for staff: written by its therapist and admins once the session has
    started, read by any therapist who treats the client; to other therapists it does not exist."""
    booking = _booking(booking_id)
    me = _me()
    if not operations.treats_client(me, booking.client_id):
        abort(404)
    timezone = current_app.config["CLINIC_TIMEZONE"]
    now = clock.utcnow()
    problem = operations.why_not_write(booking, me, now)
    if request.method == "POST" and problem:
        abort(403)
    note = operations.note_of(booking.id)
    options = operations.plan_options(booking.therapist, clock.local_today(timezone))
    form = TreatmentForm()
    form.plan_option.choices = [(NO_PLAN, _("No plan"))] + [
        (option_key(o.technique.slug, o.duration_minutes), _option_label(o)) for o in options
    ]
    status = 200
    shown = [note] if note is not None and request.method == "GET" else []
    if request.method == "GET":
        if note is not None:
            _fill(form, note)
        else:
            form.plan_every.data, form.plan_count.data = "weekly", 4
    elif request.form.get("add") in SNIPPETS:
        # A starting point is added to the text and shown again, unsaved, to be edited.
        _label, snippet = SNIPPETS[request.form["add"]]
        typed = (form.aftercare.data or "").rstrip()
        snippet = _(snippet)
        form.aftercare.data = f"{typed}\n{snippet}" if typed else snippet
    elif form.validate_on_submit():
        first = note is None or not (note.aftercare or note.has_plan)
        try:
            note, tell_client = operations.save_note(
                booking,
                by=me,
                now=now,
                today=clock.local_today(timezone),
                private_note=form.private_note.data or "",
                aftercare=form.aftercare.data or "",
                plan=_plan_from(form, options),
                ip=_ip(),
            )
        except operations.TreatmentError as exc:
            db.session.rollback()
            target = form[exc.field] if exc.field else form.private_note
            target.errors = [*target.errors, str(exc)]
            status = 422
        else:
            if tell_client:
                _tell_client(note, first=first)
            db.session.commit()
            flash(
                _("Saved. The client has been sent the aftercare by e-mail.")
                if tell_client
                else _("Saved."),
                "success",
            )
            return redirect(url_for("booking.show", booking_id=booking.id))
    else:
        status = 422
    earlier = operations.notes_of_client(booking.client_id, besides=booking.id)
    html = render_template(
        "treatment/edit.html",
        booking=booking,
        note=note,
        form=form,
        problem=problem,
        earlier=earlier,
        snippets=SNIPPETS,
        is_session_therapist=booking.therapist.user_id == me.id,
    )
    operations.log_reads([*shown, *earlier], me, ip=_ip(), path=request.path)
    if shown or earlier:
        db.session.commit()
    return html, status


@bp.route(f"/bookings/{BOOKING_ID}/plan")
@roles_required(Role.CLIENT)
def book_plan(booking_id: int) -> Response:
    """Send the client to the series page with the plan filled in, from its first date."""
    note = operations.note_of(booking_id)
    if note is None or note.booking.client_id != current_user.id or not note.has_plan:
        abort(404)
    timezone = current_app.config["CLINIC_TIMEZONE"]
    start = operations.first_plan_start(
        note, now=clock.utcnow(), timezone=timezone, policy=ClinicPolicy.current()
    )
    return redirect(
        url_for(
            "booking.series",
            technique=note.plan_technique.slug,
            duration=note.plan_duration_minutes,
            therapist=note.booking.therapist_id,
            start=start.astimezone(ZoneInfo(timezone)).isoformat(),
            every=note.plan_every,
            count=note.plan_count,
            plan=note.id,
        )
    )


# --- the booking page and the series page ---------------------------------------------------


@dataclass(frozen=True)
class BookingTreatment:
    """What the booking page shows of a session's note to the person looking at it."""

    note: TreatmentNote | None  # to staff with its private note, whose reading is logged
    why_not_write: str | None  # None: this person may write or edit the note now
    plan_booked: bool
    earlier: int  # staff: how many other notes of this client there are


@bp.app_template_global()
def treatment_of(booking: Booking) -> BookingTreatment | None:
    """The note of a booking as the current user may see it, or None when there is nothing.

    Called while the booking page renders, after its view committed: a private note shown to
    staff is logged here, in a commit of its own.
    """
    me = _me()
    note = operations.note_of(booking.id)
    if me.id == booking.client_id:
        if note is None or not (note.aftercare or note.has_plan):
            return None
        why_not = operations.why_not_write(booking, me, clock.utcnow())
        return BookingTreatment(note, why_not, operations.plan_is_booked(note), 0)
    if not operations.treats_client(me, booking.client_id):
        return None
    earlier = db.session.scalar(
        select(func.count())
        .select_from(TreatmentNote)
        .join(Booking, Booking.id == TreatmentNote.booking_id)
        .where(Booking.client_id == booking.client_id, Booking.id != booking.id)
    )
    why_not = operations.why_not_write(booking, me, clock.utcnow())
    if note is not None:
        operations.log_reads([note], me, ip=_ip(), path=request.path)
        db.session.commit()
    return BookingTreatment(note, why_not, False, earlier or 0)


@bp.app_template_global()
def proposed_plan(plan_id: object) -> TreatmentNote | None:
    """For the series page: the note whose plan the current client is booking, if theirs."""
    note = operations.plan_note(plan_id)
    if note is None or note.booking.client_id != current_user.id:
        return None
    return note


@series_booked.connect
def link_booked_plan(
    sender: Flask, *, client_id: int, bookings: list[Booking], plan_id: int | None, **extra: object
) -> None:
    """A series booked from a plan is remembered on the plan's note, in the same transaction.

    Connected once, when register_blueprints imports this module.
    """
    if plan_id is not None and bookings:
        operations.link_series(plan_id, client_id=client_id, series_id=bookings[0].id)
