"""The figures of the admin reports for a period, read in a fixed number of statements each.

Each report reads either sums grouped in SQL or only the rows of the period (a booking's
technique and start), then buckets them by local week in Python (periods.py), because the
week of an instant depends on the clinic's time zone and its DST rules, which SQLite cannot
apply. No statement is issued per therapist, technique, week or booking.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select

from clinic.admin.charts import NO_DATA, Series, bar_chart, horizontal_bar_chart
from clinic.admin.periods import (
    Period,
    local_date,
    rate,
    week_of,
    working_minutes,
)
from clinic.admin.report_tables import Column, Report, Table
from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import Technique, Therapist
from clinic.extensions import db
from clinic.i18n import current_locale
from clinic.scheduling.models import TimeOff, WorkingHours
from clinic.scheduling.slots import Interval
from clinic.templating import format_date

# Booked time: sessions that took place or were held for the client (a no-show's time was
# kept free for them). Pending bookings are not yet agreed; cancelled ones freed their time.
BOOKED = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


def in_period(column: Any, start: datetime, end: datetime) -> Any:
    """start <= column < end."""
    return (column >= start) & (column < end)


# The reports are built during a request, in its language (the CSV download builds them in
# English); these read that language.


def week_name(monday: date) -> str:
    """The ISO week of `monday` as the report shows it: '2027-W12', in Danish 'Uge 12, 2027'."""
    year, week, _weekday = monday.isocalendar()
    return _("%(year)s-W%(week)s", year=year, week=f"{week:02d}")


def day_name(day: date) -> str:
    """A period's end in a chart's description: '2027-03-22', in Danish 'mandag 22. marts 2027'."""
    locale = current_locale()
    return day.isoformat() if locale == "en" else format_date(day, locale)


def chart_language() -> dict[str, str]:
    """The chart functions' arguments for the request's language."""
    return {"locale": current_locale(), "no_data": _(NO_DATA)}


def bookings_per_week(period: Period, zone: ZoneInfo) -> Report:
    """Bookings (all but cancelled) per technique per ISO week, by their local start."""
    start, end = period.bounds(zone)
    rows = db.session.execute(
        select(Booking.technique_id, Booking.starts_at).where(
            Booking.status != BookingStatus.CANCELLED, in_period(Booking.starts_at, start, end)
        )
    ).all()
    counts: Counter[tuple[int, date]] = Counter(
        (technique, week_of(local_date(starts, zone))) for technique, starts in rows
    )
    used = {technique for technique, _week in counts}
    techniques = [(tid, name) for tid, name, active in technique_names() if active or tid in used]
    weeks = period.weeks()
    table_rows = []
    for monday in weeks:
        per_technique = [counts[(tid, monday)] for tid, _ in techniques]
        table_rows.append([week_name(monday), monday, *per_technique, sum(per_technique)])
    totals = [sum(counts[(tid, w)] for w in weeks) for tid, _name in techniques]
    table = Table(
        _("Bookings per technique per week"),
        [
            Column(_("Week"), nowrap=True),
            Column(_("Starts"), nowrap=True),
            *(Column(n, numeric=True) for _tid, n in techniques),
            Column(_("Total"), numeric=True),
        ],
        table_rows,
        [_("Total"), "", *totals, sum(totals)],
    )
    chart = bar_chart(
        title=_("Bookings per technique per week"),
        description=_(
            "Stacked bars: bookings per ISO week from %(first)s to %(last)s, one colour per "
            "technique. The table below has the numbers.",
            first=day_name(period.first),
            last=day_name(period.last),
        ),
        categories=[week_name(w) for w in weeks],
        series=[Series(name, [counts[(tid, w)] for w in weeks]) for tid, name in techniques],
        stacked=True,
        value_label=_("Bookings"),
        category_label=_("ISO week"),
        **chart_language(),
    )
    return Report([table], [chart])


def technique_names() -> list[tuple[int, str, bool]]:
    """Every technique's id, name in the request's language and whether it is offered, in the
    catalogue's order; one statement, the translated names read from their column."""
    locale = current_locale()
    rows = db.session.execute(
        select(Technique.id, Technique.name_en, Technique.translations, Technique.active).order_by(
            Technique.position, Technique.name_en
        )
    )
    return [
        (tid, (translations or {}).get(locale, {}).get("name") or name, active)
        for tid, name, translations, active in rows
    ]


def therapist_names() -> list[tuple[int, str, bool]]:
    return list(
        db.session.execute(
            select(Therapist.id, User.name, Therapist.active)
            .join(User, User.id == Therapist.user_id)
            .order_by(User.name, Therapist.id)
        )
    )


