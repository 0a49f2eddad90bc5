"""Profile the slots API, the free-times page and the booking POST in process, on the HTTP
benchmark's clinic.

    .venv/bin/python -m bench.profile_pages [--bookings 10000] [--repeats 20] [--top 25]

Prints each request's median time and a cProfile of it; on SQLite in a temporary folder. The
pages are asked for again and again, as under load: the slot engine's memo answers after the
first. Each booking takes another free time (bench/http.py plans them), with e-mail in memory.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from unittest import mock

from flask.testing import FlaskClient

from bench import http
from bench.database import bench_config, fresh_database
from clinic import clock, create_app
from tests.concurrency_support import Slot


def profiled(label: str, send: Callable[[], int], args: argparse.Namespace) -> None:
    """Time `send` (which returns the answer's size) `repeats` times, then profile 5 more."""
    took, size = [], 0
    for _ in range(args.repeats):
        started = time.perf_counter()
        size = send()
        took.append((time.perf_counter() - started) * 1000)
    print(f"\n{label}: median {statistics.median(took):.1f} ms, {size:,} bytes")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        send()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


def free_times(web: FlaskClient, wanted: int) -> list[Slot]:
    """`wanted` times in the booking weeks, each a different start, so that all can be booked."""
    answer = web.get(
        "/api/v1/slots",
        query_string={
            "technique": http.TECHNIQUE,
            "duration": http.DURATION,
            "from": http.BOOK_FIRST.isoformat(),
            "to": http.BOOK_LAST.isoformat(),
        },
    )
    assert answer.status_code == 200, answer.get_json()
    found, starts = [], set()
    for item in answer.get_json()["slots"]:
        if item["start"] not in starts:
            starts.add(item["start"])
            found.append(Slot(http.TECHNIQUE, http.DURATION, item["therapist_id"], item["start"]))
    # A session and its buffer apart, for the one client who books them all.
    spaced, last = [], None
    for slot in found:
        if last is None or slot.start - last >= timedelta(minutes=http.DURATION + 15):
            spaced.append(slot)
            last = slot.start
    assert len(spaced) >= wanted, f"only {len(spaced)} bookable times"
    return spaced[:wanted]


def main(argv: Sequence[str] | None = None) -> None:
    """Build the clinic, then time and profile each request with the test client."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", help="a pstats sort key: tottime, ...")
    args = parser.parse_args(argv)
    with fresh_database(None) as (url, _label):
        app = create_app(bench_config(url))
        clinic = http.build_clinic(app, 1)
        http.grow(app, clinic, args.bookings)
        with mock.patch.object(clock, "utcnow", lambda: http.NOW):
            web = app.test_client()
            for path in (http.SLOTS_API, http.SLOTS_PAGE):
                assert web.get(path).status_code == 200

                def get(path: str = path) -> int:
                    with web.get(path) as answer:
                        return len(answer.data)

                profiled(path[:60], get, args)

            account = clinic.accounts[0]
            login = {"email": account.email, "password": account.password}
            token = web.post("/api/v1/tokens", json=login).get_json()["token"]
            times = iter(free_times(web, args.repeats + 5))

            def book() -> int:
                slot = next(times)
                payload = {
                    "technique": slot.technique,
                    "duration": slot.duration,
                    "therapist_id": slot.therapist_id,
                    "start": slot.start_text,
                }
                headers = {"Authorization": f"Bearer {token}"}
                with web.post("/api/v1/bookings", json=payload, headers=headers) as answer:
                    assert answer.status_code == 201, answer.get_json()
                    return len(answer.data)

            profiled("POST /api/v1/bookings", book, args)


if __name__ == "__main__":
    main()
