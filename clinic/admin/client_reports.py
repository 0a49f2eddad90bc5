"""The reports about clients: screening outcomes, and new and returning clients per week.

Like reports.py, a fixed number of statements each, whatever the number of rows.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from clinic.admin.charts import Series, bar_chart, horizontal_bar_chart
from clinic.admin.periods import Period, new_and_returning, rate, week_label
from clinic.admin.report_tables import Column, Report, Table
from clinic.admin.reports import in_period
from clinic.booking.models import Booking, BookingStatus
from clinic.extensions import db
from clinic.screening.models import Decision, Screening, ScreeningReview
from clinic.screening.rules import Outcome

OUTCOME_NAMES = {
    Outcome.CLEAR: "Clear",
    Outcome.CAUTION: "Caution",
    Outcome.NEEDS_REVIEW: "Needs review",
    Outcome.NEEDS_CLEARANCE: "Needs medical clearance",
    Outcome.NOT_NOW: "Not now",
    Outcome.URGENT: "Urgent",
}
DECISION_NAMES = {
    Decision.APPROVED: "Approved",
    Decision.CLEARED: "Medical clearance recorded",
    Decision.REJECTED: "Rejected",
}


def screening_outcomes(period: Period, zone: ZoneInfo) -> Report:
    """Screenings submitted in the period by overall outcome, and review decisions made in it."""
    start, end = period.bounds(zone)
    outcomes = dict(
        db.session.execute(
            select(Screening.overall, func.count())
            .where(in_period(Screening.submitted_at, start, end))
            .group_by(Screening.overall)
        ).all()
    )
    decisions = dict(
        db.session.execute(
            select(ScreeningReview.decision, func.count())
            .where(in_period(ScreeningReview.decided_at, start, end))
            .group_by(ScreeningReview.decision)
        ).all()
    )
    submitted = sum(outcomes.values())
    decided = sum(decisions.values())
    # Mildest first, as the questionnaire's rules declare them.
    outcome_rows = [
        [OUTCOME_NAMES[o], outcomes.get(o, 0), rate(outcomes.get(o, 0), submitted)] for o in Outcome
    ]
    decision_rows = [
        [DECISION_NAMES[d], decisions.get(d, 0), rate(decisions.get(d, 0), decided)]
        for d in Decision
    ]
    tables = [
        Table(
            "Screenings by overall outcome",
            [Column("Outcome"), Column("Screenings", True), Column("Share", True, "%")],
            outcome_rows,
            ["All screenings", submitted, rate(submitted, submitted)],
        ),
        Table(
            "Review decisions",
            [Column("Decision"), Column("Decisions", True), Column("Share", True, "%")],
            decision_rows,
            ["All decisions", decided, rate(decided, decided)],
        ),
    ]
    chart = horizontal_bar_chart(
        title="Screenings by overall outcome",
        description=f"One bar per outcome: screenings submitted from {period.first} to "
        f"{period.last}. The table below has the numbers.",
        categories=[r[0] for r in outcome_rows],
        series=[Series("Screenings", [r[1] for r in outcome_rows])],
        value_label="Screenings",
    )
    return Report(tables, [chart])


def clients_per_week(period: Period, zone: ZoneInfo) -> Report:
    """Clients with a completed session per week, new or returning.

    One statement: the period's completed sessions, each with its client's first completed
    session ever (a grouped subquery). Erased accounts keep their bookings, so they count.
    """
    start, end = period.bounds(zone)
    first = (
        select(Booking.client_id, func.min(Booking.starts_at).label("first_start"))
        .where(Booking.status == BookingStatus.COMPLETED)
        .group_by(Booking.client_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Booking.client_id, Booking.starts_at, first.c.first_start)
        .join(first, first.c.client_id == Booking.client_id)
        .where(Booking.status == BookingStatus.COMPLETED, in_period(Booking.starts_at, start, end))
    ).all()
    first_ever = {client: first_start for client, _, first_start in rows}
    weeks = new_and_returning(
        period, [(client, starts) for client, starts, _ in rows], first_ever, zone
    )
    table_rows = [
        [week_label(w.week), w.week.isoformat(), w.new, w.returning, w.total] for w in weeks
    ]
    new, returning = sum(w.new for w in weeks), sum(w.returning for w in weeks)
    table = Table(
        "New and returning clients per week",
        [
            Column("Week", nowrap=True),
            Column("Starts", nowrap=True),
            Column("New clients", True),
            Column("Returning clients", True),
            Column("Clients", True),
        ],
        table_rows,
        ["Total (client-weeks)", "", new, returning, new + returning],
    )
    chart = bar_chart(
        title="New and returning clients per week",
        description=f"Two bars per ISO week from {period.first} to {period.last}: clients "
        "whose first completed session it was, and clients who had been before.",
        categories=[week_label(w.week) for w in weeks],
        series=[
            Series("New clients", [w.new for w in weeks]),
            Series("Returning clients", [w.returning for w in weeks]),
        ],
        value_label="Clients",
        category_label="ISO week",
    )
    return Report([table], [chart])
