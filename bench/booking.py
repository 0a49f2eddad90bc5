"""Booking throughput and latency under gunicorn, next to a bare Flask route on the same server.

Builds the demo clinic in a fresh database (a SQLite file in a temporary folder, or a new
database on the PostgreSQL server named by BENCH_DATABASE_URL, dropped afterwards), starts
gunicorn on 127.0.0.1 serving `serve()` below (the app exactly as wsgi.py builds it, plus one
route, GET /bench/bare, that returns two bytes and touches no database), then, with the same
number of concurrent clients for both:

1. the baseline: GET /bench/bare, `--bare` requests;
2. bookings: POST /api/v1/bookings, `--bookings` requests, each for a different free time
   (found beforehand with GET /api/v1/slots and spaced so that none blocks another), from
   `--concurrency` clients with a cleared screening and their own bearer token.

Each phase also stops after `--seconds`. The load comes from threads in this process using
http.client, one new connection per request (gunicorn's sync workers close it anyway), so a
latency includes the TCP connect. The clinic runs on the real clock: gunicorn cannot be given a
fixed one, and the demo clinic is seeded for today.

No figure is asserted: they depend on the machine, and the load generator shares its CPUs with
the server (its CPU time is printed). The run fails (exit status 1, after printing the table)
when a booking does not answer 201, when the database does not hold exactly the bookings that
were answered 201, or when the server logged an error.

    make bench                        # runs bench.slots, then this (BENCH_BOOKING_ARGS)
    .venv/bin/python -m bench.booking
    BENCH_DATABASE_URL=postgresql://root@127.0.0.1/test .venv/bin/python -m bench.booking
    .venv/bin/python -m bench.booking --workers 4 --threads 4 --concurrency 32
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response
from flask_migrate import upgrade
from sqlalchemy import func, select

from bench.database import bench_config, fresh_database
from clinic import clock, create_app
from clinic.auth.models import Role
from clinic.auth.operations import create_user
from clinic.booking.models import LIVE, Booking
from clinic.demo import seed_demo
from clinic.extensions import db
from clinic.screening.operations import submit_screening
from clinic.screening.rules import questions
from tests.concurrency_support import (
    Account,
    ApiChannel,
    Call,
    Server,
    Slot,
    free_slots,
    gunicorn,
    log_summary,
    send,
    therapist_ids,
)

TIMEZONE = "Europe/Copenhagen"
PASSWORD = "bench password for the load clients"  # noqa: S105 (throw-away accounts)
# Two therapists who work the same weekdays, so every planned booking can succeed: a session
# needs one room free for its whole length plus buffer, and two therapists' sessions overlap
# at most two rooms of the clinic's three. (With a third therapist, rooms fragment: a room
# still in its buffer and another taken a little later can leave none free for the whole
# session, and about 1 in 300 planned bookings is refused, rightly.)
PLAN = (
    ("anna", "trigger-point-therapy", 30),
    ("bo", "classic-massage", 30),
)
SEED = 2027


def serve() -> Flask:
    """The app as wsgi.py builds it, plus the baseline route; `gunicorn 'bench.booking:serve()'`."""
    app = create_app()

    @app.get("/bench/bare")
    def bare() -> Response:
        return Response("ok", mimetype="text/plain")

    return app


# --- the database and the clinic ----------------------------------------------------------


def build_clinic(app: Flask, clients: int) -> list[Account]:
    """Migrate, seed the demo clinic for today, and add clients whose screening clears all."""
    all_no = {q.id: (False if q.kind == "yes_no" else "") for q in questions()}
    with app.app_context():
        upgrade()
        now = clock.utcnow()
        seed_demo(clock.local_today(TIMEZONE), now)
        users = []
        for n in range(clients):
            user = create_user(
                email=f"load{n}@bench.example",
                name=f"Load Client {n}",
                password=PASSWORD,
                role=Role.CLIENT,
            )
            submit_screening(user, all_no, consent=True, now=now)
            users.append(user)
        db.session.commit()
        accounts = [Account(u.id, u.email, PASSWORD) for u in users]
        db.session.remove()
        db.engine.dispose()  # gunicorn's workers open their own connections
    return accounts


def live_booking_count(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Booking).where(Booking.status.in_(LIVE))
        )
        db.session.remove()
        db.engine.dispose()
        return count or 0


def plan_slots(server: Server, wanted: int) -> list[Slot]:
    """`wanted` free times that can all be booked: per therapist, a session and buffer apart.

    From tomorrow on, so that none falls inside the 2-hour notice while the run goes on.
    """
    ids = therapist_ids(server)
    first = clock.local_today(TIMEZONE) + timedelta(days=1)
    last = first + timedelta(days=85)
    planned: list[Slot] = []
    for name, technique, minutes in PLAN:
        gap = timedelta(minutes=minutes + 15)  # the demo policy's buffer
        previous = None
        for slot in free_slots(server, technique, minutes, first, last, ids[name]):
            if previous is None or slot.start - previous >= gap:
                planned.append(slot)
                previous = slot.start
    random.Random(SEED).shuffle(planned)  # noqa: S311 (an order, not a secret)
    if len(planned) < wanted:
        sys.exit(f"only {len(planned)} bookable times in the horizon; ask for fewer --bookings")
    return planned[:wanted]


# --- the load -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseResult:
    sent: int
    statuses: Counter[int]
    latencies: list[float]  # seconds, of the answers with the expected status
    samples: dict[int, str]  # the start of one body per unexpected status
    wall: float
    client_cpu: float

    def ok(self, status: int) -> int:
        return self.statuses[status]

    def per_second(self, status: int) -> float:
        return self.ok(status) / self.wall

    def percentile_ms(self, p: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


def run_phase(
    port: int, calls: Sequence[Call], *, concurrency: int, seconds: float, expect: int
) -> PhaseResult:
    """Send `calls` from `concurrency` threads, each starting its next call when one returns.

    Stops early (no new call starts) after `seconds`.
    """
    lock = threading.Lock()
    pending = iter(calls)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    samples: dict[int, str] = {}
    deadline = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < deadline:
            with lock:
                call = next(pending, None)
            if call is None:
                return
            try:
                answer = send(port, call)
                status, took, body = answer.status, answer.seconds, answer.text[:200]
            except OSError as exc:
                status, took, body = 0, 0.0, str(exc)  # 0: the connection failed
            with lock:
                statuses[status] += 1
                if status == expect:
                    latencies.append(took)
                else:
                    samples.setdefault(status, body)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    cpu, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return PhaseResult(sum(statuses.values()), statuses, latencies, samples, wall, cpu)


def print_table(rows: Sequence[Sequence[str]]) -> None:
    header = ("route", "answered", "ok", "requests/s", "p50 ms", "p99 ms", "client CPU s")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cells in rows:
        print(line(cells))


def row(label: str, result: PhaseResult, status: int) -> list[str]:
    return [
        label,
        f"{result.sent:,}",
        f"{result.ok(status):,}",
        f"{result.per_second(status):,.1f}",
        f"{result.percentile_ms(50):.1f}",
        f"{result.percentile_ms(99):.1f}",
        f"{result.client_cpu:.1f}",
    ]


# --- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace, url: str, label: str, folder: Path) -> bool:
    started = time.perf_counter()
    app = create_app(bench_config(url))
    accounts = build_clinic(app, args.concurrency)
    worker_class = "gthread" if args.threads > 1 else "sync"
    print(
        f"{label}: gunicorn {worker_class} workers x {args.workers}"
        + (f", {args.threads} threads each" if args.threads > 1 else "")
        + f"; {args.concurrency} concurrent clients; {os.cpu_count()} CPUs shared by server "
        f"and load; clinic built in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    log = folder / "gunicorn.log"
    with gunicorn(
        url,
        log,
        workers=args.workers,
        threads=args.threads,
        app="bench.booking:serve()",
    ) as server:
        api = ApiChannel()
        for account in accounts:
            api.log_in(server, account)
        slots = plan_slots(server, args.bookings + args.warmup)
        booking_calls = [
            api.prepare(server, accounts[n % len(accounts)], slot) for n, slot in enumerate(slots)
        ]
        bare_calls = [Call("GET", "/bench/bare")] * (args.bare + args.warmup)

        # Warm-up: the workers' first requests load templates, open connections and fill
        # caches; neither phase should pay for that in its figures.
        run_phase(
            server.port,
            bare_calls[: args.warmup],
            concurrency=args.concurrency,
            seconds=args.seconds,
            expect=200,
        )
        warm = run_phase(
            server.port,
            booking_calls[: args.warmup],
            concurrency=args.concurrency,
            seconds=args.seconds,
            expect=201,
        )
        print(f"  warm-up done ({warm.ok(201)} bookings); measuring ...", flush=True)
        bare = run_phase(
            server.port,
            bare_calls[args.warmup :],
            concurrency=args.concurrency,
            seconds=args.seconds,
            expect=200,
        )
        booked = run_phase(
            server.port,
            booking_calls[args.warmup :],
            concurrency=args.concurrency,
            seconds=args.seconds,
            expect=201,
        )
        logged = server.log_text()

    stored = live_booking_count(app)
    answered_201 = warm.ok(201) + booked.ok(201)
    print(f"\nResults ({label}):\n")
    base, book = (
        row("GET /bench/bare (baseline)", bare, 200),
        row("POST /api/v1/bookings", booked, 201),
    )
    per_second = booked.per_second(201) / bare.per_second(200)
    p50 = booked.percentile_ms(50) / bare.percentile_ms(50)
    p99 = booked.percentile_ms(99) / bare.percentile_ms(99)
    ratio = ["booking / baseline", "", "", f"{per_second:.3f}", f"{p50:.1f}", f"{p99:.1f}", ""]
    print_table([base, book, ratio])
    print(
        f"\nThe baseline serves {1 / per_second:.0f}x the requests per second of booking; "
        f"a booking's median latency is {p50:.0f}x the baseline's."
        if per_second
        else "\nNo booking succeeded."
    )
    print(f"Bookings answered 201: {answered_201:,}; live bookings in the database: {stored:,}.")
    problems = []
    other = {s: n for s, n in booked.statuses.items() if s != 201}
    if other or warm.ok(201) != warm.sent:
        problems.append(f"booking answers other than 201: {other or dict(warm.statuses)}")
        for status, body in {**warm.samples, **booked.samples}.items():
            problems.append(f"  one {status} said: {body.strip()!r}")
    if bare.ok(200) != bare.sent:
        problems.append(f"baseline answers other than 200: {dict(bare.statuses)}")
    if stored != answered_201:
        problems.append(f"{stored} live bookings stored, but {answered_201} answered 201")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if "Traceback" in logged:
        problems.append("errors in the server log")
        print("PROBLEM: the server logged errors (the app's frames, by count):")
        print(log_summary(logged))
    return not problems


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.booking",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bookings", type=int, default=600, help="booking requests measured")
    parser.add_argument("--bare", type=int, default=5000, help="baseline requests measured")
    parser.add_argument(
        "--warmup", type=int, default=40, help="unmeasured requests of each kind first"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (more than 1: gthread)"
    )
    parser.add_argument(
        "--seconds", type=float, default=60, help="time limit of each phase (seconds)"
    )
    args = parser.parse_args(argv)
    for name in ("bookings", "bare", "concurrency", "workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.concurrency > 200:
        parser.error("--concurrency is bounded at 200: this is a benchmark, not a load test")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    with fresh_database() as (url, label), tempfile.TemporaryDirectory() as folder:
        ok = run(args, url, label, Path(folder))
    print(f"\nWhole run: {time.perf_counter() - started:.0f} s")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