def utilisation(period: Period, zone: ZoneInfo) -> Report:
    """Booked minutes / working minutes per therapist."""
    start, end = period.bounds(zone)
    therapists = therapist_names()
    hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for tid, weekday, begins, ends in db.session.execute(
        select(
            WorkingHours.therapist_id,
            WorkingHours.weekday,
            WorkingHours.start_time,
            WorkingHours.end_time,
        )
    ):
        hours[tid][weekday].append((begins, ends))
    time_off: dict[int, list[Interval]] = defaultdict(list)
    for tid, begins, ends in db.session.execute(
        select(TimeOff.therapist_id, TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.starts_at < end, TimeOff.ends_at > start
        )
    ):
        time_off[tid].append(Interval(begins, ends))
    booked = dict(
        db.session.execute(
            select(Booking.therapist_id, func.sum(Booking.duration_minutes))
            .where(Booking.status.in_(BOOKED), in_period(Booking.starts_at, start, end))
            .group_by(Booking.therapist_id)
        ).all()
    )
    rows = []
    for tid, name, active in therapists:
        working = working_minutes(period, hours.get(tid, {}), time_off.get(tid, []), zone)
        minutes = int(booked.get(tid) or 0)
        if active or working or minutes:
            rows.append([name, working, minutes, rate(minutes, working)])
    total_working = sum(r[1] for r in rows)
    total_booked = sum(r[2] for r in rows)
    table = Table(
        _("Utilisation per therapist"),
        [
            Column(_("Therapist")),
            Column(_("Working minutes"), numeric=True),
            Column(_("Booked minutes"), numeric=True),
            Column(_("Utilisation"), numeric=True, unit="%"),
        ],
        rows,
        [_("All therapists"), total_working, total_booked, rate(total_booked, total_working)],
    )
    chart = horizontal_bar_chart(
        title=_("Utilisation per therapist"),
        description=_(
            "Booked minutes as a share of working minutes from %(first)s to %(last)s, one bar "
            "per therapist. The table below has the numbers.",
            first=day_name(period.first),
            last=day_name(period.last),
        ),
        categories=[r[0] for r in rows],
        series=[Series(_("Utilisation"), [r[3] for r in rows])],
        value_label=_("Utilisation (%)"),
        unit="%",
        at_least=100,
        **chart_language(),
    )
    return Report([table], [chart])


def cancellations(period: Period, zone: ZoneInfo) -> Report:
    """Cancellation, late-cancellation and no-show figures per therapist and per technique."""
    start, end = period.bounds(zone)
    grouped = db.session.execute(
        select(
            Booking.therapist_id,
            Booking.technique_id,
            Booking.status,
            Booking.late_cancellation,
            func.count(),
        )
        .where(in_period(Booking.starts_at, start, end))
        .group_by(
            Booking.therapist_id, Booking.technique_id, Booking.status, Booking.late_cancellation
        )
    ).all()
    therapists = therapist_names()
    techniques = technique_names()
    first, last = day_name(period.first), day_name(period.last)
    tables, charts = [], []
    # Each whole sentence per kind of row, as the languages word them differently.
    for key, names, heading, caption, title, description in (
        (
            0,
            therapists,
            _("Therapist"),
            _("Cancellations and no-shows per therapist"),
            _("Cancellation and no-show rates per therapist"),
            _(
                "Two bars per therapist: the cancellation rate and the no-show rate from "
                "%(first)s to %(last)s. The table below has the numbers.",
                first=first,
                last=last,
            ),
        ),
        (
            1,
            techniques,
            _("Technique"),
            _("Cancellations and no-shows per technique"),
            _("Cancellation and no-show rates per technique"),
            _(
                "Two bars per technique: the cancellation rate and the no-show rate from "
                "%(first)s to %(last)s. The table below has the numbers.",
                first=first,
                last=last,
            ),
        ),
    ):
        tally: dict[int, Counter[str]] = defaultdict(Counter)
        for row in grouped:
            status, late, n = row[2], row[3], row[4]
            counts = tally[row[key]]
            counts["all"] += n
            counts[BookingStatus(status).value] += n
            if status == BookingStatus.CANCELLED and late:
                counts["late"] += n
        rows = []
        for oid, name, active in names:
            c = tally.get(oid, Counter())
            if not (active or c["all"]):
                continue
            outcomes = c["completed"] + c["no_show"]
            rows.append(
                [
                    name,
                    c["all"],
                    c["cancelled"],
                    rate(c["cancelled"], c["all"]),
                    c["late"],
                    c["completed"],
                    c["no_show"],
                    rate(c["no_show"], outcomes),
                ]
            )
        whole: Counter[str] = sum(tally.values(), Counter())
        tables.append(
            Table(
                caption,
                [
                    Column(heading),
                    Column(_("Bookings"), numeric=True),
                    Column(_("Cancelled"), numeric=True),
                    Column(_("Cancellation rate"), True, "%"),
                    Column(_("Late cancellations"), numeric=True),
                    Column(_("Completed"), numeric=True),
                    Column(_("No-shows"), numeric=True),
                    Column(_("No-show rate"), True, "%"),
                ],
                rows,
                [
                    _("All"),
                    whole["all"],
                    whole["cancelled"],
                    rate(whole["cancelled"], whole["all"]),
                    whole["late"],
                    whole["completed"],
                    whole["no_show"],
                    rate(whole["no_show"], whole["completed"] + whole["no_show"]),
                ],
            )
        )
        charts.append(
            horizontal_bar_chart(
                title=title,
                description=description,
                categories=[r[0] for r in rows],
                series=[
                    Series(_("Cancellation rate"), [r[3] for r in rows]),
                    Series(_("No-show rate"), [r[7] for r in rows]),
                ],
                value_label=_("Rate (%)"),
                unit="%",
                at_least=100,
                **chart_language(),
            )
        )
    return Report(tables, charts)
