"""E-mail goes out only when its transaction commits, over real SMTP: with an HTML part and an
attachment, retried with backoff while the server is away, and never sent twice, even by two
`send-outbox` processes at once."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import event, select

from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.notify.outbox import (
    CHUNK,
    LEASE,
    MAX_ATTEMPTS,
    Attachment,
    queue_email,
    render_email,
    retry_delay,
)
from tests.concurrency_support import PROJECT_ROOT, server_environment
from tests.support import NOW, Mailbox, count_queries, post_form

INVITATION = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Lindring//test//EN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "UID:booking-1@lindring.test",
        "DTSTAMP:20270322T060000Z",
        "DTSTART:20270323T090000Z",
        "DTEND:20270323T100000Z",
        "SUMMARY:Sports massage with Åse Ørsted",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def add_routes(app: Flask) -> None:
    @app.post("/test/mail-and-commit")
    def mail_and_commit():
        queue_email("a@example.com", "Committed", "This one is real.", "<p>This one is real.</p>")
        db.session.commit()
        return "ok"

    @app.post("/test/mail-and-fail")
    def mail_and_fail():
        queue_email("b@example.com", "Rolled back", "This one never happened.")
        raise RuntimeError("the operation failed after queueing")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """The clock pinned at NOW; call it with a new instant to move it."""
    moments = [NOW]
    monkeypatch.setattr("clinic.clock.utcnow", lambda: moments[-1])
    return moments.append


def queue(app: Flask, count: int = 1, **fields: Any) -> list[int]:
    """Queue `count` messages outside any request (so only send-outbox sends them)."""
    with app.app_context():
        ids = [
            queue_email(
                fields.get("to", f"client{n}@example.com"),
                fields.get("subject", f"Message {n}"),
                fields.get("text", f"Text {n}"),
                fields.get("html", f"<p>HTML {n}</p>"),
                fields.get("attachment"),
            ).id
            for n in range(count)
        ]
        db.session.commit()
    return ids


def stored(app: Flask, message_id: int) -> OutboxMessage:
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        db.session.expunge(message)
        return message


def send_outbox(app: Flask, expect_exit: int = 0) -> str:
    result = app.test_cli_runner().invoke(args=["send-outbox"])
    assert result.exit_code == expect_exit, result.output
    return result.output


# --- after the request -----------------------------------------------------------------------


def test_committed_mail_is_delivered_after_the_request(app, mailbox):
    add_routes(app)
    app.config["WTF_CSRF_ENABLED"] = False
    assert app.test_client().post("/test/mail-and-commit").status_code == 200
    [message] = mailbox.messages
    assert message["Subject"] == "Committed"
    assert message["From"] == "Lindring <noreply@lindring.test>"
    assert Mailbox.body(message) == "This one is real."
    assert Mailbox.html(message) == "<p>This one is real.</p>"
    with app.app_context():
        stored = db.session.scalar(select(OutboxMessage))
        assert stored.sent_at is not None and stored.attempts == 1
        assert stored.claimed_until is None
    assert "Sent 0 e-mail(s)" in send_outbox(app)  # nothing sent twice


def test_mail_goes_out_once_the_answer_is_sent_not_before(app, mailbox):
    add_routes(app)
    app.config["WTF_CSRF_ENABLED"] = False
    # Held open, as while a server is still writing it: the whole answer is there, no mail yet.
    response = app.test_client().post("/test/mail-and-commit", buffered=False)
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"
    assert mailbox.messages == []
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.sent_at)) is None
    response.close()  # what the server does once the answer is sent
    assert [m["Subject"] for m in mailbox.messages] == ["Committed"]
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.sent_at)) is not None


def test_mail_from_a_failed_request_is_never_sent_nor_kept(app, mailbox):
    add_routes(app)
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/test/mail-and-fail")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert mailbox.messages == []
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage)) is None


# --- what arrives ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])  # an invitation, and its cancellation
def test_message_arrives_once_with_its_html_part_and_its_attachment(app, mailbox, method):
    invitation = Attachment(
        "booking-1.ics", f"text/calendar; method={method}; charset=UTF-8", INVITATION
    )
    [message_id] = queue(
        app,
        to="ase@example.com",
        subject="Your booking is confirmed",
        text="Hello Åse,\n\nSee you on Tuesday.\n",
        html="<p>Hello Åse,</p><p>See you on <b>Tuesday</b>.</p>",
        attachment=invitation,
    )
    assert "Sent 1 e-mail(s), 0 failed" in send_outbox(app)
    assert "Sent 0 e-mail(s)" in send_outbox(app)

    [received] = mailbox.messages
    assert received["To"] == "ase@example.com"
    assert received.get_content_type() == "multipart/mixed"
    alternative, attachment = received.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html = alternative.get_payload()
    assert plain.get_content_type() == "text/plain"
    text = plain.get_payload(decode=True).decode(plain.get_content_charset())
    assert text.replace("\r\n", "\n") == ("Hello Åse,\n\nSee you on Tuesday.\n")
    assert html.get_content_type() == "text/html"
    assert "See you on <b>Tuesday</b>." in html.get_payload(decode=True).decode("utf-8")

    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == method
    assert attachment.get_content_charset() == "utf-8"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "booking-1.ics"
    assert attachment.get_payload(decode=True).decode("utf-8") == INVITATION
    assert stored(app, message_id).attempts == 1


def test_only_text_attachments_can_be_queued(app):
    with app.app_context(), pytest.raises(ValueError, match="only text attachments"):
        queue_email(
            "a@example.com",
            "PDF",
            "text",
            attachment=Attachment("a.pdf", "application/pdf", "%PDF"),
        )


def test_text_part_is_plain_and_html_part_is_escaped(app, make_user, mailbox):
    # A name any template may print: it must read as written in the text, and be escaped in HTML.
    make_user(email="obrien@example.com", name="O'Brien & Co <b>")
    post_form(app.test_client(), "/password/forgot", {"email": "obrien@example.com"})
    [message] = mailbox.messages
    assert "Hello O'Brien & Co <b>," in Mailbox.body(message)
    assert "&amp;" not in Mailbox.body(message) and "&#39;" not in Mailbox.body(message)
    html = Mailbox.html(message)
    assert "Hello O&#39;Brien &amp; Co &lt;b&gt;," in html
    assert "O'Brien" not in html and "<b>" not in html


def test_every_text_template_has_an_html_twin(app):
    # Each e-mail has a plain-text and an HTML part, so the templates come in pairs.
    texts = {p.with_suffix("") for p in (PROJECT_ROOT / "templates").glob("**/email/*.txt")}
    htmls = {p.with_suffix("") for p in (PROJECT_ROOT / "templates").glob("**/email/*.html")}
    assert texts and texts <= htmls
    with app.test_request_context():
        text, html = render_email(
            "screening/email/decision", client={"name": "Ida"}, link="http://x/s/1"
        )
    assert text.startswith("Hello Ida,") and "http://x/s/1" in text
    assert html.startswith("<!DOCTYPE html>") and 'href="http://x/s/1"' in html
    assert "<script" not in html and "src=" not in html  # nothing to load, nothing to run


# --- retries ---------------------------------------------------------------------------------


def test_a_refused_message_is_retried_with_backoff_and_then_given_up(app, mailbox, clock):
    [message_id] = queue(app)
    mailbox.accept = False  # the server answers 451: try again later
    now = NOW
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert "1 failed" in send_outbox(app, expect_exit=1)
        message = stored(app, message_id)
        assert message.attempts == attempt and "451" in message.last_error
        waits.append(message.next_attempt_at - now)
        # Not a moment before it is due: the run just before sends nothing.
        clock(message.next_attempt_at - timedelta(seconds=1))
        assert "Sent 0 e-mail(s), 0 failed" in send_outbox(app)
        assert stored(app, message_id).attempts == attempt
        now = message.next_attempt_at
        clock(now)

    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 64, 128, 240, 240]
    assert [retry_delay(n) for n in (1, 2, 9)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(hours=4),
    ]
    # Given up: left visible as unsent, and never tried again even once the server is back.
    mailbox.accept = True
    clock(now + timedelta(days=1))
    output = send_outbox(app)
    assert "Sent 0 e-mail(s), 0 failed" in output
    assert f"0 e-mail(s) wait for a retry; 1 gave up after {MAX_ATTEMPTS} attempts" in output
    assert mailbox.messages == []
    assert stored(app, message_id).sent_at is None


class Recorder:
    """An SMTP handler that keeps what it receives in a Mailbox.

    With `hold_until_peers` > 1 it holds each message until that many connections have sent
    one, so that the senders under test are certainly at work at the same time.
    """

    def __init__(self, hold_until_peers: int = 1, timeout: float = 15) -> None:
        self.mailbox = Mailbox()
        self.hold_until_peers = hold_until_peers
        self.timeout = timeout
        self.peers: set[Any] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.add(session.peer)
        waited = 0.0
        while len(self.peers) < self.hold_until_peers and waited < self.timeout:
            await asyncio.sleep(0.02)
            waited += 0.02
        await asyncio.sleep(0.005)  # a little work per message lets the senders interleave
        self.mailbox.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """A real SMTP server on a fixed port of 127.0.0.1 that can go down and come back."""

    def __init__(self, handler: Recorder) -> None:
        self.handler = handler
        self.port = _free_port()
        self.controller: Controller | None = None

    @property
    def mailbox(self) -> Mailbox:
        return self.handler.mailbox

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def own_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(Recorder())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_on_own_smtp(
    app_config: dict[str, Any], own_smtp: SmtpServer, request: pytest.FixtureRequest
) -> Flask:
    app_config.update(MAIL_PORT=own_smtp.port, MAIL_TIMEOUT=5)
    return request.getfixturevalue("app")


def test_with_the_server_down_mail_waits_and_goes_out_once_it_is_back(
    app_on_own_smtp, own_smtp, clock
):
    app = app_on_own_smtp
    first, second = queue(app, 2)
    own_smtp.stop()

    assert "Sent 0 e-mail(s), 2 failed" in send_outbox(app, expect_exit=1)
    for message_id in (first, second):
        message = stored(app, message_id)
        assert message.sent_at is None and message.attempts == 1
        assert message.next_attempt_at == NOW + timedelta(minutes=1)
        assert "Connection refused" in message.last_error or "Errno" in message.last_error

    # The server is back, but the messages wait for their time.
    own_smtp.start()
    clock(NOW + timedelta(seconds=59))
    assert "Sent 0 e-mail(s), 0 failed" in send_outbox(app)
    assert own_smtp.mailbox.messages == []
    assert stored(app, first).attempts == 1

    clock(NOW + timedelta(minutes=1))
    assert "Sent 2 e-mail(s), 0 failed" in send_outbox(app)
    assert sorted(m["Subject"] for m in own_smtp.mailbox.messages) == ["Message 0", "Message 1"]
    message = stored(app, first)
    assert message.attempts == 2 and message.sent_at == NOW + timedelta(minutes=1)
    assert message.last_error is None and message.next_attempt_at is None

    clock(NOW + timedelta(hours=5))
    assert "Sent 0 e-mail(s)" in send_outbox(app)
    assert len(own_smtp.mailbox.messages) == 2


def test_after_request_delivery_failing_leaves_the_mail_to_send_outbox(
    app_on_own_smtp, own_smtp, clock
):
    app = app_on_own_smtp
    add_routes(app)
    app.config["WTF_CSRF_ENABLED"] = False
    own_smtp.stop()
    assert app.test_client().post("/test/mail-and-commit").status_code == 200
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert (message.attempts, message.sent_at) == (1, None)
        assert message.next_attempt_at == NOW + timedelta(minutes=1)
    own_smtp.start()
    clock(NOW + timedelta(minutes=1))
    assert "Sent 1 e-mail(s)" in send_outbox(app)
    [received] = own_smtp.mailbox.messages
    assert received["Subject"] == "Committed"


# --- never twice -----------------------------------------------------------------------------


def test_a_message_leased_by_another_sender_is_left_alone_until_the_lease_ends(app, mailbox, clock):
    [message_id] = queue(app)
    with app.app_context():
        # Another sender has it: it leased it a moment ago and is talking to the server.
        db.session.get(OutboxMessage, message_id).claimed_until = NOW + LEASE
        db.session.commit()
    assert "Sent 0 e-mail(s), 0 failed" in send_outbox(app)
    assert mailbox.messages == []

    # That sender died without a word: once its lease has run out, the message is sent.
    clock(NOW + LEASE + timedelta(seconds=1))
    assert "Sent 1 e-mail(s)" in send_outbox(app)
    assert len(mailbox.messages) == 1


def test_messages_are_leased_and_settled_a_chunk_per_commit(app, mailbox, clock):
    ids = queue(app, CHUNK * 2 + 5)
    with app.app_context():
        # One message of the second chunk is another sender's: the rest of its chunk still goes.
        db.session.get(OutboxMessage, ids[CHUNK + 1]).claimed_until = NOW + LEASE
        db.session.commit()
        engine = db.engine
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        with count_queries(app) as statements:
            assert "Sent 24 e-mail(s), 0 failed" in send_outbox(app)
    finally:
        event.remove(engine, "commit", committed)
    leases = [s for s in statements if s.lstrip().upper().startswith("UPDATE") and "RETURNING" in s]
    assert len(leases) == 3  # 10, 10 and 5 messages
    assert len(commits) == 1 + 3 * 2  # queueing reminders (none due); per chunk, lease and outcome
    subjects = sorted(m["Subject"] for m in mailbox.messages)
    assert subjects == sorted(f"Message {n}" for n in range(len(ids)) if n != CHUNK + 1)
    assert stored(app, ids[CHUNK + 1]).sent_at is None


def test_two_send_outbox_processes_at_once_send_each_message_once(database_url, app):
    server = SmtpServer(Recorder(hold_until_peers=2))
    server.start()
    try:
        ids = queue(app, 40)
        env = server_environment(
            database_url,
            MAIL_BACKEND="smtp",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(server.port),
            MAIL_TIMEOUT="30",
            MAIL_DELIVER_AFTER_REQUEST="false",
        )
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "send-outbox"]
        processes = [
            subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in processes]
    finally:
        server.stop()

    assert [p.returncode for p in processes] == [0, 0], outputs
    subjects = Counter(m["Subject"] for m in server.mailbox.messages)
    assert subjects == Counter(f"Message {n}" for n in range(40)), outputs
    # Both were at work: each sent some (the server held the first until both had connected).
    sent = [int(o.split("Sent ")[1].split(" ")[0]) for o in outputs]
    assert sum(sent) == 40 and min(sent) > 0, outputs
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.attempts, OutboxMessage.sent_at).where(OutboxMessage.id.in_(ids))
        ).all()
    assert all(attempts == 1 and sent_at is not None for attempts, sent_at in rows)
