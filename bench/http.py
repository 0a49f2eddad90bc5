"""HTTP under gunicorn: the slot search, the slot page and booking, beside a bare route.

Builds the clinic of bench/slots.py (20 therapists certified for one 60-minute technique, four
busy weeks) in a fresh database, adds rooms so that every therapist can work at once, and
clients with a cleared screening. Then, for each size of the booking table (`--sizes`, history
added outside the measured weeks), it starts gunicorn on 127.0.0.1 (LINDRING_ENV=production, the
rate limits on with raised limits, in Redis when 127.0.0.1:6379 answers) and measures with wrk
(Debian's package), each phase `--seconds` long after a one-second warm-up:

1. GET /bench/bare: two bytes, no database, no session; the baseline of this server and run;
2. GET /my/bookings: an ordinary page, a signed-in client's list of their 20 bookings;
3. GET /api/v1/slots: one technique, 14 days, all 20 therapists (as JSON);
4. GET /book: the page of the same 14 days (HTML);
5. POST /api/v1/bookings: each request a different free time, planned beforehand per
   therapist a session and buffer apart so none blocks another, from `--concurrency` clients
   with their own bearer token; the phase also ends when the planned times run out.

The server runs on a fixed clock (serve() reads BENCH_NOW), so the same weeks are free on any
day. The load generator shares the machine's CPUs with the server; its CPU time is reported.
No time is asserted: the run fails when an answer is not the expected status (2xx), when the
database holds a booking that was not asked for or two live bookings of a therapist overlap, or
when the server logged an error.

    .venv/bin/python -m bench.http                     # SQLite
    BENCH_DATABASE_URL=postgresql://root@127.0.0.1/test .venv/bin/python -m bench.http
    .venv/bin/python -m bench.http --threads 4          # gunicorn's gthread workers
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode

from flask import Flask, Response
from flask_migrate import upgrade
from sqlalchemy import insert, select

from bench import slots as synthetic
from bench.database import bench_config, fresh_database, postgres_server
from bench.table import Row, render, size
from clinic import clock, create_app
from clinic.booking.models import LIVE, Booking
from clinic.catalog.models import Room
from clinic.extensions import db
from tests.concurrency_support import (
    Account,
    ApiChannel,
    Call,
    FormChannel,
    Server,
    Slot,
    fire_together,
    free_slots,
    gunicorn,
    log_summary,
    make_clients,
)

TECHNIQUE = "bench-massage"
DURATION = synthetic.DURATION_MINUTES
NOW = synthetic.NOW
SEARCH_FIRST = synthetic.FIRST_DAY
SEARCH_LAST = SEARCH_FIRST + timedelta(days=13)
# Bookings go into weeks nobody has booked yet: after the four busy weeks, before the history
# that lies two months after them, inside the 90-day horizon.
BOOK_FIRST = synthetic.LAST_DAY + timedelta(days=1)
BOOK_LAST = synthetic.LAST_DAY + timedelta(days=59)
ROOMS = synthetic.THERAPISTS  # one each: a planned booking never waits for a room
RAISED_LIMIT = "1000000 per hour"
RATE_LIMITS = (
    "RATELIMIT_LOGIN_IP",
    "RATELIMIT_LOGIN_ACCOUNT",
    "RATELIMIT_TOKEN_IP",
    "RATELIMIT_TOKEN_ACCOUNT",
    "RATELIMIT_BOOKING_IP",
    "RATELIMIT_BOOKING_ACCOUNT",
)
SEED = 2027

SLOTS_API = "/api/v1/slots?" + urlencode(
    {
        "technique": TECHNIQUE,
        "duration": DURATION,
        "from": SEARCH_FIRST.isoformat(),
        "to": SEARCH_LAST.isoformat(),
    }
)
# An ordinary page beside the slot search: a client's list of bookings, as many rows as the
# issue's reference page reads through the ORM.
MY_BOOKINGS = "/my/bookings"
READER_BOOKINGS = 20
SLOTS_PAGE = "/book?" + urlencode(
    {"technique": TECHNIQUE, "duration": DURATION, "start": SEARCH_FIRST.isoformat()}
)


def serve() -> Flask:
    """The app as wsgi.py builds it, on BENCH_NOW's clock, plus the baseline route."""
    fixed = os.environ.get("BENCH_NOW")
    if fixed:
        now = datetime.fromisoformat(fixed)
        # The benchmark's only mock, the clock: gunicorn's workers are forked from this process.
        mock.patch.object(clock, "utcnow", lambda: now).start()
    app = create_app()

    @app.get("/bench/bare")
    def bare() -> Response:
        return Response("ok", mimetype="text/plain")

    return app


