"""Fixtures: a migrated database per run, an app and client per test, a real SMTP server.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set; on
PostgreSQL a fresh database is created for the run and dropped after it. Each test starts with
empty tables.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from clinic import create_app
from clinic.auth.models import Role, User
from clinic.clock import local_today, utcnow
from clinic.extensions import db
from tests.support import TEST_PASSWORD, ClosingClient, Mailbox, fresh_postgres_database

# Every app the tests make, here or in a test, closes its answers as a server would.
Flask.test_client_class = ClosingClient

# Fast hashing for the many accounts tests make; one test checks the production default.
FAST_HASH = "pbkdf2:sha256:1000"


def today():
    """Today on the clinic's calendar."""
    return local_today("Europe/Copenhagen")


# --- the database -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head, for this test run only."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        path = tmp_path_factory.mktemp("db") / "lindring-test.db"
        url = f"sqlite:///{path}"
        migrate_to_head(url)
        yield url
        return

    with fresh_postgres_database(server_url, f"lindring_test_{os.getpid()}") as url:
        migrate_to_head(url)
        yield url


def migrate_to_head(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def base_config(url: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "LINDRING_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "MAIL_BACKEND": "locmem",
        "MAIL_DEFAULT_SENDER": "Lindring <noreply@lindring.test>",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


def empty_all_tables() -> None:
    tables = [t for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        # DELETE, children first, then the id sequences restarted, in one round trip: on these
        # few rows it takes about 20 ms, where TRUNCATE of every table took 160-470 ms.
        sequences = db.session.scalars(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).all()
        # Table names come from our own metadata, never from input.
        statements = [f'DELETE FROM "{t.name}"' for t in reversed(tables)]  # noqa: S608
        statements += [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
        db.session.connection().exec_driver_sql("; ".join(statements))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
    db.session.commit()


# --- e-mail ---------------------------------------------------------------------------------


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.mailbox.accept:
            return "451 Requested action aborted: try again later"
        self.mailbox.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(_Handler(mailbox), hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Controller, Mailbox]) -> Mailbox:
    _, box = smtp_server
    box.messages.clear()
    box.accept = True
    return box


# --- the app --------------------------------------------------------------------------------


@pytest.fixture
def app_config(smtp_server: tuple[Controller, Mailbox]) -> dict[str, Any]:
    """Settings for this test's app; a test may change them before asking for `app`."""
    controller, _ = smtp_server
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": controller.hostname,
        "MAIL_PORT": controller.port,
    }


@pytest.fixture
def app(database_url: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(base_config(database_url, **app_config))
    yield app
    with app.app_context():
        db.session.remove()
        empty_all_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Any]:
    """An app context for tests that read or write the database directly."""
    with app.app_context():
        yield db.session


# --- factories ------------------------------------------------------------------------------


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Create and commit a user; returns it detached with its id loaded."""
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.CLIENT, **overrides: Any) -> User:
        from clinic.auth.operations import create_user

        n = next(counter)
        values = {
            "email": f"{role.value}{n}@example.com",
            "name": f"{role.value.title()} {n}",
            "password": TEST_PASSWORD,
            "phone": "+45 12 34 56 78",
            "role": role,
        }
        values.update(overrides)
        with app.app_context():
            user = create_user(**values)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return make


@pytest.fixture
def make_therapist(app: Flask, make_user: Callable[..., User]) -> Callable[..., Any]:
    """Create a therapist (user and profile), optionally certified for technique slugs."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from clinic.catalog.models import Certification, Technique, Therapist

    def make(*slugs: str, valid_until: date | None = None, **user_overrides: Any) -> Therapist:
        user = make_user(Role.THERAPIST, **user_overrides)
        with app.app_context():
            therapist = Therapist(user_id=user.id, bio=f"Bio of {user.name}.")
            for slug in slugs:
                technique = db.session.scalar(select(Technique).where(Technique.slug == slug))
                therapist.certifications.append(
                    Certification(
                        technique=technique,
                        body="Test Board",
                        number=f"T-{user.id}-{slug}",
                        valid_from=date(2020, 1, 1),
                        valid_until=valid_until or today() + timedelta(days=365),
                    )
                )
            db.session.add(therapist)
            db.session.commit()
            db.session.refresh(therapist)
            db.session.expunge(therapist)
        return therapist

    return make


@pytest.fixture
def demo(app: Flask) -> None:
    """The demo clinic of DESIGN.md, seeded for today."""

    from clinic.demo import seed_demo

    with app.app_context():
        seed_demo(today(), utcnow())
        db.session.commit()
