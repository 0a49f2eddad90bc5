"""Helpers the tests share: posting forms with their CSRF token, logging in, reading mail."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from flask.testing import FlaskClient

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
