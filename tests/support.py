"""Helpers the tests share: posting forms with their CSRF token, logging in, reading mail."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clinic.config import normalise_database_url

TEST_PASSWORD = "correct horse battery staple"


@dataclass
class Mailbox:
    """What the real SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    accept: bool = True

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def body(message: Message) -> str:
        payload = message.get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(payload)


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
