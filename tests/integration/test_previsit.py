"""The pre-visit health check: the link in the 24-hour reminder and its three questions.

The clock starts on Monday 22 March 2027, 07:00 in Copenhagen (CET), with the demo clinic. Most
sessions are Anna's sports massage on Tuesday 23 March at 10:00; the reminders are sent on
Monday at 11:00, 23 hours ahead and already past the 24-hour cut-off, when a client can no
longer cancel online: the check may still cancel, free of charge.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime, timedelta
from email.message import Message

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking import changes
from clinic.booking.models import Booking, BookingStatus
from clinic.booking.previsit import previsit_state
from clinic.extensions import db
from clinic.screening.models import PreVisitCheck
from clinic.screening.rules import Section, questions
from tests.integration.test_booking_changes import book, is_free
from tests.support import (
    MONDAY,
    Clinic,
    Mailbox,
    Person,
    csrf_token_from,
    invitation,
    load,
    local,
    user_id,
)

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
MON_11 = local(MONDAY, "11:00")  # 23 hours before TUE_10; the cut-off was at 10:00
TUE_10 = local(TUESDAY, "10:00")
NO = {"infection": "no", "injury": "no", "symptoms": "no"}

# Words that would give away a health answer, the screening or the red flags.
HEALTH_WORDS = (
    "fever",
    "infection",
    "injur",
    "surgery",
    "symptom",
    "numb",
    "bladder",
    "bowel",
    "weak",
    "doctor",
    "urgent",
    "health",
    "screening",
    "varicose",
)

LINK = re.compile(r"https?://[^\s\"<>]+(/visit-check/[A-Za-z0-9_-]+)")


# --- helpers --------------------------------------------------------------------------------


def send_reminders(clinic: Clinic, at: datetime = MON_11) -> None:
    """Move the clock and run `send-outbox`, which queues the due reminders and sends them."""
    clinic.set_clock(at)
    result = clinic.app.test_cli_runner().invoke(args=["send-outbox"])
    assert result.exit_code == 0, result.output


def reminder_to(mailbox: Mailbox, address: str) -> Message:
    return [m for m in mailbox.to(address) if m["Subject"].startswith("Reminder:")][-1]


def check_link(message: Message) -> str:
    """The check's path, read from the reminder's text part; the HTML part links the same."""
    [(url, path)] = {(m.group(0), m.group(1)) for m in LINK.finditer(Mailbox.body(message))}
    assert f'href="{url}"' in Mailbox.html(message)
    return path


def remind(clinic: Clinic, mailbox: Mailbox, person: Person, at: datetime = MON_11) -> str:
    send_reminders(clinic, at)
    return check_link(reminder_to(mailbox, person.email))


def answer(web: FlaskClient, path: str, data: dict[str, str]):
    """Open the check and send it, with the page's CSRF token."""
    page = web.get(path)
    assert page.status_code == 200, page.status_code
    token = csrf_token_from(page.get_data(as_text=True))
    return web.post(path, data={**data, "csrf_token": token})


def check_of(clinic: Clinic, booking_id: int) -> PreVisitCheck:
    with clinic.app.app_context():
        found = db.session.scalar(
            select(PreVisitCheck).where(PreVisitCheck.booking_id == booking_id)
        )
        db.session.expunge(found)
        return found


def checked(page: str, name: str) -> list[str]:
    """The values of the radio buttons named `name` that the page shows selected."""
    tags = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return [re.search(r'value="([^"]*)"', t).group(1) for t in tags if " checked" in t]


def audit_of(clinic: Clinic, booking_id: int) -> list[tuple[str, int | None, dict]]:
    with clinic.app.app_context():
        rows = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail)
            .where(AuditEntry.subject_type == "booking", AuditEntry.subject_id == booking_id)
            .order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


def all_text(message: Message) -> str:
    """Every readable part of a message, the calendar file included, in lower case."""
    parts = [message["Subject"]]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_payload(decode=True).decode(part.get_content_charset()))
    return "\n".join(parts).lower()


def unchanged(clinic: Clinic, booking_id: int, before: Booking) -> None:
    after = load(clinic, booking_id)
    assert after.status is BookingStatus.CONFIRMED
    assert (after.sequence, after.updated_at, after.starts_at) == (
        before.sequence,
        before.updated_at,
        before.starts_at,
    )


# --- the link in the reminder ---------------------------------------------------------------


