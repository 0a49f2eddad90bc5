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

from sqlalchemy import func, select

from clinic.admin.charts import Series, bar_chart, horizontal_bar_chart
from clinic.admin.periods import (
    Period,
    local_date,
    rate,
    week_label,
    week_of,
    working_minutes,
)
from clinic.admin.report_tables import Column, Report, Table
from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import Technique, Therapist
from clinic.extensions import db
from clinic.scheduling.models import TimeOff, WorkingHours
from clinic.scheduling.slots import Interval

# Booked time: sessions that took place or were held for the client (a no-show's time was
# kept free for them). Pending bookings are not yet agreed; cancelled ones freed their time.
BOOKED = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


def in_period(column: Any, start: datetime, end: datetime) -> Any:
    """start <= column < end."""
    return (column >= start) & (column < end)


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
    used = {technique for technique, _ in counts}
    techniques = [
        (tid, name)
        for tid, name, active in db.session.execute(
            select(Technique.id, Technique.name, Technique.active).order_by(
                Technique.position, Technique.name
            )
        )
        if active or tid in used
    ]
    weeks = period.weeks()
    table_rows = []
    for monday in weeks:
        per_technique = [counts[(tid, monday)] for tid, _ in techniques]
        table_rows.append(
            [week_label(monday), monday.isoformat(), *per_technique, sum(per_technique)]
        )
    totals = [sum(counts[(tid, w)] for w in weeks) for tid, _ in techniques]
    table = Table(
        "Bookings per technique per week",
        [
            Column("Week", nowrap=True),
            Column("Starts", nowrap=True),
            *(Column(n, numeric=True) for _, n in techniques),
            Column("Total", numeric=True),
        ],
        table_rows,
        ["Total", "", *totals, sum(totals)],
    )
    chart = bar_chart(
        title="Bookings per technique per week",
        description=f"Stacked bars: bookings per ISO week from {period.first} to "
        f"{period.last}, one colour per technique. The table below has the numbers.",
        categories=[week_label(w) for w in weeks],
        series=[Series(name, [counts[(tid, w)] for w in weeks]) for tid, name in techniques],
        stacked=True,
        value_label="Bookings",
        category_label="ISO week",
    )
    return Report([table], [chart])


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
        "Utilisation per therapist",
        [
            Column("Therapist"),
            Column("Working minutes", numeric=True),
            Column("Booked minutes", numeric=True),
            Column("Utilisation", numeric=True, unit="%"),
        ],
        rows,
        ["All therapists", total_working, total_booked, rate(total_booked, total_working)],
    )
    chart = horizontal_bar_chart(
        title="Utilisation per therapist",
        description=f"Booked minutes as a share of working minutes from {period.first} to "
        f"{period.last}, one bar per therapist. The table below has the numbers.",
        categories=[r[0] for r in rows],
        series=[Series("Utilisation", [r[3] for r in rows])],
        value_label="Utilisation (%)",
        unit="%",
        at_least=100,
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
    techniques = list(
        db.session.execute(
            select(Technique.id, Technique.name, Technique.active).order_by(
                Technique.position, Technique.name
            )
        )
    )
    tables, charts = [], []
    for key, label, names in (
        (0, "therapist", therapists),
        (1, "technique", techniques),
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
                f"Cancellations and no-shows per {label}",
                [
                    Column(label.title()),
                    Column("Bookings", numeric=True),
                    Column("Cancelled", numeric=True),
                    Column("Cancellation rate", True, "%"),
                    Column("Late cancellations", numeric=True),
                    Column("Completed", numeric=True),
                    Column("No-shows", numeric=True),
                    Column("No-show rate", True, "%"),
                ],
                rows,
                [
                    "All",
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
                title=f"Cancellation and no-show rates per {label}",
                description=f"Two bars per {label}: the cancellation rate and the no-show rate "
                f"from {period.first} to {period.last}. The table below has the numbers.",
                categories=[r[0] for r in rows],
                series=[
                    Series("Cancellation rate", [r[3] for r in rows]),
                    Series("No-show rate", [r[7] for r in rows]),
                ],
                value_label="Rate (%)",
                unit="%",
                at_least=100,
            )
        )
    return Report(tables, charts)
