"""Faults: the database out of reach, and a crash in the middle of a booking or a series.

Out of reach: pages answer a friendly 503 and the API a JSON 503, both with Retry-After and
without a trace of SQL or a traceback; once the database is back, the next request works with
no restart. A crash halfway through a booking leaves no booking, time claim, audit entry,
outbox message or idempotency key behind.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, make_url, select, text

from clinic import create_app
from clinic.audit.models import AuditEntry
from clinic.booking import notices
from clinic.booking.models import Booking, IdempotencyKey, TimeClaim
from clinic.database import writes_on_get
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from tests.conftest import base_config
from tests.integration.test_booking import book, params
from tests.integration.test_series import AT_TEN, send, series_url
from tests.support import Clinic, Person, csrf_token_from

# What must never reach a visitor: the SQL, the driver's words, Python's.
LEAKS = ("SELECT", "Traceback", "OperationalError", "psycopg", "sqlite", "connection")


def _closed_port() -> int:
    # Bound and closed again: nothing listens there for the next moment.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable() -> Flask:
    """An app whose PostgreSQL server is at a port nobody listens on."""
    url = f"postgresql+psycopg://lindring@127.0.0.1:{_closed_port()}/lindring"
    return create_app(base_config(url))


@pytest.mark.parametrize("path", ["/", "/techniques", "/therapists", "/login"])
def test_pages_answer_a_friendly_503_while_the_database_is_unreachable(unreachable, path):
    web = unreachable.test_client()
    if path == "/login":
        # The form needs no database; sending it opens a writing transaction first thing.
        token = csrf_token_from(web.get(path).get_data(as_text=True))
        response = web.post(
            path, data={"email": "ida@example.com", "password": "x", "csrf_token": token}
        )
    else:
        response = web.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert "be back shortly" in page and "Nothing you sent was saved" in page
    for leak in LEAKS:
        assert leak not in page, leak
    assert response.headers.get("Cache-Control") == ("no-store" if path == "/login" else None)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/techniques"), ("POST", "/api/v1/tokens"), ("GET", "/api/v1/bookings")],
)
def test_the_api_answers_json_503_while_the_database_is_unreachable(unreachable, method, path):
    response = unreachable.test_client().open(
        path, method=method, json={"email": "ida@example.com", "password": "x"}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    body = response.get_json()
    assert body["error"] == "unavailable"
    assert "try again" in body["message"]
    for leak in LEAKS:
        assert leak not in response.get_data(as_text=True), leak


def test_healthz_says_unavailable_with_503(unreachable):
    response = unreachable.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unavailable"}
    assert response.headers["Retry-After"] == "30"


# --- recovery -------------------------------------------------------------------------------


def _copy_sqlite(source_url: str, target: Path) -> None:
    source = sqlite3.connect(make_url(source_url).database)
    copy = sqlite3.connect(target)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()


def test_after_the_database_comes_back_the_next_request_works_by_itself(
    database_url: str, app: Flask, tmp_path: Path
):
    if make_url(database_url).get_backend_name() == "postgresql":
        _recover_postgresql(database_url, app)
        return
    # SQLite: the app's database file is missing (a lost mount), then restored.
    folder = tmp_path / "mount"
    url = f"sqlite:///{folder / 'lindring.db'}"
    restored = create_app(base_config(url))
    web = restored.test_client()
    assert web.get("/techniques").status_code == 503
    assert web.get("/healthz").status_code == 503

    folder.mkdir()
    _copy_sqlite(database_url, folder / "lindring.db")

    assert web.get("/techniques").status_code == 200
    assert web.get("/healthz").get_json()["status"] == "ok"
    with restored.app_context():
        db.engine.dispose()


def test_a_locked_sqlite_database_answers_503_then_works_once_unlocked(
    database_url: str, app: Flask, tmp_path: Path
):
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("SQLite's file lock; PostgreSQL queues writers on row locks instead")
    path = tmp_path / "lindring.db"
    _copy_sqlite(database_url, path)
    locked = create_app(base_config(f"sqlite:///{path}"))
    web = locked.test_client()
    token = csrf_token_from(web.get("/login").get_data(as_text=True))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        # After the busy timeout (10 s, clinic.database) the writer gives up: 503, not 500.
        response = web.post(
            "/login", data={"email": "ida@example.com", "password": "x", "csrf_token": token}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "be back shortly" in response.get_data(as_text=True)
    assert web.get("/techniques").status_code == 200
    with locked.app_context():
        db.engine.dispose()


def other_writer(database_url: str) -> str:
    """What a second connection gets when it asks for SQLite's write lock, without waiting."""
    other = sqlite3.connect(make_url(database_url).database, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return "got the lock"
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        other.close()


def test_every_transaction_of_a_post_holds_sqlites_write_lock_from_its_start(
    database_url: str, app: Flask
):
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("SQLite's file lock; PostgreSQL lets a transaction write after it has read")
    seen: dict[str, str] = {}

    @app.post("/test/two-transactions")
    def two_transactions() -> str:
        db.session.scalar(select(func.count()).select_from(OutboxMessage))  # the first, by a read
        seen["first"] = other_writer(database_url)
        db.session.commit()
        db.session.scalar(select(func.count()).select_from(OutboxMessage))  # a read opens another
        seen["second"] = other_writer(database_url)
        db.session.rollback()
        return "ok"

    app.config["WTF_CSRF_ENABLED"] = False
    assert app.test_client().post("/test/two-transactions").status_code == 200
    # Each transaction held the lock from its first read: no other writer commits under it.
    assert seen == {"first": "database is locked", "second": "database is locked"}


def test_a_get_marked_as_writing_holds_sqlites_write_lock_and_a_plain_get_does_not(
    database_url: str, app: Flask
):
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("SQLite's file lock; PostgreSQL lets a transaction write after it has read")
    seen: dict[str, str] = {}

    def look(name: str) -> str:
        db.session.scalar(select(func.count()).select_from(AuditEntry))  # a read opens it
        seen[name] = other_writer(database_url)
        db.session.rollback()
        return "ok"

    app.add_url_rule("/test/plain-read", "plain_read", lambda: look("plain"))
    app.add_url_rule("/test/audited-read", "audited_read", writes_on_get(lambda: look("marked")))
    web = app.test_client()
    assert web.get("/test/plain-read").status_code == 200
    assert web.get("/test/audited-read").status_code == 200
    # Readers share the database with a writer (WAL); a view that will write takes the lock
    # first, so it waits for other writers rather than failing after them.
    assert seen == {"plain": "got the lock", "marked": "database is locked"}


def _recover_postgresql(database_url: str, app: Flask) -> None:
    # The app's pooled connections are killed and new ones refused, as when the server
    # restarts; then connections are allowed again.
    name = make_url(database_url).database
    admin = create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    web = app.test_client()
    assert web.get("/techniques").status_code == 200  # a connection now sits in the pool
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        assert web.get("/techniques").status_code == 503
        assert web.get("/healthz").status_code == 503
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    # The pool's pre-ping finds the dead connection and opens a new one.
    assert web.get("/techniques").status_code == 200
    assert web.get("/healthz").get_json()["status"] == "ok"


# --- nothing half-written -------------------------------------------------------------------

TABLES = (Booking, TimeClaim, AuditEntry, OutboxMessage, IdempotencyKey)


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {t.__name__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def _crash_at_announcement(
    monkeypatch: pytest.MonkeyPatch, app: Flask, after_calls: int
) -> list[dict[str, int]]:
    """Make the `after_calls`-th announcement of a booking crash once its audit entry and
    e-mails are written (flushed) into the transaction. Returns what the transaction held."""
    real = notices.announce
    calls: list[int] = []
    seen: list[dict[str, int]] = []

    def announce(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        calls.append(1)
        if len(calls) == after_calls:
            db.session.flush()
            seen.append(
                {t.__name__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES}
            )
            raise RuntimeError("the server fell over halfway")

    monkeypatch.setattr(notices, "announce", announce)
    return seen


def _assert_nothing_stored(
    app: Flask, before: dict[str, int], seen: list[dict[str, int]], response: Any
) -> None:
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    # The crash came after every kind of row was in the transaction...
    assert seen, "the crash never happened"
    assert all(seen[0][name] > before[name] for name in before), (before, seen[0])
    # ...and none of them was kept.
    assert _counts(app) == before


def test_a_crash_in_the_middle_of_a_booking_leaves_nothing_half_written(
    clinic: Clinic, ida: Person, monkeypatch: pytest.MonkeyPatch
):
    before = _counts(clinic.app)
    real = notices.announce
    seen = _crash_at_announcement(monkeypatch, clinic.app, after_calls=1)
    response = book(ida.web, params(clinic))
    _assert_nothing_stored(clinic.app, before, seen, response)
    # And the same booking goes through once nothing crashes any more (the time was not kept).
    monkeypatch.setattr(notices, "announce", real)
    assert book(ida.web, params(clinic)).status_code == 302
    assert _counts(clinic.app)["Booking"] == before["Booking"] + 1


def test_a_crash_in_the_middle_of_a_series_leaves_nothing_half_written(
    clinic: Clinic, make_client: Callable[..., Person], monkeypatch: pytest.MonkeyPatch
):
    web = make_client("series@example.com").web
    place = SimpleNamespace(anna=clinic.ids["anna"])
    url = series_url(place)
    page = web.get(url).get_data(as_text=True)
    before = _counts(clinic.app)
    # The second of four announcements: all four bookings and their claims are flushed.
    seen = _crash_at_announcement(monkeypatch, clinic.app, after_calls=2)
    response = send(web, url, AT_TEN, page)
    _assert_nothing_stored(clinic.app, before, seen, response)
    assert seen[0]["Booking"] == before["Booking"] + 4
