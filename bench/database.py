"""The throwaway database every benchmark runs on, and the app settings for it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import FAST_HASH
from tests.support import fresh_postgres_database


def postgres_server() -> str | None:
    """The PostgreSQL server the benchmarks make their databases on, if one is named."""
    return os.environ.get("BENCH_DATABASE_URL") or None


@contextmanager
def fresh_database(server: str | None) -> Iterator[tuple[str, str]]:
    """Yield (url, label) of an empty database that is thrown away afterwards.

    SQLite in a temporary folder, or, given a server's URL, a new database on that PostgreSQL
    server.
    """
    if server:
        with fresh_postgres_database(server, f"lindring_bench_{os.getpid()}") as url:
            yield url, "PostgreSQL"
        return
    with tempfile.TemporaryDirectory(prefix="lindring-bench-") as folder:
        yield f"sqlite:///{folder}/bench.db", "SQLite"


def bench_config(url: str) -> dict[str, Any]:
    """The test settings of tests/conftest.py, minus what only the test suite needs."""
    return {
        "LINDRING_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "bench-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "MAIL_BACKEND": "locmem",
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "SERVER_NAME": None,
    }
