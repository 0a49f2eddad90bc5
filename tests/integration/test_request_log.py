"""The request log: one line per request with an id, and nothing private in any log line.

A whole journey (register, log out and in, answer the screening with a distinctive free text,
book, change the password, create an API token and use it) runs with every log record
captured at DEBUG; then the records are searched for what must never be in them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from flask import Flask, request, request_started
from flask.testing import FlaskClient
from sqlalchemy import select

from clinic.extensions import db
from clinic.screening.models import Screening
from clinic.screening.rules import questions
from tests.integration.test_booking import book, booked_id, params
from tests.support import TEST_PASSWORD, Clinic, csrf_token_from, post_form

FIRST_PASSWORD = "correct horse battery staple 91"
NEW_PASSWORD = "a new password by the fjord 17"
EMAIL = "journey@example.com"
FREE_TEXT = "Zanzibar-kneecap-ache-7731"  # the screening's free-text answer


@pytest.fixture
def requests_seen(app: Flask) -> Iterator[list[str]]:
    """The path of every request the app handled, counted by Flask itself."""
    seen: list[str] = []

    def count(sender: Flask, **extra: object) -> None:
        seen.append(request.path)

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    lines = []
    for record in caplog.records:
        if record.name == "clinic.requests":
            message = record.getMessage()
            assert message.startswith("request {"), message
            lines.append(json.loads(message.removeprefix("request ")))
    return lines


def _journey(clinic: Clinic, web: FlaskClient) -> dict[str, list[str]]:
    """Walk the journey; returns the secrets it handled, by kind."""
    secrets: dict[str, list[str]] = {"csrf": [], "api token": [], "session": []}

    def remember_csrf(html: str) -> str:
        token = csrf_token_from(html)
        secrets["csrf"].append(token)
        return token

    account = {"name": "Journey Person", "email": EMAIL, "phone": "+45 11 22 33 44"}
    page = web.get("/register").get_data(as_text=True)
    registered = web.post(
        "/register",
        data={
            **account,
            "password": FIRST_PASSWORD,
            "confirm": FIRST_PASSWORD,
            "csrf_token": remember_csrf(page),
        },
    )
    assert registered.status_code == 302
    secrets["session"].append(web.get_cookie("session").value)

    page = web.get("/logout").get_data(as_text=True)
    assert web.post("/logout", data={"csrf_token": remember_csrf(page)}).status_code == 302
    page = web.get("/login").get_data(as_text=True)
    logged_in = web.post(
        "/login",
        data={"email": EMAIL, "password": FIRST_PASSWORD, "csrf_token": remember_csrf(page)},
    )
    assert logged_in.status_code == 302
    secrets["session"].append(web.get_cookie("session").value)

    page = web.get("/screening/new").get_data(as_text=True)
    form = {q.id: "no" for q in questions() if q.kind == "yes_no"}
    form |= {"other_conditions": FREE_TEXT, "consent": "y", "csrf_token": remember_csrf(page)}
    screened = web.post("/screening/new", data=form)
    assert screened.status_code == 302, screened.get_data(as_text=True)
    with clinic.app.app_context():
        stored = db.session.scalars(select(Screening.answers)).all()
    assert FREE_TEXT in [a.get("other_conditions") for a in stored]  # it reached the app

    booking_id = booked_id(book(web, params(clinic)))
    assert web.get(f"/bookings/{booking_id}").status_code == 200

    changed = post_form(
        web,
        "/account/password",
        {"current_password": FIRST_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    secrets["session"].append(web.get_cookie("session").value)

    issued = web.post("/api/v1/tokens", json={"email": EMAIL, "password": NEW_PASSWORD})
    assert issued.status_code == 201
    token = issued.get_json()["token"]
    secrets["api token"].append(token)
    api = clinic.app.test_client()
    listed = api.get("/api/v1/bookings", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert [b["id"] for b in listed.get_json()] == [booking_id]
    return secrets


def test_a_whole_journey_logs_one_line_per_request_and_nothing_private(
    clinic: Clinic, caplog: pytest.LogCaptureFixture, requests_seen: list[str]
):
    caplog.set_level(logging.DEBUG)  # the root: every logger that does not set its own level
    secrets = _journey(clinic, clinic.web())

    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert text.strip(), "nothing was logged at all"
    forbidden = {
        "first password": FIRST_PASSWORD,
        "new password": NEW_PASSWORD,
        "free-text answer": FREE_TEXT,
        **{
            f"{kind} {i}": value
            for kind, values in secrets.items()
            for i, value in enumerate(values)
        },
    }
    for what, value in forbidden.items():
        assert value not in text, f"the {what} is in the log"
    # No screening answer: no question id (answers are keyed by them), with or without a value.
    for question in questions():
        assert question.id not in text, question.id

    lines = _request_lines(caplog)
    assert len(lines) == len(requests_seen)  # exactly one line per request
    assert [line["path"] for line in lines] == requests_seen
    ids = [line["request_id"] for line in lines]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)
    assert len(set(ids)) == len(ids)
    assert all(isinstance(line["ms"], float) and line["ms"] >= 0 for line in lines)
    assert all(isinstance(line["status"], int) for line in lines)
    # Logged-in requests name the user by id, never by e-mail.
    users = {line["user"] for line in lines} - {None}
    assert len(users) == 1 and isinstance(users.pop(), int)
    assert EMAIL not in "\n".join(json.dumps(line) for line in lines)


def test_an_api_call_names_its_user_by_id(clinic: Clinic, ida, caplog):
    caplog.set_level(logging.INFO, logger="clinic.requests")
    api = clinic.web()
    issued = api.post("/api/v1/tokens", json={"email": ida.email, "password": TEST_PASSWORD})
    token = issued.get_json()["token"]
    caplog.clear()
    # The call commits (the token is revoked), which must not hide who made it.
    revoked = api.delete("/api/v1/tokens/current", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code in (200, 204)
    (line,) = _request_lines(caplog)
    assert (line["method"], line["user"], line["status"]) == ("DELETE", ida.id, revoked.status_code)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("3f2b9c7e-1d2a-4c5b-9e8f-0a1b2c3d4e5f", True),  # a proxy's UUID
        ("trace.abc:123-XYZ", True),
        ("short", False),  # too short to tell requests apart
        ("a" * 65, False),  # too long
        ("evil request {fake}", False),  # spaces and braces could forge a log line
        ("<script>x</script>", False),
    ],
)
def test_a_sane_incoming_request_id_is_kept_and_sent_back(client, caplog, incoming, kept):
    caplog.set_level(logging.INFO, logger="clinic.requests")
    response = client.get("/techniques", headers={"X-Request-ID": incoming})
    sent_back = response.headers["X-Request-ID"]
    assert (sent_back == incoming) is kept
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,64}", sent_back)
    (line,) = _request_lines(caplog)
    assert line["request_id"] == sent_back


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/techniques?q=secret-search", "/techniques"),  # the query string is dropped
        ("/calendar/" + "Ab3" * 14 + "x.ics", "/calendar/[redacted].ics"),  # a feed's secret
        ("/visit-check/" + "Zz9" * 14 + "q", "/visit-check/[redacted]"),
        ("/password/reset/IjEi.Z1x2y3.abcDEF123ghiJKL456", "/password/reset/[redacted]"),
        ("/techniques/sports-massage", "/techniques/sports-massage"),  # a slug is kept
    ],
)
def test_the_logged_path_has_no_query_and_no_secret(client, caplog, path, logged):
    caplog.set_level(logging.INFO, logger="clinic.requests")
    client.get(path)
    (line,) = _request_lines(caplog)
    assert line["path"] == logged
