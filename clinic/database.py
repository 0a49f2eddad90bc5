"""How Lindring talks to its databases: SQLite's settings and transactions, and retries.

SQLite's Python driver opens transactions on its own and lazily, which breaks SAVEPOINT and
lets two writers read the same state before either writes. SQLAlchemy's documented recipe
takes that over: the driver is put in autocommit mode and we emit BEGIN ourselves, as
BEGIN IMMEDIATE for every transaction of a request that may change state (any method but GET,
HEAD and OPTIONS, and the GET views marked `writes_on_get`) and wherever code outside such a
request declares it will write (`begin_write`), so concurrent writers queue for the lock
instead of failing halfway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from clinic.extensions import db

WRITE_OPTION = "lindring_write"
WRITES_ON_GET = "lindring_writes_on_get"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
V = TypeVar("V", bound=Callable[..., Any])


def _is_sqlite(dbapi_connection: Any) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_settings(dbapi_connection: Any, connection_record: Any) -> None:
    if not _is_sqlite(dbapi_connection):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_begin
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers work beside one writer.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    # Every transaction of a request that may change state is a writer's, not only its first:
    # one a view opens after a commit, by reading, could otherwise never write once another
    # connection had committed in between (SQLite refuses at once, without the busy timeout).
    if conn.get_execution_options().get(WRITE_OPTION) or _in_changing_request():
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _in_changing_request() -> bool:
    if not has_request_context():
        return False
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, WRITES_ON_GET, False)


def writes_on_get(view: V) -> V:
    """Mark a view that writes on a GET (the audit entry of a look at health data): on SQLite
    its transactions are writers' from the start, as a POST's are, so under load it waits for
    the lock rather than failing when it writes after others have."""
    setattr(view, WRITES_ON_GET, True)
    return view


def begin_write() -> None:
    """Open this session's transaction as a writer (on SQLite: BEGIN IMMEDIATE).

    Call it first thing in an operation that checks and then writes, before any read.
    """
    if not db.session().in_transaction():
        db.session.connection(execution_options={WRITE_OPTION: True})
