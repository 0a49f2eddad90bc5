"""Failed logins lock an account for a while and tell its owner; nothing in the answers tells a
registered e-mail from an unknown one (the page, the API, the reset form, even the time taken).

Three failures within 15 minutes lock for 15 minutes here. The limiter stays off (testing), so
only the lock is at work. The clock is pinned and moved by the `clock` fixture.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.extensions import db
from tests.integration.test_rate_limits import WRONG, login_post
from tests.support import TEST_PASSWORD, Mailbox, csrf_token_from, post_form

START = datetime(2027, 3, 22, 6, 0, tzinfo=UTC)
LOCKED_SUBJECT = "Your Lindring account was locked after failed logins"
NEW_PASSWORD = "lanterns over the harbour"
GENERIC = "The e-mail address or the password is not right."


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "LOGIN_LOCKOUT_THRESHOLD": 3,
        "LOGIN_LOCKOUT_WINDOW": 15 * 60,
        "LOGIN_LOCKOUT_DURATION": 15 * 60,
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Pins clinic.clock.utcnow at START; call it to move the clock on."""
    moments = [START]
    monkeypatch.setattr("clinic.clock.utcnow", lambda: moments[-1])
    return lambda step: moments.append(moments[-1] + step)


@pytest.fixture
def ida(make_user: Callable[..., User]) -> User:
    return make_user(email="ida@example.com", name="Ida Berg")


