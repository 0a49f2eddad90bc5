"""`make bench`: every benchmark on SQLite and on PostgreSQL, then one table of all figures.

Each figure stands beside a baseline measured in the same run (the bare route of the same
gunicorn server, the same search on a smaller table) and their ratio; no time is asserted.
The run fails when a benchmark found something wrong (a wrong answer, a double booking, an
error in the server's log), after the table is printed.

    make bench                                   # SQLite and postgresql://root@127.0.0.1/test
    make bench BENCH_ARGS="--quick"              # 10k bookings only, shorter phases
    .venv/bin/python -m bench --databases sqlite
    BENCH_DATABASE_URL=postgresql://user@host/db .venv/bin/python -m bench
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from bench import http, slots
from bench.database import postgres_server
from bench.table import Row, render

DEFAULT_POSTGRES = "postgresql://root@127.0.0.1/test"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (BENCH_DATABASE_URL, else the local server)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="10k bookings only and 3-second phases"
    )
    args = parser.parse_args(argv)
    args.databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = set(args.databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database: {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    slot_args = ["--bookings", "100000"] if args.quick else []
    http_args = ["--sizes", "10000", "--seconds", "3"] if args.quick else []
    rows: list[Row] = []
    ok = True
    for database in args.databases:
        server = (postgres_server() or DEFAULT_POSTGRES) if database == "postgresql" else None
        print(f"\n=== {database} ===", flush=True)
        rows += slots.measure(slots.parse_args(slot_args), server)
        found, fine = http.measure(http.parse_args(http_args), server)
        rows += found
        ok = ok and fine
    print(f"\nAll benchmarks ({time.perf_counter() - started:.0f} s):\n")
    print(render(rows))
    if not ok:
        print("\nA benchmark found a PROBLEM (above); the figures stand, the run fails.")
        sys.exit(1)


if __name__ == "__main__":
    main()
