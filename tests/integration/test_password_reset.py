"""Forgotten passwords: a signed, expiring, single-use link sent through a real SMTP server."""

from __future__ import annotations

import re
import time

from sqlalchemy import func, select

from clinic.auth.models import User
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from tests.support import Mailbox, login, post_form

NEW_PASSWORD = "lanterns over the harbour"


def reset_link(mailbox: Mailbox, address: str) -> str:
    [message] = mailbox.to(address)
    assert message["Subject"] == "Reset your Lindring password"
    match = re.search(r"http://localhost(/password/reset/\S+)", Mailbox.body(message))
    assert match, Mailbox.body(message)
    return match.group(1)


def ask_for_link(client, email: str):
    return post_form(client, "/password/forgot", {"email": email}, follow_redirects=True)


def test_reset_link_arrives_and_sets_a_new_password(app, client, make_user, mailbox):
    make_user(email="ida@example.com", name="Ida Berg")
    page = ask_for_link(client, "IDA@example.com")
    assert "a link to choose a new password is on its way" in page.get_data(as_text=True)

    path = reset_link(mailbox, "ida@example.com")
    assert "Ida Berg" in Mailbox.body(mailbox.messages[0])
    form = client.get(path)
    assert "Choose a new password" in form.get_data(as_text=True)
    done = post_form(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    login(app.test_client(), "ida@example.com", NEW_PASSWORD)
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.sent_at)) is not None


def test_link_works_only_once(client, make_user, mailbox):
    make_user(email="ida@example.com")
    ask_for_link(client, "ida@example.com")
    path = reset_link(mailbox, "ida@example.com")
    post_form(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = client.get(path)
    assert again.status_code == 400
    assert "does not work any more" in again.get_data(as_text=True)


def test_link_expires(app, client, make_user, mailbox, monkeypatch):
    make_user(email="ida@example.com")
    ask_for_link(client, "ida@example.com")
    path = reset_link(mailbox, "ida@example.com")
    later = time.time() + app.config["PASSWORD_RESET_MAX_AGE"] + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert client.get(path).status_code == 400


def test_tampered_link_is_refused(client, make_user, mailbox):
    make_user(email="ida@example.com")
    ask_for_link(client, "ida@example.com")
    path = reset_link(mailbox, "ida@example.com")
    assert client.get(path[:-3] + "xyz").status_code == 400
    assert client.get("/password/reset/not-a-token").status_code == 400


def test_reset_refuses_a_weak_password_and_keeps_the_old_one(app, client, make_user, mailbox):
    user = make_user(email="ida@example.com")
    ask_for_link(client, "ida@example.com")
    path = reset_link(mailbox, "ida@example.com")
    response = post_form(client, path, {"password": "password1234", "confirm": "password1234"})
    assert "too common" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == user.password_hash


def test_unknown_address_gets_the_same_answer_and_no_mail(app, client, make_user, mailbox):
    make_user(email="ida@example.com")
    known = ask_for_link(client, "ida@example.com").get_data(as_text=True)
    unknown = ask_for_link(client, "nobody@example.com").get_data(as_text=True)
    assert "is on its way" in known and "is on its way" in unknown
    assert [m["To"] for m in mailbox.messages] == ["ida@example.com"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_reset_ends_existing_sessions(app, client, make_user, mailbox):
    make_user(email="ida@example.com")
    phone = app.test_client()
    login(phone, "ida@example.com")
    ask_for_link(client, "ida@example.com")
    post_form(
        client,
        reset_link(mailbox, "ida@example.com"),
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert phone.get("/account").status_code == 302
