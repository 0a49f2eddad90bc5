"""E-mail goes out only when its transaction commits, over real SMTP, with retries."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.notify.outbox import queue_email


def add_routes(app: Flask) -> None:
    @app.post("/test/mail-and-commit")
    def mail_and_commit():
        queue_email("a@example.com", "Committed", "This one is real.")
        db.session.commit()
        return "ok"

    @app.post("/test/mail-and-fail")
    def mail_and_fail():
        queue_email("b@example.com", "Rolled back", "This one never happened.")
        raise RuntimeError("the operation failed after queueing")


def test_committed_mail_is_delivered_after_the_request(app, mailbox):
    add_routes(app)
    app.config["WTF_CSRF_ENABLED"] = False
    assert app.test_client().post("/test/mail-and-commit").status_code == 200
    [message] = mailbox.messages
    assert message["Subject"] == "Committed"
    assert message["From"] == "Lindring <noreply@lindring.test>"
    with app.app_context():
        stored = db.session.scalar(select(OutboxMessage))
        assert stored.sent_at is not None and stored.attempts == 1


def test_mail_from_a_failed_request_is_never_sent_nor_kept(app, mailbox):
    add_routes(app)
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/test/mail-and-fail")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert mailbox.messages == []
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage)) is None


def test_failed_delivery_is_kept_and_send_outbox_retries(app, mailbox):
    add_routes(app)
    app.config["WTF_CSRF_ENABLED"] = False
    mailbox.accept = False
    app.test_client().post("/test/mail-and-commit")
    assert mailbox.messages == []
    with app.app_context():
        stored = db.session.scalar(select(OutboxMessage))
        assert stored.sent_at is None and stored.attempts == 1
        assert "451" in stored.last_error

    runner = app.test_cli_runner()
    failed = runner.invoke(args=["send-outbox"])
    assert failed.exit_code == 1 and "1 failed" in failed.output

    mailbox.accept = True
    sent = runner.invoke(args=["send-outbox"])
    assert sent.exit_code == 0 and "Sent 1" in sent.output
    assert [m["Subject"] for m in mailbox.messages] == ["Committed"]
    with app.app_context():
        stored = db.session.scalar(select(OutboxMessage))
        assert stored.sent_at is not None and stored.attempts == 3 and stored.last_error is None
    assert "Sent 0" in runner.invoke(args=["send-outbox"]).output  # nothing sent twice
