"""Erasing health data in bulk: screenings with their outcomes and reviews, pre-visit check
answers, treatment note texts. Shared by account deletion and the retention purge.

Each function takes the ids concerned (a SELECT of them, or a list) and runs a fixed number of
DELETE or UPDATE statements whatever their number. They only delete or empty, so two servers
running them at once cannot disagree: the second finds nothing left. They return the rows they
changed.
"""

from __future__ import annotations

from sqlalchemy import Select, delete, or_, update

from clinic.extensions import db
from clinic.screening.models import PreVisitCheck, Screening, ScreeningOutcome, ScreeningReview
from clinic.treatment.models import TreatmentNote


def delete_screenings(screening_ids: Select) -> int:
    """Delete these screenings, their outcomes per technique and the reviews of them."""
    # Outcomes point at reviews, so they go first; the ids are materialised once so that the
    # three statements agree even if the SELECT would see other rows by the last one.
    ids = list(db.session.scalars(screening_ids))
    if not ids:
        return 0
    db.session.execute(
        delete(ScreeningOutcome)
        .where(ScreeningOutcome.screening_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(ScreeningReview)
        .where(ScreeningReview.screening_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    deleted = db.session.execute(
        delete(Screening).where(Screening.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return deleted.rowcount


def delete_previsit_checks(booking_ids: Select | list[int]) -> int:
    """Delete the pre-visit checks (their answers and outcome) of these bookings."""
    deleted = db.session.execute(
        delete(PreVisitCheck)
        .where(PreVisitCheck.booking_id.in_(booking_ids))
        .execution_options(synchronize_session=False)
    )
    return deleted.rowcount


def blank_treatment_notes(booking_ids: Select | list[int]) -> int:
    """Empty the texts of the treatment notes of these bookings; the plan's figures stay."""
    blanked = db.session.execute(
        update(TreatmentNote)
        .where(
            TreatmentNote.booking_id.in_(booking_ids),
            or_(TreatmentNote.private_note != "", TreatmentNote.aftercare != ""),
        )
        .values(private_note="", aftercare="")
        .execution_options(synchronize_session=False)
    )
    return blanked.rowcount