# --- the clinic ---------------------------------------------------------------------------


@dataclass
class Clinic:
    model: synthetic.Clinic
    accounts: list[Account]
    history: Iterator[dict[str, Any]]  # history rows, one generator for every growth
    reader: Account  # a client with READER_BOOKINGS bookings, for the ordinary page


def build_clinic(app: Flask, clients: int) -> Clinic:
    """The bench/slots.py clinic, a room per therapist, and `clients` who may book."""
    rng = random.Random(SEED)  # noqa: S311 (repeatable data, not secrets)
    with mock.patch.object(clock, "utcnow", lambda: NOW):
        with app.app_context():
            upgrade()
            model = synthetic.build_clinic(rng)
            have = len(model.room_ids)
            db.session.execute(
                insert(Room),
                [{"name": f"Room {n}", "active": True} for n in range(have + 1, ROOMS + 1)],
            )
            db.session.commit()
            history = synthetic.history(rng, model)
            db.session.remove()
        accounts = make_clients(app, clients, prefix="load")
        reader = make_clients(app, 1, prefix="reader")[0]
        with app.app_context():
            rows = [
                row | {"client_id": reader.user_id}
                for row in itertools.islice(history, READER_BOOKINGS)
            ]
            synthetic.bulk_insert(synthetic.table_of(Booking), rows)
            db.session.commit()
            db.session.remove()
    return Clinic(model, accounts, history, reader)


def grow(app: Flask, clinic: Clinic, target: int) -> tuple[int, float]:
    """History rows until the booking table holds `target`; (rows now, seconds taken)."""
    with app.app_context():
        took = synthetic.grow_bookings(target, clinic.history, progress=False)
        synthetic.refresh_statistics(on_sqlite=False)
        rows = synthetic.booking_count()
        db.session.remove()
        db.engine.dispose()  # gunicorn's workers open their own connections
    return rows, took


def booked_window() -> tuple[datetime, datetime]:
    """The UTC span of the weeks the booking phase books into (history lies outside it)."""
    return (
        synthetic.local_midnight(BOOK_FIRST, synthetic.ZONE),
        synthetic.local_midnight(BOOK_LAST + timedelta(days=1), synthetic.ZONE),
    )