def test_the_reminder_carries_a_working_link_that_shows_only_the_session(
    clinic: Clinic, make_client, mailbox: Mailbox
):
    vera = make_client("vera@example.com", yes=("varicose_veins", "skin_allergy"))
    booking_id = book(clinic, vera)
    path = remind(clinic, mailbox, vera)
    reminder = reminder_to(mailbox, vera.email)
    assert "Before you come, please answer three quick questions" in Mailbox.body(reminder)
    assert "Answer three questions" in Mailbox.html(reminder)

    # Only a hash of the token is stored, and the check ends when the session starts.
    token = path.rsplit("/", 1)[1]
    stored = check_of(clinic, booking_id)
    assert len(token) == 43 and token not in stored.token_hash
    assert len(stored.token_hash) == 64
    assert (stored.expires_at, stored.answered_at, stored.outcome) == (TUE_10, None, "")

    page = clinic.web().get(path)  # a browser that is not logged in: the mail app's
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "Sports massage, Tuesday 23 March 2027 at 10:00 CET" in html
    assert "Do you have a fever or an infection right now?" in html
    assert "Have you had a new injury or surgery since your health screening?" in html
    # The red flags, worded as in the screening, not retyped.
    red_flags = [q.text for q in questions() if q.section is Section.RED_FLAGS]
    assert len(red_flags) == 5
    for text in red_flags:
        assert text.replace("'", "&#39;") in html
    # Nothing from the screening, and no booking id for a form to tamper with.
    for word in ("varicose", "allerg", "caution", "Anna", f"/bookings/{booking_id}"):
        assert word not in html.replace(path, ""), word
    form = html[html.index('<form method="post" action="/visit-check/') :]
    fields = set(re.findall(r'<input[^>]*name="([^"]+)"', form[: form.index("</form>")]))
    assert fields == {"csrf_token", "infection", "injury", "symptoms", "submit"}


