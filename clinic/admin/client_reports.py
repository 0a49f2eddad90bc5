"""The reports about clients: screening outcomes, and new and returning clients per week.

Like reports.py, a fixed number of statements each, whatever the number of rows.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from clinic.admin.charts import Series, bar_chart, horizontal_bar_chart
from clinic.admin.periods import Period, new_and_returning, rate
from clinic.admin.report_tables import Column, Report, Table
from clinic.admin.reports import chart_language, day_name, in_period, week_name
from clinic.booking.models import Booking, BookingStatus
from clinic.extensions import db
from clinic.screening.models import Decision, Screening, ScreeningReview
from clinic.screening.rules import Outcome

OUTCOME_NAMES = {
    Outcome.CLEAR: _l("Clear"),
    Outcome.CAUTION: _l("Caution"),
    Outcome.NEEDS_REVIEW: _l("Needs review"),
    Outcome.NEEDS_CLEARANCE: _l("Needs medical clearance"),
    Outcome.NOT_NOW: _l("Not now"),
    Outcome.URGENT: _l("Urgent"),
}
DECISION_NAMES = {
    Decision.APPROVED: _l("Approved"),
    Decision.CLEARED: _l("Medical clearance recorded"),
    Decision.REJECTED: _l("Rejected"),
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
        [str(OUTCOME_NAMES[o]), outcomes.get(o, 0), rate(outcomes.get(o, 0), submitted)]
        for o in Outcome
    ]
    decision_rows = [
        [str(DECISION_NAMES[d]), decisions.get(d, 0), rate(decisions.get(d, 0), decided)]
        for d in Decision
    ]
    tables = [
        Table(
            _("Screenings by overall outcome"),
            [Column(_("Outcome")), Column(_("Screenings"), True), Column(_("Share"), True, "%")],
            outcome_rows,
            [_("All screenings"), submitted, rate(submitted, submitted)],
        ),
        Table(
            _("Review decisions"),
            [Column(_("Decision")), Column(_("Decisions"), True), Column(_("Share"), True, "%")],
            decision_rows,
            [_("All decisions"), decided, rate(decided, decided)],
        ),
    ]
    chart = horizontal_bar_chart(
        title=_("Screenings by overall outcome"),
        description=_(
            "One bar per outcome: screenings submitted from %(first)s to %(last)s. The table "
            "below has the numbers.",
            first=day_name(period.first),
            last=day_name(period.last),
        ),
        categories=[r[0] for r in outcome_rows],
        series=[Series(_("Screenings"), [r[1] for r in outcome_rows])],
        value_label=_("Screenings"),
        **chart_language(),
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
    table_rows = [[week_name(w.week), w.week, w.new, w.returning, w.total] for w in weeks]
    new, returning = sum(w.new for w in weeks), sum(w.returning for w in weeks)
    table = Table(
        _("New and returning clients per week"),
        [
            Column(_("Week"), nowrap=True),
            Column(_("Starts"), nowrap=True),
            Column(_("New clients"), True),
            Column(_("Returning clients"), True),
            Column(_("Clients"), True),
        ],
        table_rows,
        [_("Total (client-weeks)"), "", new, returning, new + returning],
    )
    chart = bar_chart(
        title=_("New and returning clients per week"),
        description=_(
            "Two bars per ISO week from %(first)s to %(last)s: clients whose first completed "
            "session it was, and clients who had been before.",
            first=day_name(period.first),
            last=day_name(period.last),
        ),
        categories=[week_name(w.week) for w in weeks],
        series=[
            Series(_("New clients"), [w.new for w in weeks]),
            Series(_("Returning clients"), [w.returning for w in weeks]),
        ],
        value_label=_("Clients"),
        category_label=_("ISO week"),
        **chart_language(),
    )
    return Report([table], [chart])
