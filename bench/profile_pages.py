"""Profile the slots API and the free-times page in process, on the HTTP benchmark's clinic.

    .venv/bin/python -m bench.profile_pages [--bookings 10000] [--repeats 20] [--top 25]

Prints each page's median time and a cProfile of it; on SQLite in a temporary folder. Each
page is asked for again and again, as under load: the slot engine's memo answers after the first.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from collections.abc import Sequence
from unittest import mock

from bench import http
from bench.database import bench_config, fresh_database
from clinic import clock, create_app


def main(argv: Sequence[str] | None = None) -> None:
    """Build the clinic, then time and profile each page with the test client."""
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
                answer = web.get(path)
                assert answer.status_code == 200, answer.status_code
                took = []
                for _ in range(args.repeats):
                    started = time.perf_counter()
                    web.get(path).close()
                    took.append((time.perf_counter() - started) * 1000)
                print(
                    f"\n{path[:60]}: median {statistics.median(took):.1f} ms, "
                    f"{len(answer.data):,} bytes"
                )
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(5):
                    web.get(path).close()
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out).strip_dirs()
                stats.sort_stats(args.sort).print_stats(args.top)
                print(out.getvalue())


if __name__ == "__main__":
    main()