def test_the_client_logged_in_may_answer_too(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    response = answer(ida.web, path, NO)
    assert response.status_code == 200
    assert check_of(clinic, booking_id).outcome == "clear"
    [(action, actor, detail)] = [e for e in audit_of(clinic, booking_id) if e[0].startswith("pre")]
    assert (action, actor, detail) == (
        "previsit.answered",
        ida.id,
        {"outcome": "clear", "signed_in": True},
    )


# --- answering ------------------------------------------------------------------------------


def test_all_no_keeps_the_booking_and_stores_the_answers(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    before = load(clinic, booking_id)
    mails_before = len(mailbox.messages)

    response = answer(clinic.web(), path, NO)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "Thank you" in html and "See you tomorrow at 10:00 for your sports massage." in html

    unchanged(clinic, booking_id, before)
    assert not is_free(clinic, TUE_10)
    stored = check_of(clinic, booking_id)
    assert stored.answers == {"infection": False, "injury": False, "symptoms": False}
    assert (stored.answered_at, stored.outcome) == (MON_11, "clear")
    assert len(mailbox.messages) == mails_before  # nobody is e-mailed
    # Audited without the answers: only what came of them.
    assert audit_of(clinic, booking_id) == [
        ("previsit.answered", ida.id, {"outcome": "clear", "signed_in": False})
    ]


@pytest.mark.parametrize("yes", ["infection", "injury", "symptoms"])
def test_any_yes_cancels_free_of_charge_and_tells_the_therapist_and_the_client(
    clinic: Clinic, make_client, mailbox: Mailbox, yes: str
):
    vera = make_client("vera@example.com", yes=("varicose_veins",))
    booking_id = book(clinic, vera)
    path = remind(clinic, mailbox, vera)
    assert not is_free(clinic, TUE_10)
    mailbox.messages.clear()

    response = answer(clinic.web(), path, NO | {yes: "yes"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "Your session is cancelled" in html
    assert "at no charge" in html
    assert 'href="/screening/new"' in html and "Update my health screening" in html
    # The urgent advice of the screening's result page, for a red flag only.
    assert ("Please contact a doctor today" in html) is (yes == "symptoms")
    assert ("urgent-advice" in html) is (yes == "symptoms")

    after = load(clinic, booking_id)
    assert after.status is BookingStatus.CANCELLED
    assert after.late_cancellation is False  # after the cut-off, yet never late
    assert after.cancelled_by_id == vera.id
    assert after.cancel_reason == "After the pre-visit check, free of charge."
    assert is_free(clinic, TUE_10)  # the time is released: anyone can book it again
    ole = make_client("ole@example.com")
    assert load(clinic, book(clinic, ole, now=MON_11)).starts_at == TUE_10

    stored = check_of(clinic, booking_id)
    assert stored.outcome == "cancelled" and stored.answered_at == MON_11
    assert stored.answers == {k: k == yes for k in ("infection", "injury", "symptoms")}

    [to_client] = mailbox.to(vera.email)
    [to_anna] = mailbox.to("anna@lindring.example")
    assert to_client["Subject"] == "Your booking is cancelled"
    assert to_anna["Subject"] == "A session was cancelled"
    assert "After the pre-visit check, free of charge." in Mailbox.body(to_anna)
    for message in (to_client, to_anna):
        assert invitation(message)[0] == "CANCEL"
        text = all_text(message)
        for word in HEALTH_WORDS:
            assert word not in text, (message["Subject"], word)

    entries = audit_of(clinic, booking_id)
    # The answer (without the answers), then what came of it.
    assert entries == [
        ("previsit.answered", vera.id, {"outcome": "cancelled", "signed_in": False}),
        ("booking.cancelled", vera.id, {"status": "cancelled", "reason": "pre-visit check"}),
    ]


def test_not_answering_changes_nothing(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = book(clinic, ida)
    remind(clinic, mailbox, ida)
    before = load(clinic, booking_id)
    clinic.set_clock(TUE_10)
    unchanged(clinic, booking_id, before)
    assert check_of(clinic, booking_id).answered_at is None


# --- links that no longer work --------------------------------------------------------------


def test_the_link_expires_when_the_session_starts(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    web = clinic.web()
    token = csrf_token_from(web.get(path).get_data(as_text=True))
    before = load(clinic, booking_id)

    clinic.set_clock(TUE_10 - timedelta(seconds=1))
    assert "Do you have a fever" in web.get(path).get_data(as_text=True)  # still open
    clinic.set_clock(TUE_10)
    page = web.get(path)
    assert page.status_code == 200
    assert "The session has started" in page.get_data(as_text=True)
    assert "Send my answers" not in page.get_data(as_text=True)
    refused = web.post(path, data=NO | {"symptoms": "yes", "csrf_token": token})
    assert refused.status_code == 409
    assert "The session has started" in refused.get_data(as_text=True)
    unchanged(clinic, booking_id, before)
    assert check_of(clinic, booking_id).answered_at is None


def test_an_answered_link_takes_no_second_answer(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    web = clinic.web()
    token = csrf_token_from(web.get(path).get_data(as_text=True))
    assert web.post(path, data=NO | {"csrf_token": token}).status_code == 200
    before = load(clinic, booking_id)

    # The same form sent again, now with a yes: answered already, nothing changes.
    replay = web.post(path, data=NO | {"injury": "yes", "csrf_token": token})
    assert replay.status_code == 409
    assert "You already answered these questions" in replay.get_data(as_text=True)
    unchanged(clinic, booking_id, before)
    stored = check_of(clinic, booking_id)
    assert stored.outcome == "clear" and not any(stored.answers.values())
    page = web.get(path)
    assert page.status_code == 200 and "You already answered" in page.get_data(as_text=True)
    assert [a for a, _, _ in audit_of(clinic, booking_id)] == ["previsit.answered"]


def test_two_answers_sent_at_once_count_once(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    # Two browsers with the same link (a phone and a laptop), one says no, the other yes.
    forms = []
    for data in (NO, NO | {"symptoms": "yes"}):
        web = clinic.web()
        forms.append((web, data | {"csrf_token": csrf_token_from(web.get(path).get_data(True))}))
    start = threading.Barrier(2)
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def send(web: FlaskClient, data: dict[str, str]) -> None:
        try:
            start.wait(timeout=10)
            results[data["symptoms"]] = web.post(path, data=data).status_code
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=send, args=form) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results.values()) == [200, 409]
    winner = next(answer for answer, status in results.items() if status == 200)
    stored = check_of(clinic, booking_id)
    assert stored.answers["symptoms"] is (winner == "yes")
    expected = BookingStatus.CANCELLED if winner == "yes" else BookingStatus.CONFIRMED
    assert load(clinic, booking_id).status is expected
    assert [a for a, _, _ in audit_of(clinic, booking_id)].count("previsit.answered") == 1


def test_an_answered_cancellation_says_so_when_opened_again(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    web = clinic.web()
    assert answer(web, path, NO | {"symptoms": "yes"}).status_code == 200
    html = web.get(path).get_data(as_text=True)
    assert "You already answered" in html and "The session is cancelled." in html
    assert "Please contact a doctor today" not in html  # the answers are not shown again


def test_a_link_works_for_its_own_booking_only(clinic: Clinic, ida: Person, make_client, mailbox):
    ole = make_client("ole@example.com")
    a = book(clinic, ida)
    b = book(clinic, ole, TUE_10, "bo", "classic-massage")
    path_a = remind(clinic, mailbox, ida)
    path_b = check_link(reminder_to(mailbox, ole.email))
    assert path_a != path_b
    before_b = load(clinic, b)

    # A's link, with B's id (and B's token) in every field name a form might use.
    sneaky = {
        "booking_id": str(b),
        "booking": str(b),
        "id": str(b),
        "check_id": str(check_of(clinic, b).id),
        "token": path_b.rsplit("/", 1)[1],
    }
    response = answer(clinic.web(), path_a, NO | {"infection": "yes"} | sneaky)
    assert response.status_code == 200
    assert load(clinic, a).status is BookingStatus.CANCELLED
    unchanged(clinic, b, before_b)
    assert check_of(clinic, b).answered_at is None
    assert [e[0] for e in audit_of(clinic, b)] == []
    # B's own link still works.
    assert "Do you have a fever" in clinic.web().get(path_b).get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/visit-check/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # the right shape
        "/visit-check/short",
        "/visit-check/" + "A" * 300,
        "/visit-check/%27%22",
    ],
)
def test_an_unknown_link_is_not_found(clinic: Clinic, ida: Person, mailbox, path: str):
    book(clinic, ida)
    remind(clinic, mailbox, ida)
    for web in (clinic.web(), ida.web):
        page = web.get(path)
        assert page.status_code == 404
        assert page.headers["Cache-Control"] == "no-store"
        assert "This link does not work" in page.get_data(as_text=True)
    assert clinic.web().post(path, data=NO).status_code in (400, 404)  # no CSRF token either


def test_someone_logged_in_as_another_user_gets_not_found(
    clinic: Clinic, ida: Person, make_client, mailbox: Mailbox
):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    before = load(clinic, booking_id)
    ole = make_client("ole@example.com")
    for web in (ole.web, clinic.staff("anna"), clinic.staff("admin")):
        page = web.get(path)
        assert page.status_code == 404
        assert "Sports massage" not in page.get_data(as_text=True)
        token = csrf_token_from(page.get_data(as_text=True))  # the logout form's
        refused = web.post(path, data=NO | {"symptoms": "yes", "csrf_token": token})
        assert refused.status_code == 404
    unchanged(clinic, booking_id, before)
    assert check_of(clinic, booking_id).answered_at is None


def test_an_answer_without_the_csrf_token_is_refused(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    before = load(clinic, booking_id)
    web = clinic.web()
    web.get(path)  # the browser has a session, but the form came from elsewhere
    refused = web.post(path, data=NO | {"symptoms": "yes"})
    assert refused.status_code == 400
    assert "security token" in refused.get_data(as_text=True)
    forged = web.post(path, data=NO | {"symptoms": "yes", "csrf_token": "forged"})
    assert forged.status_code == 400
    unchanged(clinic, booking_id, before)
    assert check_of(clinic, booking_id).answered_at is None


@pytest.mark.parametrize(
    ("data", "wrong"),
    [
        ({"infection": "yes", "symptoms": "no"}, "injury"),  # not answered
        ({"infection": "yes", "injury": "maybe", "symptoms": "no"}, "injury"),
        ({"infection": "yes", "injury": "no", "symptoms": ""}, "symptoms"),
    ],
)
def test_incomplete_or_malformed_answers_are_explained_and_kept(
    clinic: Clinic, ida: Person, mailbox: Mailbox, data: dict[str, str], wrong: str
):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    before = load(clinic, booking_id)
    response = answer(clinic.web(), path, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please correct the field below" in html
    assert (
        f'<div id="{wrong}-error" class="invalid-feedback d-block">Answer yes or no.</div>' in html
    )
    # What was answered stays selected; the wrong one is not.
    assert checked(html, "infection") == ["yes"]
    assert checked(html, wrong) == []
    unchanged(clinic, booking_id, before)
    assert check_of(clinic, booking_id).answered_at is None
    assert audit_of(clinic, booking_id) == []


def test_a_cancelled_booking_s_link_refuses(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    web = clinic.web()
    token = csrf_token_from(web.get(path).get_data(as_text=True))
    with clinic.app.app_context():
        changes.cancel(
            db.session.get(Booking, booking_id),
            by=db.session.get(User, user_id(clinic, "admin@lindring.example")),
            reason="Anna is ill.",
            now=MON_11,
        )
        db.session.commit()

    page = web.get(path)
    assert page.status_code == 200
    assert "This session is cancelled, so there is nothing to answer." in page.get_data(
        as_text=True
    )
    refused = web.post(path, data=NO | {"csrf_token": token})
    assert refused.status_code == 409
    stored = check_of(clinic, booking_id)
    assert (stored.answered_at, stored.outcome) == (None, "")
    assert load(clinic, booking_id).cancel_reason == "Anna is ill."


def test_a_moved_booking_s_old_link_refuses_and_the_new_reminder_brings_a_new_one(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = book(clinic, ida)
    old_path = remind(clinic, mailbox, ida)
    web = clinic.web()
    token = csrf_token_from(web.get(old_path).get_data(as_text=True))
    new_start = local(WEDNESDAY, "10:00")
    with clinic.app.app_context():
        changes.reschedule(
            db.session.get(Booking, booking_id),
            by=db.session.get(User, user_id(clinic, "admin@lindring.example")),
            new_start=new_start,
            now=MON_11,
            timezone="Europe/Copenhagen",
        )
        db.session.commit()
    moved = load(clinic, booking_id)

    # Until the new reminder: the old link says the session moved, and takes no answer.
    page = web.get(old_path)
    assert page.status_code == 200
    assert "This session has moved since we sent this link" in page.get_data(as_text=True)
    refused = web.post(old_path, data=NO | {"symptoms": "yes", "csrf_token": token})
    assert refused.status_code == 409
    unchanged(clinic, booking_id, moved)

    # The reminder for the new time replaces the token: one check per booking, a new link.
    new_path = remind(clinic, mailbox, ida, at=local(TUESDAY, "11:00"))
    assert new_path != old_path
    assert web.get(old_path).status_code == 404
    with clinic.app.app_context():
        count = db.session.scalar(
            select(func.count()).where(PreVisitCheck.booking_id == booking_id)
        )
    assert count == 1
    assert check_of(clinic, booking_id).expires_at == new_start
    response = answer(web, new_path, NO | {"injury": "yes"})
    assert response.status_code == 200
    assert load(clinic, booking_id).status is BookingStatus.CANCELLED


def test_a_new_reminder_clears_the_answers_given_for_the_old_time(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = book(clinic, ida)
    path = remind(clinic, mailbox, ida)
    assert answer(clinic.web(), path, NO).status_code == 200
    with clinic.app.app_context():
        changes.reschedule(
            db.session.get(Booking, booking_id),
            by=db.session.get(User, user_id(clinic, "admin@lindring.example")),
            new_start=local(WEDNESDAY, "10:00"),
            now=MON_11,
            timezone="Europe/Copenhagen",
        )
        db.session.commit()
    new_path = remind(clinic, mailbox, ida, at=local(TUESDAY, "11:00"))
    stored = check_of(clinic, booking_id)
    assert (stored.answered_at, stored.answers, stored.outcome) == (None, {}, "")
    assert "Do you have a fever" in clinic.web().get(new_path).get_data(as_text=True)


# --- around the page ------------------------------------------------------------------------


def test_the_booking_page_can_tell_the_client_whether_the_check_is_answered(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = book(clinic, ida)

    def state() -> str | None:
        with clinic.app.test_request_context():
            return previsit_state(db.session.get(Booking, booking_id))

    assert state() is None  # no reminder yet
    path = remind(clinic, mailbox, ida)
    assert state() == "open"
    clinic.set_clock(TUE_10)
    assert state() == "missed"
    clinic.set_clock(MON_11)
    answer(clinic.web(), path, NO)
    assert state() == "answered"


def test_the_link_s_token_never_reaches_a_log(clinic: Clinic):
    path = "/visit-check/s3cretTokenValue-abcdefghijklmnopqrstuvwxyz01"
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '"GET %s HTTP/1.1" 200', (path,), None
    )
    for name in ("werkzeug", "gunicorn.access", "clinic.errors"):
        for log_filter in logging.getLogger(name).filters:
            log_filter.filter(record)
    assert record.getMessage() == '"GET /visit-check/[redacted] HTTP/1.1" 200'
