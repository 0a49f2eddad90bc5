"""The admin area as a whole: every page kept from others, the start page's decisions, failed
e-mails retried at a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.notify.outbox import MAX_ATTEMPTS
from tests.support import MONDAY, NOW, Clinic, count_queries, csrf_token_from, local, login, screen

TUESDAY_10 = local(MONDAY + timedelta(days=1), "10:00")

pytestmark = pytest.mark.usefixtures("clinic")


def admin_rules(app):
    """Every route under /admin, with a path that fills its arguments."""
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        values = {}
        for name, converter in rule._converters.items():
            mapping = getattr(converter, "items", None)
            values[name] = next(iter(mapping)) if mapping else 1
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<[^>]*\b{name}>", str(value), path)
        rules.append((rule.endpoint, path, rule.methods - {"HEAD", "OPTIONS"}))
    return rules


def test_every_admin_page_refuses_clients_and_therapists_and_sends_others_to_log_in(
    clinic: Clinic, make_user
):
    make_user(email="someone@example.com")
    visitors = {"client": clinic.web(), "therapist": clinic.staff("anna")}
    login(visitors["client"], "someone@example.com")
    anonymous = clinic.web()
    tokens = {
        "client": csrf_token_from(visitors["client"].get("/account").get_data(as_text=True)),
        "therapist": csrf_token_from(visitors["therapist"].get("/account").get_data(as_text=True)),
        "anonymous": csrf_token_from(anonymous.get("/login").get_data(as_text=True)),
    }
    with clinic.app.app_context():
        audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    rules = admin_rules(clinic.app)
    assert len(rules) >= 25  # the walk found the admin area, not an empty list
    checked = 0
    for endpoint, path, methods in rules:
        for method in sorted(methods):
            for who, web in (*visitors.items(), ("anonymous", anonymous)):
                data = {"csrf_token": tokens[who]} if method == "POST" else None
                response = web.open(path, method=method, data=data)
                where = (endpoint, method, path, who, response.status_code)
                if who == "anonymous":
                    assert response.status_code == 302, where
                    assert response.headers["Location"].startswith("/login?next="), where
                else:
                    assert response.status_code == 403, where
                    assert "Not for you" in response.get_data(as_text=True), where
                checked += 1
    assert checked >= 3 * len(rules)
    with clinic.app.app_context():
        audit_after = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert audit_after == audit_before  # nobody was let in far enough to change anything


def _pending_booking(clinic: Clinic, make_client) -> int:
    from tests.integration.test_booking_changes import book

    eva = make_client("eva@example.com", yes=("pregnancy",))  # needs a review: held
    booking_id = book(clinic, eva, TUESDAY_10)
    with clinic.app.app_context():
        assert db.session.get(Booking, booking_id).status is BookingStatus.PENDING
    return booking_id


def _failed_email(clinic: Clinic, attempts: int, to: str = "lost@example.com") -> int:
    with clinic.app.app_context():
        message = OutboxMessage(
            to_address=to,
            subject="Your booking is confirmed",
            body_text="Hello",
            attempts=attempts,
            last_error="SMTPServerDisconnected: Connection unexpectedly closed",
            next_attempt_at=NOW + timedelta(hours=1),
        )
        db.session.add(message)
        db.session.commit()
        return message.id


def test_the_start_page_shows_what_needs_a_decision_with_ages(clinic: Clinic, make_client):
    admin = clinic.staff("admin")
    calm = admin.get("/admin/").get_data(as_text=True)
    assert "Nothing waits for a decision." in calm

    booking_id = _pending_booking(clinic, make_client)  # Eva, screened at NOW: waits
    make_client("olaf@example.com", yes=("rf_trauma",))  # urgent
    old = make_client("old@example.com", screened=False)
    screen(clinic.app, old.id, ("rf_trauma",), now=NOW - timedelta(days=15))  # urgent, long ago
    _failed_email(clinic, attempts=MAX_ATTEMPTS)
    clinic.set_clock(NOW + timedelta(hours=3, minutes=10))

    html = admin.get("/admin/").get_data(as_text=True)
    assert "Nothing waits for a decision." not in html
    review = html[html.index('id="today-review"') : html.index('id="today-pending"')]
    assert re.search(r"Screenings to review <span[^>]*>1<", review)
    assert "Eva" in review and "waiting 3 hours" in review
    pending = html[html.index('id="today-pending"') : html.index('id="today-emails"')]
    assert f'href="/bookings/{booking_id}"' in pending
    assert "23 March 2027, 10:00 CET" in pending and "Sports massage with Anna" in pending.replace(
        "\n", " "
    )
    urgent = html[html.index('id="today-urgent"') : html.index('id="today-review"')]
    assert re.search(r"Urgent screenings <span[^>]*>1<", urgent)
    assert "Olaf" in urgent and "Old" not in urgent  # two weeks on, it has left the page
    emails = html[html.index('id="today-emails"') :]
    assert "lost@example.com" in emails and "given up" in emails
    assert 'href="/admin/emails"' in emails and 'href="/admin/audit"' in html


def test_the_start_page_reads_a_fixed_number_of_statements(clinic: Clinic, make_client):
    admin = clinic.staff("admin")
    _pending_booking(clinic, make_client)
    _failed_email(clinic, attempts=1)
    with count_queries(clinic.app) as few:
        admin.get("/admin/")
    for n in range(8):
        make_client(f"wait{n}@example.com", yes=("pregnancy",))
        _failed_email(clinic, attempts=2, to=f"lost{n}@example.com")
    with count_queries(clinic.app) as many:
        html = admin.get("/admin/").get_data(as_text=True)
    assert re.search(r"Screenings to review <span[^>]*>9<", html)
    assert len(many) == len(few)


def test_a_failed_email_is_retried_at_the_real_server(clinic: Clinic, mailbox):
    admin = clinic.staff("admin")
    message_id = _failed_email(clinic, attempts=MAX_ATTEMPTS)
    page = admin.get("/admin/emails").get_data(as_text=True)
    assert "lost@example.com" in page and "given up" in page
    assert "Connection unexpectedly closed" in page

    # Without the form's token nothing happens.
    assert admin.post(f"/admin/emails/{message_id}/retry").status_code == 400
    mailbox.accept = False
    response = admin.post(
        f"/admin/emails/{message_id}/retry", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302
    assert "It failed again" in admin.get("/admin/emails").get_data(as_text=True)
    with clinic.app.app_context():
        again = db.session.get(OutboxMessage, message_id)
        assert again.sent_at is None and again.attempts == MAX_ATTEMPTS
        assert "451" in again.last_error

    mailbox.accept = True
    admin.post(f"/admin/emails/{message_id}/retry", data={"csrf_token": csrf_token_from(page)})
    assert "The e-mail was sent." in admin.get("/admin/emails").get_data(as_text=True)
    [sent] = mailbox.to("lost@example.com")
    assert sent["Subject"] == "Your booking is confirmed"
    with clinic.app.app_context():
        assert db.session.get(OutboxMessage, message_id).sent_at is not None
        actions = db.session.execute(
            select(AuditEntry.action, AuditEntry.subject_id).where(
                AuditEntry.subject_type == "outbox_message"
            )
        ).all()
    assert actions == [("email.retried", message_id)] * 2
    assert "Every e-mail went out." in admin.get("/admin/emails").get_data(as_text=True)
    unknown = admin.post("/admin/emails/999999/retry", data={"csrf_token": csrf_token_from(page)})
    assert unknown.status_code == 404


def test_the_start_page_lists_certificates_running_out_and_sessions_left_without_a_therapist(
    clinic: Clinic, make_client
):
    from tests.integration.test_booking_changes import book

    ida = make_client("ida@example.com")
    with_anna = book(clinic, ida, TUESDAY_10, "anna", "sports-massage")
    with_bo = book(clinic, ida, local(MONDAY + timedelta(days=2), "14:00"), "bo", "classic-massage")
    with clinic.app.app_context():
        anna = db.session.get(Therapist, clinic.ids["anna"])
        [cert] = [c for c in anna.certifications if c.technique.slug == "sports-massage"]
        cert.valid_until = MONDAY  # Tuesday's session falls after it
        db.session.get(Therapist, clinic.ids["bo"]).active = False
        db.session.commit()

    html = clinic.staff("admin").get("/admin/").get_data(as_text=True)
    orphaned = html[html.index('id="today-orphaned"') : html.index('id="today-review"')]
    assert re.search(r"Sessions without a therapist <span[^>]*>1<", orphaned)
    assert f'href="/bookings/{with_bo}"' in orphaned
    assert f'href="/bookings/{with_bo}/reschedule?therapist=any"' in orphaned
    certificates = html[html.index('id="today-certificates"') : html.index('id="today-emails"')]
    assert "1 booked session falls after the therapist" in certificates
    assert f'href="/bookings/{with_anna}"' in certificates
    assert "Sports massage: valid until Monday 22 March 2027" in certificates
    assert 'href="/admin/certifications/expiry"' in certificates
