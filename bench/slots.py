"""How fast is a full slot search, and does it stay fast as the booking table grows?

Builds a synthetic clinic in a fresh database (a SQLite file in a temporary folder, or a new
database on the PostgreSQL server named by BENCH_DATABASE_URL, dropped afterwards), then:

1. times `search_slots` (the real loader and engine) for four weeks and all 20 therapists, and
   counts its SQL statements;
2. runs the minute-by-minute reference of tests/unit/test_slots.py on exactly the inputs the
   loader handed to the engine, and fails if the two disagree;
3. grows the booking table with history outside the searched range to about 10,000 rows, then to
   about 1,000,000, timing the same search at each size.

On SQLite the table is measured without statistics, as Lindring leaves it (`--analyze` runs
ANALYZE there too); on PostgreSQL it is analyzed after each growth, as autovacuum would.

No time is asserted: figures depend on the machine. The only failure is a disagreement between
engine and reference (or a search whose answer changes when rows outside its range are added).

    make bench
    .venv/bin/python -m bench.slots
    BENCH_DATABASE_URL=postgresql://root@127.0.0.1/test .venv/bin/python -m bench.slots
    .venv/bin/python -m bench.slots --analyze --profile --bookings 200000 --repeats 5
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import io
import pstats
import random
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from time import perf_counter
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from flask_migrate import upgrade
from sqlalchemy import Table, create_engine, event, func, insert, select, text
from sqlalchemy.pool import NullPool

from bench.database import bench_config, fresh_database, postgres_server
from bench.table import Row, render, size
from clinic import clock, create_app
from clinic.auth.models import Role, User
from clinic.booking import availability
from clinic.booking.availability import local_midnight
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import (
    Certification,
    Pressure,
    Room,
    Technique,
    TechniqueOption,
    Therapist,
)
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy, TimeOff, WorkingHours
from clinic.scheduling.slots import (
    Interval,
    Slot,
    SlotQuery,
    TherapistSchedule,
    find_slots,
    find_slots_between,
    forget_remembered_searches,
)
from clinic.scheduling.slots import local_window as clinic_window
from tests.unit.test_slots import reference

TIMEZONE = "Europe/Copenhagen"
ZONE = ZoneInfo(TIMEZONE)
# A Sunday morning. The four searched weeks start the next day and hold no change of daylight
# saving time, so every weekday has the same working hours in UTC.
NOW = datetime(2027, 1, 31, 8, 0, tzinfo=UTC)
FIRST_DAY = date(2027, 2, 1)
DAYS = 28
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)

THERAPISTS = 20
ROOMS = 4
CLIENTS = 200
DURATION_MINUTES = 60
SESSION = timedelta(minutes=DURATION_MINUTES)
BUFFER = timedelta(minutes=15)  # the policy's default, which the clinic keeps
GRID = timedelta(minutes=15)
# Weekday hours: 09:00-17:00 with a lunch break from 12:30 to 13:00.
SHIFTS = ((time(9, 0), time(12, 30)), (time(13, 0), time(17, 0)))
SHIFT_MINUTES = 450
# The chance of booking a free grid time while filling a room's day; 0.5 fills about 60% of it
# (measured; each booking also costs a buffer, so a full day is 80%).
BOOK_CHANCE = 0.5
# History sits at the starts of a full day: 75 minutes apart, a session and its buffer.
HISTORY_STARTS = (time(9, 0), time(10, 15), time(11, 30), time(13, 0), time(14, 15), time(15, 30))
CHUNK = 50_000
SEED = 2027


@dataclass(frozen=True)
class Clinic:
    """The ids the measurements need, and how full the four searched weeks are."""

    technique_id: int
    therapist_ids: list[int]
    room_ids: list[int]
    client_ids: list[int]
    range_bookings: int
    room_share: float  # booked share of the rooms' working time in the searched weeks
    therapist_share: float  # booked share of the therapists' working time in the same weeks


@dataclass(frozen=True)
class Measurement:
    median_ms: float
    min_ms: float
    max_ms: float
    statements: int
    slots: list[Slot]


class StatementLog:
    """A before_cursor_execute listener: counts statements, keeps the last bookings query."""

    def __init__(self) -> None:
        self.count = 0
        self.booking_query: tuple[str, Any] | None = None

    def __call__(
        self,
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        self.count += 1
        if statement.lstrip().upper().startswith("SELECT") and "booking.starts_at" in statement:
            self.booking_query = (statement, parameters)


# --- the database -------------------------------------------------------------------------


def bulk_insert(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    # Core executemany: one statement for the whole list, no ORM unit of work per object.
    db.session.execute(insert(table), rows)


def table_of(model: type[Any]) -> Table:
    return db.metadata.tables[model.__tablename__]


def booking_count() -> int:
    return db.session.scalar(select(func.count()).select_from(table_of(Booking))) or 0


# --- the synthetic clinic -----------------------------------------------------------------


def weekdays() -> list[date]:
    days = [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]
    return [day for day in days if day.weekday() < 5]


def local_window(day: date, begin: time, end: time) -> Interval:
    found = clinic_window(day, begin, end, ZONE)
    if found is None:
        raise ValueError(f"empty working window on {day}")
    return found


def time_off_plan(therapist_ids: Sequence[int]) -> dict[int, list[Interval]]:
    """A week's holiday for one therapist, a two-hour appointment for five others.

    Only so that the engine and the reference also compare on time off (blocks without buffer).
    """
    days = weekdays()
    holiday = Interval(
        local_midnight(days[5], ZONE), local_midnight(days[9] + timedelta(days=1), ZONE)
    )
    plan = {therapist_ids[0]: [holiday]}
    for n, tid in enumerate(therapist_ids[1:6]):
        plan[tid] = [local_window(days[2 + 3 * n], time(10, 0), time(12, 0))]
    return plan


def plan_four_weeks(
    rng: random.Random,
    therapist_ids: Sequence[int],
    room_ids: Sequence[int],
    time_off: dict[int, list[Interval]],
) -> list[tuple[int, int, datetime]]:
    """(therapist, room, start) of the bookings in the searched weeks.

    Rooms are the scarce resource: 4 rooms cannot hold 20 therapists' sessions at once, so "60%
    of the working time" is read as 60% of the rooms' working hours. Each room's day is filled
    along the 15-minute grid, its sessions a buffer apart; each session then goes to a random
    therapist who is free then (a buffer after their last session, not on time off).
    """
    planned = []
    for day in weekdays():
        starts = []
        for room in room_ids:
            for begin, end in SHIFTS:
                window = local_window(day, begin, end)
                t = window.start
                while t + SESSION <= window.end:
                    if rng.random() < BOOK_CHANCE:
                        starts.append((t, room))
                        t += SESSION + BUFFER
                    else:
                        t += GRID
        free_from = dict.fromkeys(therapist_ids, datetime.min.replace(tzinfo=UTC))
        for start, room in sorted(starts):
            session = Interval(start, start + SESSION)
            ready = [
                tid
                for tid in therapist_ids
                if free_from[tid] <= start
                and not any(off.overlaps(session) for off in time_off.get(tid, ()))
            ]
            tid = rng.choice(ready)
            free_from[tid] = session.end + BUFFER
            planned.append((tid, room, start))
    return planned


def booking_row(
    *,
    client: int,
    technique: int,
    therapist: int,
    room: int,
    start: datetime,
    status: BookingStatus,
) -> dict[str, Any]:
    # Columns not named here take their model defaults: Core's insert applies them too.
    return {
        "client_id": client,
        "therapist_id": therapist,
        "technique_id": technique,
        "room_id": room,
        "starts_at": start,
        "ends_at": start + SESSION,
        "duration_minutes": DURATION_MINUTES,
        "price_minor": 65000,
        "status": status,
        "cancel_reason": "",
        "created_at": min(start, NOW) - timedelta(days=14),
    }


def build_clinic(rng: random.Random) -> Clinic:
    """Insert policy, technique, therapists, rooms, hours, time off and the four busy weeks."""
    bulk_insert(
        table_of(ClinicPolicy),
        [
            {
                "id": 1,
                "granularity_minutes": 15,
                "buffer_minutes": 15,
                "min_notice_minutes": 120,
                "horizon_days": 90,
                "cancellation_cutoff_hours": 24,
                "updated_at": NOW,
            }
        ],
    )
    users = [("therapist", Role.THERAPIST, n) for n in range(1, THERAPISTS + 1)]
    users += [("client", Role.CLIENT, n) for n in range(1, CLIENTS + 1)]
    bulk_insert(
        table_of(User),
        [
            {
                "email": f"{kind}{n}@bench.example",
                "name": f"{kind.title()} {n:03d}",
                "phone": "",
                "password_hash": "!",  # matches no password: nobody logs in here
                "role": role,
                "active": True,
                "session_token": f"bench-{kind}-{n}",
                "created_at": NOW - timedelta(days=3650),
            }
            for kind, role, n in users
        ],
    )
    therapist_users = list(
        db.session.scalars(select(User.id).where(User.role == Role.THERAPIST).order_by(User.id))
    )
    client_ids = list(
        db.session.scalars(select(User.id).where(User.role == Role.CLIENT).order_by(User.id))
    )
    bulk_insert(
        table_of(Technique),
        [
            {
                "slug": "bench-massage",
                "name": "Bench massage",
                "summary": "The one technique of the benchmark clinic.",
                "description": "Sixty minutes.",
                "helps_with": "",
                "not_suitable_for": "",
                "pressure": Pressure.GENTLE,
                "active": True,
                "position": 1,
            }
        ],
    )
    technique_id = db.session.scalar(select(Technique.id).where(Technique.slug == "bench-massage"))
    if technique_id is None:
        raise RuntimeError("the technique was not stored")
    bulk_insert(
        table_of(TechniqueOption),
        [{"technique_id": technique_id, "duration_minutes": 60, "price_minor": 65000}],
    )
    bulk_insert(
        table_of(Therapist),
        [{"user_id": uid, "bio": "", "active": True} for uid in therapist_users],
    )
    therapist_ids = list(db.session.scalars(select(Therapist.id).order_by(Therapist.id)))
    bulk_insert(
        table_of(Certification),
        [
            {
                "therapist_id": tid,
                "technique_id": technique_id,
                "body": "Bench Board",
                "number": f"B-{tid}",
                "valid_from": date(2015, 1, 1),
                "valid_until": date(2030, 12, 31),
                "document_ref": "",
            }
            for tid in therapist_ids
        ],
    )
    bulk_insert(
        table_of(WorkingHours),
        [
            {"therapist_id": tid, "weekday": weekday, "start_time": begin, "end_time": end}
            for tid in therapist_ids
            for weekday in range(5)
            for begin, end in SHIFTS
        ],
    )
    bulk_insert(
        table_of(Room), [{"name": f"Room {n}", "active": True} for n in range(1, ROOMS + 1)]
    )
    room_ids = list(db.session.scalars(select(Room.id).order_by(Room.id)))

    time_off = time_off_plan(therapist_ids)
    bulk_insert(
        table_of(TimeOff),
        [
            {
                "therapist_id": tid,
                "starts_at": off.start,
                "ends_at": off.end,
                "reason": "bench",
                "created_at": NOW,
            }
            for tid, offs in time_off.items()
            for off in offs
        ],
    )
    planned = plan_four_weeks(rng, therapist_ids, room_ids, time_off)
    bulk_insert(
        table_of(Booking),
        [
            booking_row(
                client=rng.choice(client_ids),
                technique=technique_id,
                therapist=tid,
                room=room,
                start=start,
                status=BookingStatus.CONFIRMED,
            )
            for tid, room, start in planned
        ],
    )
    db.session.commit()

    booked = len(planned) * DURATION_MINUTES
    working_days = len(weekdays())
    return Clinic(
        technique_id=technique_id,
        therapist_ids=therapist_ids,
        room_ids=room_ids,
        client_ids=client_ids,
        range_bookings=len(planned),
        room_share=booked / (ROOMS * working_days * SHIFT_MINUTES),
        therapist_share=booked / (THERAPISTS * working_days * SHIFT_MINUTES),
    )


def history(rng: random.Random, clinic: Clinic) -> Iterator[dict[str, Any]]:
    """Endless bookings outside the searched weeks: 9 in 10 over the ten years before them,
    1 in 10 between two months and two years after them.

    They overlap one another: a clinic of 20 therapists and 4 rooms would need well over a
    century to book a million sessions. The search never reads them, so only their number and
    the spread of their start times matter here.
    """
    past_first = FIRST_DAY - timedelta(days=3652)
    past_days = (FIRST_DAY - timedelta(days=7) - past_first).days
    future_first = LAST_DAY + timedelta(days=60)
    future_days = 730
    while True:
        if rng.random() < 0.9:
            day = past_first + timedelta(days=rng.randrange(past_days))
            roll = rng.random()
            status = (
                BookingStatus.COMPLETED
                if roll < 0.88
                else BookingStatus.CANCELLED
                if roll < 0.97
                else BookingStatus.NO_SHOW
            )
        else:
            day = future_first + timedelta(days=rng.randrange(future_days))
            roll = rng.random()
            status = (
                BookingStatus.CONFIRMED
                if roll < 0.85
                else BookingStatus.PENDING
                if roll < 0.9
                else BookingStatus.CANCELLED
            )
        if day.weekday() >= 5:
            continue
        start = datetime.combine(day, rng.choice(HISTORY_STARTS), tzinfo=ZONE).astimezone(UTC)
        yield booking_row(
            client=rng.choice(clinic.client_ids),
            technique=clinic.technique_id,
            therapist=rng.choice(clinic.therapist_ids),
            room=rng.choice(clinic.room_ids),
            start=start,
            status=status,
        )


def grow_bookings(target: int, rows: Iterator[dict[str, Any]], *, progress: bool) -> float:
    """Insert history until the table holds `target` rows, in chunks; returns the seconds taken."""
    have = booking_count()
    started = perf_counter()
    while have < target:
        chunk = list(islice(rows, min(CHUNK, target - have)))
        bulk_insert(table_of(Booking), chunk)
        db.session.commit()
        have += len(chunk)
        if progress:
            print(f"    {have:>9,} rows  {perf_counter() - started:6.1f} s", flush=True)
    return perf_counter() - started


def refresh_statistics(on_sqlite: bool) -> str:
    """ANALYZE the booking table on PostgreSQL, and on SQLite only when asked; says which.

    PostgreSQL's autovacuum analyzes a table soon after a large insert, at a moment of its own
    choosing; doing it here keeps that out of the timed runs and measures the steady state.
    SQLite has no such daemon and Lindring never runs ANALYZE on it, so by default SQLite is
    measured without statistics, as the app would run there.
    """
    if db.engine.dialect.name == "sqlite" and not on_sqlite:
        return "no ANALYZE"
    db.session.execute(text("ANALYZE booking"))
    db.session.commit()
    return "after ANALYZE"


# --- measuring ----------------------------------------------------------------------------


def timed_search(
    clinic: Clinic, log: StatementLog, *, remembered: bool = False
) -> tuple[float, int, list[Slot]]:
    """One search as the /book page runs it: (seconds, statements, slots).

    The engine's memo of recent searches is emptied first unless `remembered`: the figure is
    then of the search itself, as the first visitor after a change waits for it.
    """
    # A fresh session each time, so no row is served from the identity map.
    db.session.remove()
    if not remembered:
        forget_remembered_searches()
    # Loaded before the clock starts: the page has the technique in hand before it searches.
    technique = db.session.get(Technique, clinic.technique_id)
    if technique is None:
        raise RuntimeError("the technique is gone")
    before = log.count
    started = perf_counter()
    found = availability.search_slots(
        technique=technique,
        duration_minutes=DURATION_MINUTES,
        first_day=FIRST_DAY,
        last_day=LAST_DAY,
        now=clock.utcnow(),
        timezone=TIMEZONE,
    )
    elapsed = perf_counter() - started
    return elapsed, log.count - before, found.slots


def measure_search(
    clinic: Clinic, log: StatementLog, repeats: int, *, remembered: bool = False
) -> Measurement:
    # Warm-up: the connection pool, SQLAlchemy's statement cache, zoneinfo's cache.
    timed_search(clinic, log)
    times = []
    counts = set()
    slots: list[Slot] = []
    for _ in range(repeats):
        elapsed, statements, slots = timed_search(clinic, log, remembered=remembered)
        times.append(elapsed * 1000)
        counts.add(statements)
    if len(counts) > 1:
        # Not a failure (nothing here is timed against a limit), but worth a look.
        print(f"  note: the statement count varied between runs: {sorted(counts)}")
    return Measurement(
        median_ms=statistics.median(times),
        min_ms=min(times),
        max_ms=max(times),
        statements=max(counts),
        slots=slots,
    )


def median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = perf_counter()
        run()
        times.append((perf_counter() - started) * 1000)
    return statistics.median(times)


def engine_inputs(
    clinic: Clinic, log: StatementLog
) -> tuple[list[TherapistSchedule], list[list[Interval]], SlotQuery]:
    """The very arguments the loader passes to find_slots, caught with a spy around it.

    Catching them, rather than re-reading the rows, means the reference sees what the engine
    saw, so a disagreement can only be the engine's (or the reference's) doing.
    """
    between = find_slots_between
    with mock.patch.object(availability, "find_slots_between", wraps=between) as spy:
        timed_search(clinic, log)
    bound = inspect.signature(between).bind(*spy.call_args.args, **spy.call_args.kwargs)
    # The loader asks over its whole range and cuts to the bookable times: the same slots as
    # find_slots with the cut as the query's own bounds (tests/unit/test_slots.py).
    args = bound.arguments
    return (
        list(args["therapists"]),
        [list(room) for room in args["rooms"]],
        replace(args["query"], earliest=args["earliest"], latest=args["latest"]),
    )


def slot_keys(slots: Sequence[Slot]) -> list[tuple[datetime, int, datetime]]:
    # Slot equality ignores `end`; compare it too.
    return [(s.start, s.therapist_id, s.end) for s in slots]


def require_same(label: str, expected: Sequence[Slot], got: Sequence[Slot]) -> None:
    """Stop the run, showing the first differences, if two slot lists are not the same."""
    if slot_keys(expected) == slot_keys(got):
        return
    missing = sorted(set(slot_keys(expected)) - set(slot_keys(got)))
    extra = sorted(set(slot_keys(got)) - set(slot_keys(expected)))
    print(f"\nFAILED: {label}: {len(expected)} slots expected, {len(got)} found", file=sys.stderr)
    for name, keys in (("missing", missing), ("unexpected", extra)):
        for start, tid, end in keys[:10]:
            local = start.astimezone(ZONE)
            print(
                f"  {name}: therapist {tid} {local:%a %d %b %H:%M} to {end.astimezone(ZONE):%H:%M}",
                file=sys.stderr,
            )
    raise SystemExit(1)


def booking_query_plan(log: StatementLog) -> list[str]:
    """The database's plan for the loader's bookings query, as last sent."""
    if log.booking_query is None:
        return ["(the bookings query was not seen)"]
    statement, parameters = log.booking_query
    sqlite = db.engine.dialect.name == "sqlite"
    # The statement as SQLAlchemy compiled it, with the same parameters.
    explain = ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement
    # A new connection, not one from the pool: a pooled SQLite connection keeps the plan it
    # prepared for the same EXPLAIN text before ANALYZE, and would show that stale plan.
    engine = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(explain, parameters).all()
    finally:
        engine.dispose()
    return [str(row[-1]) if sqlite else str(row[0]) for row in rows]


def profile_search(clinic: Clinic, log: StatementLog, top: int = 15) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    timed_search(clinic, log)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def describe(label: str, m: Measurement, repeats: int) -> None:
    print(
        f"  {label}: median {m.median_ms:.1f} ms (min {m.min_ms:.1f}, max {m.max_ms:.1f}) "
        f"over {repeats} runs; {m.statements} statements; {len(m.slots):,} slots",
        flush=True,
    )


# --- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace, label: str) -> list[Row]:
    """Build the clinic, measure, grow the table, measure again; the rows for the table."""
    rng = random.Random(SEED)  # noqa: S311 (repeatable data, not secrets)
    log = StatementLog()
    event.listen(db.engine, "before_cursor_execute", log)
    repeats = args.repeats

    started = perf_counter()
    upgrade()
    clinic = build_clinic(rng)
    build_s = perf_counter() - started
    print(
        f"Clinic on {label}: {THERAPISTS} therapists, {ROOMS} rooms, "
        f"{clinic.range_bookings:,} confirmed bookings in the {DAYS} searched days "
        f"({clinic.room_share:.0%} of the rooms' working time, "
        f"{clinic.therapist_share:.0%} of the therapists'); built in {build_s:.1f} s",
        flush=True,
    )
    plans: dict[str, tuple[str, list[str]]] = {}

    print(f"\n1. Slot search with only the searched weeks booked ({booking_count():,} rows)")
    base = measure_search(clinic, log, repeats)
    describe("search_slots", base, repeats)
    plans[f"{clinic.range_bookings:,} rows"] = ("no ANALYZE", booking_query_plan(log))

    again = measure_search(clinic, log, repeats, remembered=True)
    describe("search_slots, the same search again (memo)", again, repeats)
    require_same("search from the memo vs without", base.slots, again.slots)

    therapists, rooms, query = engine_inputs(clinic, log)
    require_same(
        "find_slots on the loader's inputs vs search_slots",
        base.slots,
        find_slots(therapists, rooms, query),
    )
    engine_ms = median_ms(lambda: find_slots(therapists, rooms, query), repeats)
    print(f"  find_slots alone: median {engine_ms:.1f} ms", flush=True)

    print(f"  brute-force reference, {args.reference_runs} run(s) ...", flush=True)
    found: list[Slot] = []
    reference_times = []
    for _ in range(args.reference_runs):
        t0 = perf_counter()
        found = reference(therapists, rooms, query)
        reference_times.append((perf_counter() - t0) * 1000)
    reference_ms = statistics.median(reference_times)
    require_same("reference vs engine", found, base.slots)
    print(
        f"  reference: median {reference_ms:,.0f} ms, the same {len(found):,} slots as the engine",
        flush=True,
    )

    rows = history(rng, clinic)
    small_rows, large_rows = args.baseline_bookings, args.bookings
    print(f"\n2. Growing the booking table to {small_rows:,} rows")
    grow_bookings(small_rows, rows, progress=False)
    stats_note = refresh_statistics(args.analyze)
    small = measure_search(clinic, log, repeats)
    describe(f"{booking_count():,} rows, {stats_note}", small, repeats)
    require_same("search with history vs without", base.slots, small.slots)
    plans[f"{small_rows:,} rows"] = (stats_note, booking_query_plan(log))

    print(f"\n3. Growing the booking table to {large_rows:,} rows (chunks of {CHUNK:,})")
    insert_s = grow_bookings(large_rows, rows, progress=True)
    inserted = large_rows - small_rows
    print(f"  inserted {inserted:,} rows in {insert_s:.1f} s ({inserted / insert_s:,.0f} rows/s)")
    refresh_statistics(args.analyze)
    large = measure_search(clinic, log, repeats)
    describe(f"{booking_count():,} rows, {stats_note}", large, repeats)
    require_same("search with a large history vs without", base.slots, large.slots)
    plans[f"{large_rows:,} rows"] = (stats_note, booking_query_plan(log))

    for rows_label, (note, plan) in plans.items():
        print(f"\nPlan of the loader's bookings query at {rows_label} ({note}):")
        for step in plan:
            print(f"  {step}")

    if args.profile:
        print(f"\ncProfile of one search at {large_rows:,} rows:")
        print(profile_search(clinic, log))

    search = f"{base.median_ms:.1f} ms (search)"
    small_label, large_label = size(small_rows), size(large_rows)
    base_label = size(clinic.range_bookings)
    print(f"\nSlot search on {label}: {stats_note} after growing the table.")
    return [
        Row(
            f"slot search, {DAYS} days x {THERAPISTS} therapists (median)",
            label,
            base_label,
            f"{base.median_ms:.1f} ms",
            "",
            "",
        ),
        Row(
            "  engine alone: find_slots on the loader's inputs",
            label,
            base_label,
            f"{engine_ms:.1f} ms",
            search,
            f"{engine_ms / base.median_ms:.2f}",
        ),
        Row(
            "  the same search again, slots from the engine's memo",
            label,
            base_label,
            f"{again.median_ms:.1f} ms",
            search,
            f"{again.median_ms / base.median_ms:.2f}",
        ),
        Row(
            f"  brute-force reference (median of {args.reference_runs})",
            label,
            base_label,
            f"{reference_ms:,.0f} ms",
            search,
            f"{reference_ms / base.median_ms:,.0f}x",
        ),
        Row(
            "  slots found: engine / reference",
            label,
            base_label,
            f"{len(base.slots):,}",
            f"{len(found):,}",
            "same",
        ),
        Row(
            "slot search with history (median)",
            label,
            small_label,
            f"{small.median_ms:.1f} ms",
            search,
            f"{small.median_ms / base.median_ms:.2f}",
        ),
        Row(
            "slot search with history (median)",
            label,
            large_label,
            f"{large.median_ms:.1f} ms",
            f"{small.median_ms:.1f} ms ({small_label})",
            f"{large.median_ms / small.median_ms:.2f}",
        ),
        Row(
            "  SQL statements per search",
            label,
            f"{small_label} / {large_label}",
            f"{small.statements} / {large.statements}",
            f"{base.statements} (search)",
            "same" if base.statements == small.statements == large.statements else "CHANGED",
        ),
        Row(
            "bulk insert of history rows",
            label,
            large_label,
            f"{inserted:,} in {insert_s:.1f} s",
            "",
            f"{inserted / insert_s:,.0f} rows/s",
        ),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.slots",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--bookings",
        type=int,
        default=1_000_000,
        help="rows in the booking table for the last measurement",
    )
    parser.add_argument(
        "--baseline-bookings",
        type=int,
        default=10_000,
        help="rows in the booking table for the measurement it is compared with",
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per measurement")
    parser.add_argument(
        "--reference-runs", type=int, default=3, help="runs of the brute-force reference (slow)"
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE on SQLite too after growing the table (always done on PostgreSQL)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of one search on the largest table"
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, server: str | None) -> list[Row]:
    """The whole benchmark on a fresh database (SQLite, or one on `server`); the table's rows."""
    # Fixed clock: the same "now" every run, so the same slots and figures to compare.
    with fresh_database(server) as (url, label), mock.patch.object(clock, "utcnow", lambda: NOW):
        app = create_app(bench_config(url))
        with app.app_context():
            try:
                return run(args, label)
            finally:
                db.session.remove()
                db.engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = perf_counter()
    rows = measure(args, postgres_server())
    print()
    print(render(rows))
    print(f"\nWhole run: {perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
