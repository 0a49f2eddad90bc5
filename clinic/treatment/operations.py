"""Who may read and write a treatment note, saving one, and starting its plan as a series.

The private note is health data: it is read by admins and by therapists who treat the client
(the therapist of any booking of this client that was not cancelled, past or upcoming), every
read by staff is audit-logged, and it never goes into an e-mail, a calendar file or a log
line. Only the session's own therapist and admins write the note of a session, once it has
started. Operations take the acting user, flush, and leave the commit to the view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from clinic.audit.models import record as audit
from clinic.audit.models import record_each
from clinic.auth.models import User
from clinic.booking.availability import search_slots
from clinic.booking.models import LIVE, Booking, BookingStatus
from clinic.booking.series import EVERY_CHOICES, MAX_COUNT, MIN_COUNT, to_utc, wall_times
from clinic.catalog.models import Technique, TechniqueOption, Therapist
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from clinic.treatment.models import TreatmentNote

# How far past the proposed first date "the first free time after it" is looked for.
FIRST_FREE_SEARCH = timedelta(days=14)


class TreatmentError(ValueError):
    """A note or plan was refused; `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Plan:
    """A proposed plan: the session's therapist, this technique and length, `count` sessions."""

    technique_id: int
    duration_minutes: int
    every: str
    count: int


# --- who may do what ------------------------------------------------------------------------


def why_not_write(booking: Booking, user: User, now: datetime) -> str | None:
    """Why this user may not write the session's note now, or None when they may."""
    if not (user.is_admin or (user.is_therapist and booking.therapist.user_id == user.id)):
        return _("Only the session's therapist and the clinic write its treatment note.")
    if booking.status is BookingStatus.COMPLETED:
        return None
    if booking.status is BookingStatus.CONFIRMED and now >= booking.starts_at:
        return None
    if booking.status in LIVE:
        return _("You can write the treatment note once the session has started.")
    # A no-show had no treatment to note; a cancelled session never took place.
    return _(
        "There is no treatment note for a session that is %(status)s.",
        status=booking.status.phrase,
    )


def treats_client(user: User, client_id: int) -> bool:
    """Whether this user may read the client's treatment notes: admins, and therapists with
    a booking of this client that was not cancelled."""
    if user.is_admin:
        return True
    if not user.is_therapist:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Booking.client_id == client_id,
                    Booking.status != BookingStatus.CANCELLED,
                    Booking.therapist_id == Therapist.id,
                    Therapist.user_id == user.id,
                )
            )
        )
    )


# --- reading ---------------------------------------------------------------------------------


def note_of(booking_id: int) -> TreatmentNote | None:
    return db.session.scalar(
        select(TreatmentNote)
        .where(TreatmentNote.booking_id == booking_id)
        .options(selectinload(TreatmentNote.plan_technique))
    )


def notes_of_client(client_id: int, *, besides: int | None = None) -> list[TreatmentNote]:
    """The client's treatment notes, the latest session first; `besides` a booking to leave out."""
    stmt = (
        select(TreatmentNote)
        .join(Booking, Booking.id == TreatmentNote.booking_id)
        .where(Booking.client_id == client_id)
        .options(
            # One of each per note: joined into the same query rather than a query each.
            contains_eager(TreatmentNote.booking).joinedload(Booking.technique),
            joinedload(TreatmentNote.author),
            joinedload(TreatmentNote.plan_technique),
        )
        .order_by(Booking.starts_at.desc())
    )
    if besides is not None:
        stmt = stmt.where(TreatmentNote.booking_id != besides)
    return list(db.session.scalars(stmt))


def log_reads(notes: Iterable[TreatmentNote], reader: User, *, ip: str, path: str) -> None:
    """Audit a read of each of these private notes by staff (in the current transaction), in
    one INSERT however many there are."""
    record_each(
        "treatment.note_viewed",
        "treatment_note",
        {
            note.id: {
                "client_id": note.booking.client_id,
                "booking_id": note.booking_id,
                "path": path,
            }
            for note in notes
        },
        actor_id=reader.id,
        ip=ip,
    )


def plan_options(therapist: Therapist, on: date) -> list[TechniqueOption]:
    """The lengths of every active technique the therapist is certified for on `on`."""
    techniques = db.session.scalars(
        select(Technique)
        .where(Technique.active)
        .options(selectinload(Technique.options))
        .order_by(Technique.position, Technique.name)
    )
    return [
        option
        for technique in techniques
        if therapist.is_certified_for(technique, on)
        for option in technique.options
    ]


def plan_is_booked(note: TreatmentNote) -> bool:
    """Whether the series booked from the plan still has a session that is not cancelled."""
    if note.plan_series_id is None:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Booking.series_id == note.plan_series_id,
                    Booking.client_id == note.booking.client_id,
                    Booking.status != BookingStatus.CANCELLED,
                )
            )
        )
    )


# --- writing ---------------------------------------------------------------------------------


def _check_plan(plan: Plan, therapist: Therapist, on: date) -> None:
    options = plan_options(therapist, on)
    if not any(
        o.technique_id == plan.technique_id and o.duration_minutes == plan.duration_minutes
        for o in options
    ):
        raise TreatmentError(
            _("Choose a technique and length you are certified for."), "plan_option"
        )
    if plan.every not in EVERY_CHOICES:
        raise TreatmentError(_("Choose every week, every 2 weeks or every month."), "plan_every")
    if not MIN_COUNT <= plan.count <= MAX_COUNT:
        raise TreatmentError(
            _("A plan has %(min)d to %(max)d sessions.", min=MIN_COUNT, max=MAX_COUNT),
            "plan_count",
        )


def save_note(
    booking: Booking,
    *,
    by: User,
    now: datetime,
    today: date,
    private_note: str,
    aftercare: str,
    plan: Plan | None,
    ip: str = "",
) -> tuple[TreatmentNote, bool]:
    """Create or update the session's note. Returns it and whether what the client sees
    (aftercare or plan) changed to something worth telling them.

    Raises TreatmentError when this user may not write it now or the plan does not fit.
    """
    problem = why_not_write(booking, by, now)
    if problem:
        raise TreatmentError(problem)
    if plan is not None:
        _check_plan(plan, booking.therapist, today)
    note = note_of(booking.id)
    if note is None:
        note = TreatmentNote(booking_id=booking.id, booking=booking, author_id=by.id)
        db.session.add(note)
    before = (note.private_note or "", note.aftercare or "", _plan_of(note))
    note.private_note = private_note.strip()
    note.aftercare = aftercare.strip()
    if plan != before[2]:
        note.plan_technique_id = plan.technique_id if plan else None
        note.plan_duration_minutes = plan.duration_minutes if plan else None
        note.plan_every = plan.every if plan else None
        note.plan_count = plan.count if plan else None
        note.plan_series_id = None  # a new plan has not been booked yet
    db.session.flush()
    changed = [
        name
        for name, old, new in (
            ("private_note", before[0], note.private_note),
            ("aftercare", before[1], note.aftercare),
            ("plan", before[2], plan),
        )
        if old != new
    ]
    # The entry names what changed, never what was written: the audit log is a log too.
    audit(
        "treatment.note_saved",
        "treatment_note",
        note.id,
        actor_id=by.id,
        ip=ip,
        detail={"booking_id": booking.id, "client_id": booking.client_id, "changed": changed},
    )
    tell_client = bool({"aftercare", "plan"} & set(changed)) and bool(note.aftercare or plan)
    return note, tell_client


def _plan_of(note: TreatmentNote) -> Plan | None:
    if not note.has_plan:
        return None
    return Plan(
        note.plan_technique_id,  # type: ignore[arg-type]
        note.plan_duration_minutes or 0,
        note.plan_every or "",
        note.plan_count or 0,
    )


def plan_note(plan_id: object) -> TreatmentNote | None:
    """The note with this id if it proposes a plan; None for anything else, such as an id
    too large for the database (it comes from a link anyone can edit)."""
    try:
        number = int(plan_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    if not 0 < number < 2**31:
        return None
    note = db.session.get(TreatmentNote, number)
    return note if note is not None and note.has_plan else None


def link_series(plan_id: int, *, client_id: int, series_id: int) -> TreatmentNote | None:
    """Remember that the client booked the plan of note `plan_id` as this series.

    Does nothing (returns None) for a note that is not this client's or has no plan: the id
    comes from a link the client could have edited.
    """
    note = plan_note(plan_id)
    if note is None or note.booking.client_id != client_id:
        return None
    note.plan_series_id = series_id
    audit(
        "treatment.plan_booked",
        "treatment_note",
        note.id,
        actor_id=client_id,
        detail={"booking_id": note.booking_id, "series_id": series_id},
    )
    db.session.flush()
    return note


# --- booking the plan ------------------------------------------------------------------------


def first_plan_start(
    note: TreatmentNote, *, now: datetime, timezone: str, policy: ClinicPolicy
) -> datetime:
    """Where the series of a plan starts: the treated session's weekday and wall-clock time one
    interval later (more intervals when that is already too soon), or the therapist's first
    free time after it within two weeks. The series page shows what is free from there on."""
    zone = ZoneInfo(timezone)
    booking = note.booking
    earliest = now + timedelta(minutes=policy.min_notice_minutes)
    wall = booking.starts_at.astimezone(zone).replace(tzinfo=None)
    start = None
    for _attempt in range(120):  # a monthly plan written ten years ago would still end here
        wall = wall_times(wall, note.plan_every, 2)[1]  # type: ignore[arg-type]
        start = to_utc(wall, zone)
        if start is not None and start >= earliest:
            break
    assert start is not None
    technique = note.plan_technique
    if technique is None or not technique.active:
        return start
    first_day = start.astimezone(zone).date()
    found = search_slots(
        technique=technique,
        duration_minutes=note.plan_duration_minutes or 0,
        first_day=first_day,
        last_day=first_day + FIRST_FREE_SEARCH,
        now=now,
        timezone=timezone,
        therapist_id=booking.therapist_id,
        policy=policy,
    )
    later = [
        s.start for s in found.slots if s.therapist_id == booking.therapist_id and s.start >= start
    ]
    return min(later, default=start)
