"""`/healthz`: the database and the outbox backlog (the unreachable database: test_faults.py)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.notify.outbox import MAX_ATTEMPTS
from tests.support import count_queries


def _message(**fields: object) -> OutboxMessage:
    return OutboxMessage(to_address="ida@example.com", subject="Hello", body_text="Hi", **fields)


def test_healthy_with_an_empty_outbox(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "outbox": {"due": 0, "failed": 0, "given_up": 0},
    }


def test_the_backlog_counts_due_failed_and_given_up_messages_in_one_statement(app: Flask, client):
    now = utcnow()
    with app.app_context():
        db.session.add_all(
            [
                _message(),  # new: due now
                _message(attempts=2, next_attempt_at=now - timedelta(minutes=1)),  # failed, due
                _message(attempts=1, next_attempt_at=now + timedelta(hours=1)),  # failed, waits
                _message(attempts=MAX_ATTEMPTS, last_error="550 no such user"),  # given up
                _message(sent_at=now - timedelta(minutes=5), attempts=1),  # sent: not counted
            ]
        )
        db.session.commit()
    with count_queries(app) as statements:
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["outbox"] == {"due": 2, "failed": 2, "given_up": 1}
    assert len(statements) == 1
    # Nothing of a message itself: no address, no subject, no error text.
    text = response.get_data(as_text=True)
    assert "ida@example.com" not in text and "550" not in text


def test_healthz_sends_back_the_probe_s_request_id(client):
    response = client.get("/healthz", headers={"X-Request-ID": "probe-0001"})
    assert response.headers["X-Request-ID"] == "probe-0001"