def fail(app: Any, email: str, times: int) -> None:
    """`times` wrong passwords for `email`, each from an address and a browser of its own."""
    for n in range(times):
        web = app.test_client()
        answer = login_post(web, email, environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"})
        assert answer.status_code == 200 and GENERIC in answer.get_data(as_text=True)


def logs_in(app: Any, email: str, password: str = TEST_PASSWORD) -> bool:
    web = app.test_client()
    answer = login_post(web, email, password)
    assert answer.status_code in (200, 302)
    return answer.status_code == 302 and web.get("/account").status_code == 200


def same_page(html: str, email: str) -> str:
    """The page with what differs by design taken out: the CSRF token and the typed e-mail."""
    html = re.sub(r'(name="csrf_token" (?:type="hidden" )?value=")[^"]+', r"\1", html)
    return html.replace(email, "EMAIL")


def lock_audit(app: Any) -> list[tuple[Any, ...]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.locked"))
        return [(r.subject_type, r.subject_id, r.actor_id, r.detail) for r in rows]


# --- the lock --------------------------------------------------------------------------------


def test_failures_from_many_addresses_lock_the_account_and_mail_its_owner_once(
    app, ida, mailbox: Mailbox, clock
):
    fail(app, ida.email, 3)
    assert not logs_in(app, ida.email), "the right password must be refused while locked"
    [message] = mailbox.to(ida.email)
    assert message["Subject"] == LOCKED_SUBJECT
    body = Mailbox.body(message)
    assert "Ida Berg" in body and "3 times" in body and "15 minutes" in body
    assert re.search(r"http://localhost/password/reset/\S+", body)
    assert "/password/reset/" in Mailbox.html(message)

    fail(app, ida.email, 2)  # more tries while locked: no more mail, no longer lock
    assert len(mailbox.to(ida.email)) == 1
    # Ids only in the audit log: no e-mail, no name.
    assert lock_audit(app) == [("user", ida.id, None, {"failures": 3, "minutes": 15})]
    clock(timedelta(minutes=14, seconds=59))
    assert not logs_in(app, ida.email)


def test_the_lock_runs_out_and_a_good_login_clears_the_count(app, ida, clock):
    fail(app, ida.email, 3)
    assert not logs_in(app, ida.email)
    clock(timedelta(minutes=15))
    assert logs_in(app, ida.email)
    with app.app_context():
        user = db.session.get(User, ida.id)
        assert (user.failed_logins, user.failed_login_since, user.locked_until) == (0, None, None)


def test_a_good_login_starts_the_count_again(app, ida, clock):
    fail(app, ida.email, 2)
    assert logs_in(app, ida.email)
    fail(app, ida.email, 2)
    assert logs_in(app, ida.email), "2 + 2 failures with a good login between must not lock"


def test_failures_further_apart_than_the_window_do_not_add_up(app, ida, clock):
    fail(app, ida.email, 2)
    clock(timedelta(minutes=15))
    fail(app, ida.email, 2)
    assert logs_in(app, ida.email)
    fail(app, ida.email, 3)
    assert not logs_in(app, ida.email), "three within the window do lock"


def test_a_new_password_through_the_mailed_link_lifts_the_lock(app, ida, mailbox, clock):
    fail(app, ida.email, 3)
    assert not logs_in(app, ida.email)
    [message] = mailbox.to(ida.email)
    path = re.search(r"http://localhost(/password/reset/\S+)", Mailbox.body(message)).group(1)
    web = app.test_client()
    done = post_form(web, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert logs_in(app, ida.email, NEW_PASSWORD)


def test_api_token_requests_count_and_are_refused_while_locked(app, client, ida, mailbox, clock):
    wrong = {"email": ida.email, "password": WRONG}
    answers = [client.post("/api/v1/tokens", json=wrong) for _ in range(3)]
    assert {a.status_code for a in answers} == {401}
    right = client.post("/api/v1/tokens", json={"email": ida.email, "password": TEST_PASSWORD})
    assert right.status_code == 401
    assert right.get_json() == answers[0].get_json()  # the same words as a wrong password
    assert len(mailbox.to(ida.email)) == 1
    assert not logs_in(app, ida.email), "a lock from the API holds on the page too"


# --- nothing tells whether an e-mail is registered ------------------------------------------


def test_an_unknown_email_answers_like_a_known_one_through_the_lock(app, ida, mailbox, clock):
    unknown = "nobody@example.com"
    for attempt in range(5):  # the known account locks at the third
        known_answer = login_post(app.test_client(), ida.email)
        unknown_answer = login_post(app.test_client(), unknown)
        assert known_answer.status_code == unknown_answer.status_code == 200, attempt
        assert same_page(known_answer.get_data(as_text=True), ida.email) == same_page(
            unknown_answer.get_data(as_text=True), unknown
        )
    right = login_post(app.test_client(), ida.email, TEST_PASSWORD)  # locked
    unknown_answer = login_post(app.test_client(), unknown, TEST_PASSWORD)
    assert same_page(right.get_data(as_text=True), ida.email) == same_page(
        unknown_answer.get_data(as_text=True), unknown
    )
    assert [m["To"] for m in mailbox.messages] == [ida.email], "an unknown e-mail locks nothing"
    assert len(lock_audit(app)) == 1
    with app.app_context():
        assert User.by_email(unknown) is None


def test_the_reset_form_answers_the_same_for_a_registered_and_an_unknown_email(app, ida):
    answers = {}
    for email in (ida.email, "nobody@example.com"):
        web = app.test_client()
        token = csrf_token_from(web.get("/password/forgot").get_data(as_text=True))
        sent = web.post("/password/forgot", data={"email": email, "csrf_token": token})
        page = web.get(sent.headers["Location"]).get_data(as_text=True)
        answers[email] = (sent.status_code, sent.headers["Location"], same_page(page, email))
    assert answers[ida.email] == answers["nobody@example.com"]
    assert answers[ida.email][0] == 302 and "is on its way" in answers[ida.email][2]


@pytest.mark.parametrize("app_config", [{"PASSWORD_HASH_METHOD": "pbkdf2:sha256:300000"}])
def test_an_unknown_email_takes_as_long_as_a_wrong_password(app, make_user, app_config):
    # A slow hash, so that checking a password dominates the request time.
    user = make_user(email="ida@example.com")
    web = app.test_client()

    def seconds(email: str) -> float:
        token = csrf_token_from(web.get("/login").get_data(as_text=True))
        begin = time.perf_counter()
        web.post("/login", data={"email": email, "password": WRONG, "csrf_token": token})
        return time.perf_counter() - begin

    known = min(seconds(user.email) for _ in range(2))  # two: below the lock's three
    unknown = min(seconds("nobody@example.com") for _ in range(3))
    assert 0.5 < unknown / known < 2, (known, unknown)
