"""How Lindring talks to its databases: SQLite's settings and transactions, and retries.

SQLite's Python driver opens transactions on its own and lazily, which breaks SAVEPOINT and
lets two writers read the same state before either writes. SQLAlchemy's documented recipe
takes that over: the driver is put in autocommit mode and we emit BEGIN ourselves, as
BEGIN IMMEDIATE for every transaction of a request that may change state (any method but GET,
HEAD and OPTIONS) and wherever code outside such a request declares it will write
(`begin_write`), so concurrent writers queue for the lock instead of failing halfway.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from clinic.extensions import db

WRITE_OPTION = "lindring_write"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


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
    return has_request_context() and request.method not in SAFE_METHODS


def begin_write() -> None:
    """Open this session's transaction as a writer (on SQLite: BEGIN IMMEDIATE).

    Call it first thing in an operation that checks and then writes, before any read.
    """
    if not db.session().in_transaction():
        db.session.connection(execution_options={WRITE_OPTION: True})
