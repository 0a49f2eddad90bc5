"""The retention purge (`flask --app wsgi purge-expired`): health data kept its full period is
erased, by the rule in retention.py, asked of the database in SQL.

A visit is a session that took place: completed, a no-show (the time was the client's), or
confirmed and started (not marked yet). Erased: screenings with their outcomes and reviews,
pre-visit checks, and the texts of treatment notes, which are health data under the same rule.
Bookings stay: they are the clinic's accounts and statistics, not health data.

It only deletes or empties, with a fixed number of statements, so it is idempotent and safe on
several servers at once: whoever comes second finds nothing left and counts nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from clinic.audit.models import record as audit
from clinic.booking.models import LIVE, Booking, BookingStatus
from clinic.database import begin_write
from clinic.extensions import db
from clinic.privacy.health_data import (
    blank_treatment_notes,
    delete_previsit_checks,
    delete_screenings,
)
from clinic.privacy.retention import years_before
from clinic.scheduling.models import ClinicPolicy
from clinic.screening.models import PreVisitCheck, Screening
from clinic.treatment.models import TreatmentNote


@dataclass(frozen=True)
class Purged:
    """What one run erased, and the rule it applied."""

    screenings: int
    previsit_checks: int
    treatment_notes: int
    retention_years: int
    cutoff: str

    @property
    def total(self) -> int:
        return self.screenings + self.previsit_checks + self.treatment_notes


def took_place(now: datetime, booking: type[Booking] = Booking) -> ColumnElement[bool]:
    """The bookings that count as visits at `now`."""
    return or_(
        booking.status.in_((BookingStatus.COMPLETED, BookingStatus.NO_SHOW)),
        and_(booking.status == BookingStatus.CONFIRMED, booking.starts_at <= now),
    )


def _expired(client_id: ColumnElement[int], recorded_at: ColumnElement, *, now, cutoff):
    """SQL for retention.is_expired: recorded and last visited before the cut-off, nothing to
    come. The subqueries read an alias of booking, so that they correlate with the outer
    query's client only, never with a booking row the outer query itself reads."""
    other = aliased(Booking)
    last_visit = (
        select(func.max(other.starts_at))
        .where(other.client_id == client_id, took_place(now, other))
        .scalar_subquery()
    )
    upcoming = select(other.id).where(
        other.client_id == client_id, other.status.in_(LIVE), other.starts_at > now
    )
    return and_(
        recorded_at < cutoff,
        or_(last_visit.is_(None), last_visit < cutoff),
        ~upcoming.exists(),
    )


def expired_screenings(now: datetime, cutoff: datetime) -> Select:
    return select(Screening.id).where(
        _expired(Screening.client_id, Screening.submitted_at, now=now, cutoff=cutoff)
    )


def _expired_bookings(model: type, now: datetime, cutoff: datetime) -> list[int]:
    """The bookings whose row of `model` (a pre-visit check, a treatment note) is expired.

    Read first, then changed by id: the UPDATE or DELETE of the same table then needs no
    subquery over itself.
    """
    return list(
        db.session.scalars(
            select(model.booking_id)
            .join(Booking, Booking.id == model.booking_id)
            .where(_expired(Booking.client_id, model.created_at, now=now, cutoff=cutoff))
        )
    )


def purge_expired(now: datetime) -> Purged:
    """Erase the health data whose retention period has passed; record what was erased."""
    begin_write()
    years = ClinicPolicy.current().screening_retention_years
    cutoff = years_before(now, years)
    purged = Purged(
        screenings=delete_screenings(expired_screenings(now, cutoff)),
        previsit_checks=delete_previsit_checks(_expired_bookings(PreVisitCheck, now, cutoff)),
        treatment_notes=blank_treatment_notes(_expired_bookings(TreatmentNote, now, cutoff)),
        retention_years=years,
        cutoff=cutoff.isoformat(),
    )
    # Counts and the rule only: which clients were concerned is not the log's to keep.
    audit("retention.purged", "clinic_policy", 1, actor_id=None, detail=asdict(purged))
    db.session.flush()
    return purged
