"""Helpers the tests share: posting forms with their CSRF token, logging in, reading mail, and
the demo clinic on a pinned Monday with its clients and bookings.

The fixtures that build that clinic are in tests/integration/conftest.py.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import vobject
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking.models import Booking, TimeClaim
from clinic.config import normalise_database_url
from clinic.extensions import db
from clinic.screening.operations import submit_screening
from clinic.screening.rules import questions

TEST_PASSWORD = "correct horse battery staple"
DEMO_PASSWORD = "demo-password"  # the published demo accounts

CPH = ZoneInfo("Europe/Copenhagen")
MONDAY = date(2027, 3, 22)
# Monday 22 March 2027, 07:00 in Copenhagen (CET, UTC+1).
NOW = datetime(2027, 3, 22, 6, 0, tzinfo=UTC)


@dataclass
class Mailbox:
    """What the real SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    accept: bool = True

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def body(message: Message) -> str:
        """The plain-text part (every mail also has an HTML part: see `html`)."""
        return Mailbox.part(message, "text/plain")

    @staticmethod
    def html(message: Message) -> str:
        return Mailbox.part(message, "text/html")

    @staticmethod
    def part(message: Message, content_type: str) -> str:
        """The decoded text of the first part of this type that is not an attachment."""
        for part in message.walk():
            if part.get_content_type() == content_type and not part.get_filename():
                payload = part.get_payload(decode=True)
                return payload.decode(part.get_content_charset() or "utf-8")
        raise AssertionError(f"no {content_type} part in {message['Subject']!r}")


_CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_token_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def post_form(
    client: FlaskClient, url: str, data: dict[str, Any], *, page: str | None = None, **kwargs: Any
) -> Any:
    """POST a form the way a browser does: load the page first and send its CSRF token."""
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token_from(html)}, **kwargs)


def login(client: FlaskClient, email: str, password: str = TEST_PASSWORD) -> Any:
    response = post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


class ClosingClient(FlaskClient):
    """A test client that closes each answer as soon as it is read, as a server does once it
    has sent it; what the app does on closing (sending queued e-mail) is then done by the time
    the test looks. Pass buffered=False to hold an answer open."""

    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> Any:
        return super().open(*args, buffered=buffered, **kwargs)


@contextmanager
def count_queries(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block, as a list filled in as it runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        # Transaction control (SQLite's BEGIN, savepoints) is not a query.
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def fresh_postgres_database(server_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database on the server of `server_url`, yield its URL, then drop it."""
    base = make_url(normalise_database_url(server_url))
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the demo clinic on MONDAY ------------------------------------------------------------


def local(day: date, hhmm: str) -> datetime:
    """`hhmm` on `day` in Copenhagen, as an aware UTC datetime."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=CPH).astimezone(UTC)


def answers(yes: tuple[str, ...] = (), other: str = "") -> dict[str, object]:
    """Screening answers: yes to the questions in `yes`, no to the others, `other` as free text."""
    return {
        q.id: (q.id in yes) if q.kind == "yes_no" else (other if q.id == "other_conditions" else "")
        for q in questions()
    }


def screen(
    app: Flask, user_id: int, yes: tuple[str, ...] = (), other: str = "", now: datetime = NOW
) -> None:
    """Store a consented screening for the user, answered as `answers(yes, other)`."""
    with app.app_context():
        me = db.session.get(User, user_id)
        submit_screening(me, answers(yes, other), consent=True, now=now)
        db.session.commit()


@dataclass
class Clinic:
    """The demo clinic seeded for MONDAY, with its clock pinned (the `clinic` fixture)."""

    app: Flask
    ids: dict[str, int]  # therapist first name or technique slug -> id
    set_clock: Callable[[datetime], None]
    now: Callable[[], datetime]

    def web(self) -> FlaskClient:
        """A browser of its own (its own cookies)."""
        return self.app.test_client()

    def staff(self, name: str) -> FlaskClient:
        """A demo therapist or the admin, logged in."""
        web = self.web()
        login(web, f"{name}@lindring.example", DEMO_PASSWORD)
        return web


@dataclass
class Person:
    """A client and their own logged-in browser (the `make_client` fixture)."""

    user: User
    web: FlaskClient

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email


# --- reading the database ------------------------------------------------------------------


def load(clinic: Clinic, booking_id: int) -> Booking:
    """The booking, detached."""
    with clinic.app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking is not None
        db.session.expunge(booking)
        return booking


def claims_of(clinic: Clinic, booking_id: int) -> list[tuple[str, int, datetime]]:
    """The booking's time claims as (kind, resource, block start), in that order."""
    with clinic.app.app_context():
        rows = db.session.execute(
            select(TimeClaim.kind, TimeClaim.resource_id, TimeClaim.block_start)
            .where(TimeClaim.booking_id == booking_id)
            .order_by(TimeClaim.kind, TimeClaim.block_start)
        )
        return [tuple(r) for r in rows]


def audit_actions(clinic: Clinic, booking_id: int) -> list[tuple[str, int | None]]:
    """The booking's audit trail as (action, actor), oldest first."""
    with clinic.app.app_context():
        rows = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id)
            .where(AuditEntry.subject_type == "booking", AuditEntry.subject_id == booking_id)
            .order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


def user_id(clinic: Clinic, email: str) -> int:
    with clinic.app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def invitation(message: Message) -> tuple[str, icalendar.Calendar, Any]:
    """The method in the attachment's content type, and the file read by both parsers."""
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_content_disposition() == "attachment"
    assert part.get_filename().endswith(".ics")
    text = part.get_payload(decode=True).decode(part.get_content_charset())
    return part.get_param("method"), icalendar.Calendar.from_ical(text), vobject.readOne(text)