def live_bookings(app: Flask) -> list[Any]:
    """(therapist, start, end) of the live bookings in the booked weeks, by therapist and time."""
    first, last = booked_window()
    with app.app_context():
        rows = db.session.execute(
            select(Booking.therapist_id, Booking.starts_at, Booking.ends_at)
            .where(Booking.status.in_(LIVE), Booking.starts_at >= first, Booking.starts_at < last)
            .order_by(Booking.therapist_id, Booking.starts_at)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return list(rows)


def overlaps(live: Sequence[Any]) -> list[str]:
    """Two live bookings of one therapist at once: what booking must never allow."""
    return [
        f"therapist {after.therapist_id} is booked twice at {after.starts_at}"
        for before, after in itertools.pairwise(live)
        if before.therapist_id == after.therapist_id and after.starts_at < before.ends_at
    ]


def plan_bookings(server: Server, therapists: Sequence[int], wanted: int) -> list[Slot]:
    """`wanted` free times that can all be booked: per therapist, a session and buffer apart."""
    gap = timedelta(minutes=DURATION + 15)  # the clinic policy's buffer
    planned: list[Slot] = []
    for therapist in therapists:
        previous = None
        for slot in free_slots(server, TECHNIQUE, DURATION, BOOK_FIRST, BOOK_LAST, therapist):
            if previous is None or slot.start - previous >= gap:
                planned.append(slot)
                previous = slot.start
    random.Random(SEED).shuffle(planned)  # noqa: S311 (an order, not a secret)
    if len(planned) < wanted:
        sys.exit(f"only {len(planned)} bookable times; ask for fewer --seconds or --concurrency")
    return planned[:wanted]


# --- wrk ----------------------------------------------------------------------------------

# wrk's done() hook prints its figures as one JSON line, so nothing is parsed from its text.
REPORT_LUA = """
function done(summary, latency, requests)
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %f, "status_errors": %d, "socket_errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f, "mean_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
"""


def long_string(text: str) -> str:
    if "]==]" in text:
        raise ValueError("cannot quote this in Lua")
    return f"[==[{text}]==]"


def calls_lua(calls: Sequence[Call], threads: int) -> str:
    """A wrk script that sends each call once, the threads taking turns; a thread stops when
    its share runs out."""
    entries = []
    for call in calls:
        headers = ", ".join(
            f"[ {long_string(k)} ] = {long_string(v)}" for k, v in call.headers.items()
        )
        entries.append(
            f"  {{ {long_string(call.method)}, {long_string(call.path)}, {{ {headers} }}, "
            f"{long_string(call.body.decode())} }},"
        )
    return (
        "local calls = {\n" + "\n".join(entries) + "\n}\n"
        f"local threads = {threads}\n"
        """
local started = 0
function setup(thread)
  thread:set("offset", started)
  started = started + 1
end
-- wrk calls the first thread's request() once before the run, to check the script: that
-- call must not use up a time, so the first thread starts one call "early".
local sent = 0
function init(args)
  if offset == 0 then sent = -1 end
end
function request()
  local i = offset + math.max(sent, 0) * threads + 1
  sent = sent + 1
  local call = calls[i]
  if call == nil then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")  -- never read: the thread stops first
  end
  return wrk.format(call[1], call[2], call[3], call[4])
end
""" + REPORT_LUA
    )


@dataclass(frozen=True)
class Load:
    """What wrk measured in one phase."""

    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    client_cpu: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        return f"{self.per_second:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"


def wrk(
    port: int, path: str, script: str, *, seconds: float, threads: int, connections: int
) -> Load:
    """Run wrk against 127.0.0.1:port for at most `seconds`; its figures and its CPU time."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    program = shutil.which("wrk")
    if program is None:
        raise RuntimeError("wrk is not installed (Debian's wrk package: make bench-deps)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        # Our own arguments only: the port we bound, a path of this file, a script we wrote.
        done = subprocess.run(  # noqa: S603
            [
                program,
                f"--threads={threads}",
                f"--connections={connections}",
                f"--duration={max(1, round(seconds))}s",
                "--timeout=30s",
                f"--script={file.name}",
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(file.name)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    return Load(**json.loads(line[4:]), client_cpu=cpu)


def wait_until_idle(server: Server, workers: int, timeout: float = 180) -> None:
    """Return once every worker is free: wrk stops at its deadline, but the requests the
    workers had already taken are still worked off, and must not count in the next phase."""
    deadline = time.monotonic() + timeout
    quick_rounds = 0
    while quick_rounds < 2:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server was still busy after {timeout} s")
        answers = fire_together(server.port, [Call("GET", "/bench/bare")] * workers)
        quick = all(a.status == 200 and a.seconds < 0.05 for a in answers)
        quick_rounds = quick_rounds + 1 if quick else 0


# --- the run ------------------------------------------------------------------------------


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def server_settings(limiter_storage: str) -> dict[str, str]:
    settings = {
        "LINDRING_ENV": "production",
        "SECRET_KEY": "bench-secret-key-bench-secret-key",
        "BENCH_NOW": NOW.isoformat(),
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_STORAGE_URI": limiter_storage,
        "MAIL_BACKEND": "locmem",
    }
    return settings | dict.fromkeys(RATE_LIMITS, RAISED_LIMIT)


@dataclass(frozen=True)
class SizeResult:
    bookings: int
    bare: Load
    my_bookings: Load
    slots_api: Load
    slots_page: Load
    booking: Load
    problems: list[str]


def measure_size(
    app: Flask, url: str, clinic: Clinic, rows: int, args: argparse.Namespace, log: Path
) -> SizeResult:
    storage = "redis://127.0.0.1:6379/15" if redis_answers() else "memory://"
    wrk_args = {"threads": args.wrk_threads, "connections": args.concurrency}
    before = len(live_bookings(app))
    with gunicorn(
        url,
        log,
        workers=args.workers,
        threads=args.threads,
        app="bench.http:serve()",
        env=server_settings(storage),
    ) as server:
        api = ApiChannel()
        for account in clinic.accounts:
            api.log_in(server, account)
        # Enough times for the whole phase at a rate no run here has come near.
        wanted = args.warmup_bookings + int(args.seconds * args.max_rate)
        planned = plan_bookings(server, clinic.model.therapist_ids, wanted)
        calls = [
            api.prepare(server, clinic.accounts[n % len(clinic.accounts)], slot)
            for n, slot in enumerate(planned)
        ]
        get = REPORT_LUA
        FormChannel().log_in(server, clinic.reader)
        cookie = clinic.reader.credentials["Cookie"]
        as_reader = f'wrk.headers["Cookie"] = {long_string(cookie)}\n' + REPORT_LUA
        shown = server.get(MY_BOOKINGS, clinic.reader.credentials)
        listed = set(re.findall(r'href="/bookings/(\d+)"', shown.text))
        # Warm-up with one connection per worker: templates, pools, caches; no queue behind it.
        warm_args = {"threads": 1, "connections": args.workers}
        phases = {}
        for name, path, script in (
            ("bare", "/bench/bare", get),
            ("my_bookings", MY_BOOKINGS, as_reader),
            ("slots_api", SLOTS_API, get),
            ("slots_page", SLOTS_PAGE, get),
        ):
            wrk(server.port, path, script, seconds=1, **warm_args)
            wait_until_idle(server, args.workers)
            phases[name] = wrk(server.port, path, script, seconds=args.seconds, **wrk_args)
            wait_until_idle(server, args.workers)
        warm = calls[: args.warmup_bookings]
        warmed = wrk(server.port, "/", calls_lua(warm, 1), seconds=5, **warm_args)
        wait_until_idle(server, args.workers)
        phases["booking"] = wrk(
            server.port,
            "/",
            calls_lua(calls[args.warmup_bookings :], args.wrk_threads),
            seconds=args.seconds,
            **wrk_args,
        )
        wait_until_idle(server, args.workers)
        logged = server.log_text()

    problems = []
    if shown.status != 200 or len(listed) != READER_BOOKINGS:
        problems.append(f"{MY_BOOKINGS}: {shown.status}, {len(listed)} bookings listed")
    for name, load in phases.items():
        if load.status_errors or load.socket_errors:
            problems.append(
                f"{name}: {load.status_errors} answers not 2xx/3xx, "
                f"{load.socket_errors} connection errors"
            )
    if phases["booking"].requests >= len(calls) - args.warmup_bookings:
        problems.append("the planned times ran out before the phase's end: raise --max-rate")
    live = live_bookings(app)
    stored = len(live) - before
    asked = len(calls)
    if stored > asked:
        problems.append(f"{stored} bookings stored, but only {asked} asked for")
    answered = sum(load.requests - load.status_errors for load in (warmed, phases["booking"]))
    if stored < answered:
        problems.append(f"{stored} bookings stored, fewer than the {answered} answered 201")
    problems += overlaps(live)
    if "Traceback" in logged:
        problems.append("the server logged errors:\n" + log_summary(logged))
    return SizeResult(rows, **phases, problems=problems)


def rows_of(result: SizeResult, label: str) -> list[Row]:
    """Each phase beside the bare route of the same server: the share of its request rate."""
    bare = result.bare
    rows = [
        Row("GET /bench/bare (the baseline)", label, size(result.bookings), bare.describe(), "", "")
    ]
    for name, load in (
        (f"GET {MY_BOOKINGS}, a client's {READER_BOOKINGS} bookings", result.my_bookings),
        ("GET /api/v1/slots, 14 days x 20 therapists", result.slots_api),
        ("GET /book, the same 14 days as a page", result.slots_page),
        ("POST /api/v1/bookings", result.booking),
    ):
        rows.append(
            Row(
                name,
                label,
                size(result.bookings),
                load.describe(),
                f"{bare.per_second:,.0f} req/s bare",
                f"{load.per_second / bare.per_second:.1%} of bare" if bare.per_second else "-",
            )
        )
    return rows


def run(args: argparse.Namespace, url: str, label: str, folder: Path) -> tuple[list[Row], bool]:
    """Build the clinic, measure each size; the table's rows and whether all was well."""
    started = time.perf_counter()
    app = create_app(bench_config(url))
    clinic = build_clinic(app, args.concurrency)
    worker = "gthread" if args.threads > 1 else "sync"
    print(
        f"HTTP on {label}: gunicorn {args.workers} {worker} workers"
        + (f" x {args.threads} threads" if args.threads > 1 else "")
        + f", wrk {args.wrk_threads} threads x {args.concurrency} connections, "
        f"{os.cpu_count()} CPUs shared; clinic built in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rows: list[Row] = []
    ok = True
    for target in args.sizes:
        have, took = grow(app, clinic, target)
        print(f"  {have:,} bookings ({took:.0f} s to add); measuring ...", flush=True)
        result = measure_size(app, url, clinic, have, args, folder / f"gunicorn-{have}.log")
        for name in ("bare", "my_bookings", "slots_api", "slots_page", "booking"):
            load = getattr(result, name)
            print(f"    {name:<11} {load.describe()}; wrk CPU {load.client_cpu:.1f} s", flush=True)
        for problem in result.problems:
            print(f"  PROBLEM: {problem}", flush=True)
        ok = ok and not result.problems
        rows += rows_of(result, label)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return rows, ok


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[10_000, 1_000_000],
        help="booking-table sizes to measure at, comma-separated (default 10000,1000000)",
    )
    parser.add_argument("--seconds", type=float, default=5, help="length of each phase")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (more than 1: gthread)"
    )
    parser.add_argument("--warmup-bookings", type=int, default=100, help="unmeasured bookings")
    parser.add_argument(
        "--max-rate", type=int, default=800, help="bookings/s planned for (times to prepare)"
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: make bench-deps (Debian's wrk package)")
    if not 1 <= args.concurrency <= 200:
        parser.error("--concurrency is bounded at 200: this is a benchmark, not a load test")
    if not 0 < args.seconds <= 60:
        parser.error("--seconds is bounded at 60")
    for name in ("workers", "threads", "wrk_threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    return args


def measure(args: argparse.Namespace, server: str | None) -> tuple[list[Row], bool]:
    """The whole benchmark on a fresh database (SQLite, or one on `server`)."""
    with fresh_database(server) as (url, label), tempfile.TemporaryDirectory() as folder:
        return run(args, url, label, Path(folder))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    rows, ok = measure(args, postgres_server())
    print()
    print(render(rows))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
