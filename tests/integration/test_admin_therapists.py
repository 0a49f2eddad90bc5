"""Admins invite therapists by e-mail and deactivate them without dropping their bookings."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import Role, User
from clinic.booking.models import Booking, BookingStatus
from clinic.booking.staffing import bookings_needing_new_therapist
from clinic.catalog.models import Room, Therapist
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from tests.integration.test_booking import TUE_10, book, booked_id, params
from tests.integration.test_booking_changes import move
from tests.support import (
    DEMO_PASSWORD,
    NOW,
    Clinic,
    Mailbox,
    Person,
    count_queries,
    login,
    post_form,
)

PASSWORD = "lanterns over the harbour"


def invitation_link(mailbox: Mailbox, address: str) -> str:
    message = mailbox.to(address)[-1]
    assert message["Subject"] == "You are invited to Lindring: choose your password"
    match = re.search(r"http://localhost(/invitation/\S+)", Mailbox.body(message))
    assert match, Mailbox.body(message)
    assert match.group(1) in Mailbox.html(message)
    return match.group(1)


def invite(admin, name: str = "Eva Lund", email: str = "eva@example.com"):
    return post_form(admin, "/admin/therapists/invite", {"name": name, "email": email})


def accounts(clinic: Clinic) -> int:
    with clinic.app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_an_invited_therapist_gets_an_email_and_sets_a_password_once(
    clinic: Clinic, mailbox: Mailbox
):
    admin = clinic.staff("admin")
    response = invite(admin, email="Eva@Example.com")
    assert response.status_code == 302
    with clinic.app.app_context():
        user = User.by_email("eva@example.com")
        therapist = db.session.scalar(select(Therapist).where(Therapist.user_id == user.id))
        assert (user.name, user.role, user.active, therapist.active) == (
            "Eva Lund",
            Role.THERAPIST,
            True,
            True,
        )
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "therapist.invited")
        )
        assert (entry.subject_id, entry.detail) == (therapist.id, {"user_id": user.id})
    assert response.headers["Location"] == f"/admin/therapists/{therapist.id}"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not chosen yet" in page and "Send the invitation again" in page

    # Nobody can log in before the password is chosen, not even with an empty one.
    refused = post_form(clinic.web(), "/login", {"email": "eva@example.com", "password": "x"})
    assert refused.status_code == 200

    path = invitation_link(mailbox, "eva@example.com")
    eva = clinic.web()
    assert "Welcome, Eva Lund" in eva.get(path).get_data(as_text=True)
    weak = post_form(eva, path, {"password": "short", "confirm": "short"})
    assert weak.status_code == 200 and "Use at least 12 characters." in weak.get_data(as_text=True)
    done = post_form(eva, path, {"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    login(clinic.web(), "eva@example.com", PASSWORD)
    # The link worked once.
    again = clinic.web().get(path)
    assert again.status_code == 400 and "does not work" in again.get_data(as_text=True)
    with clinic.app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.action == "user.invitation_accepted", AuditEntry.actor_id == user.id
                )
            )
            == 1
        )


def test_a_new_invitation_voids_the_old_link(clinic: Clinic, mailbox: Mailbox):
    admin = clinic.staff("admin")
    therapist_url = invite(admin).headers["Location"]
    first = invitation_link(mailbox, "eva@example.com")
    resend = post_form(admin, therapist_url + "/invitation", {}, page=therapist_url)
    assert resend.status_code == 302
    assert len(mailbox.to("eva@example.com")) == 2
    second = invitation_link(mailbox, "eva@example.com")
    assert first != second
    assert clinic.web().get(first).status_code == 400
    eva = clinic.web()
    assert post_form(eva, second, {"password": PASSWORD, "confirm": PASSWORD}).status_code == 302
    # Once the password is chosen, there is nothing left to send.
    page = admin.get(therapist_url).get_data(as_text=True)
    assert "Send the invitation again" not in page
    late = post_form(admin, therapist_url + "/invitation", {}, page="/admin/techniques")
    assert "has chosen a password already" in admin.get(late.headers["Location"]).get_data(
        as_text=True
    )
    assert len(mailbox.to("eva@example.com")) == 2


@pytest.mark.parametrize(
    ("name", "email", "message"),
    [
        # a demo therapist's address, typed in capitals
        ("Anna Again", "ANNA@lindring.example", "An account with this e-mail address already"),
        # a client's address
        ("Client", "client@lindring.example", "An account with this e-mail address already"),
        # not an address
        ("Eva Lund", "eva-at-example", "Enter a valid e-mail address"),
        # no name
        ("", "eva@example.com", "Enter the therapist&#39;s name."),
    ],
)
def test_a_refused_invitation_keeps_the_input_and_sends_nothing(
    clinic: Clinic, mailbox: Mailbox, name, email, message
):
    admin = clinic.staff("admin")
    before = accounts(clinic)
    response = invite(admin, name=name, email=email)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert f'value="{email}"' in html
    assert accounts(clinic) == before
    with clinic.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert mailbox.messages == []


def test_deactivating_lists_the_future_bookings_and_leaves_them_in_place(
    clinic: Clinic, ida: Person
):
    first = booked_id(book(ida.web, params(clinic)))
    second = booked_id(book(ida.web, params(clinic, start=TUE_10 + timedelta(hours=4))))
    anna = clinic.staff("anna")
    admin = clinic.staff("admin")
    url = f"/admin/therapists/{clinic.ids['anna']}/deactivate"

    confirm = admin.get(url).get_data(as_text=True)
    assert "2 future bookings stay" in confirm
    for booking_id in (first, second):
        assert f"/bookings/{booking_id}/reschedule?therapist=any" in confirm
    with clinic.app.app_context():
        assert db.session.get(Therapist, clinic.ids["anna"]).active  # looking changes nothing

    done = post_form(admin, url, {})
    assert done.status_code == 302
    page = admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "2 future bookings are still on them" in page
    assert "Deactivated" in page
    for booking_id in (first, second):
        assert f"/bookings/{booking_id}/reschedule?therapist=any" in page
        assert f'href="/bookings/{booking_id}"' in page

    with clinic.app.app_context():
        therapist = db.session.get(Therapist, clinic.ids["anna"])
        assert (therapist.active, therapist.user.active) == (False, False)
        statuses = {b.id: b.status for b in db.session.scalars(select(Booking))}
        assert statuses == {first: BookingStatus.CONFIRMED, second: BookingStatus.CONFIRMED}
        assert [b.id for b in bookings_needing_new_therapist(NOW)] == [first, second]
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "therapist.deactivated")
        )
        assert entry.detail == {
            "user_id": therapist.user_id,
            "future_booking_ids": [first, second],
        }
    # Anna's open session ended and she cannot log in again.
    assert anna.get("/therapist/calendar").status_code == 302
    refused = post_form(
        clinic.web(), "/login", {"email": "anna@lindring.example", "password": DEMO_PASSWORD}
    )
    assert refused.status_code == 200
    # No longer offered to clients.
    assert "Anna" not in clinic.web().get("/therapists").get_data(as_text=True)
    assert (
        ida.web.get(
            "/book/confirm", query_string=params(clinic, start=TUE_10 + timedelta(hours=2))
        ).status_code
        == 422
    )
    # The move page offers colleagues for the booking.
    move = admin.get(f"/bookings/{first}/reschedule?therapist=any").get_data(as_text=True)
    assert "Clara" in move or "David" in move


def test_a_moved_booking_leaves_the_list_and_reactivation_restores_the_therapist(
    clinic: Clinic, ida: Person
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    other = booked_id(book(ida.web, params(clinic, start=TUE_10 + timedelta(days=1))))
    admin = clinic.staff("admin")
    base = f"/admin/therapists/{clinic.ids['anna']}"
    post_form(admin, base + "/deactivate", {})
    # The admin moves one session to Clara, at the same time, and cancels the other.
    moved = move(admin, booking_id, TUE_10, clinic.ids["clara"])
    assert moved.status_code == 302, moved.get_data(as_text=True)
    cancelled = post_form(
        admin,
        f"/bookings/{other}/cancel",
        {"reason": "Your therapist has left the clinic."},
        page=f"/bookings/{other}",
    )
    assert cancelled.status_code == 302
    with clinic.app.app_context():
        assert db.session.get(Booking, booking_id).therapist_id == clinic.ids["clara"]
        assert db.session.get(Booking, other).status is BookingStatus.CANCELLED
        assert bookings_needing_new_therapist(NOW) == []
    assert "No pending or confirmed bookings to come." in admin.get(base).get_data(as_text=True)
    assert post_form(admin, base + "/reactivate", {}, page=base).status_code == 302
    with clinic.app.app_context():
        therapist = db.session.get(Therapist, clinic.ids["anna"])
        assert (therapist.active, therapist.user.active) == (True, True)
    login(clinic.web(), "anna@lindring.example", DEMO_PASSWORD)


def test_the_list_of_bookings_needing_a_therapist_takes_the_same_statements(
    clinic: Clinic, make_client
):
    admin = clinic.staff("admin")
    post_form(admin, f"/admin/therapists/{clinic.ids['anna']}/deactivate", {})

    def needing() -> tuple[int, int]:
        with count_queries(clinic.app) as statements, clinic.app.app_context():
            found = bookings_needing_new_therapist(NOW)
            names = [(b.client.name, b.technique.name, b.therapist.user.name) for b in found]
        return len(names), len(statements)

    _, empty = needing()
    clients = [make_client(f"c{n}@example.com").id for n in range(4)]

    def add_bookings(which: range) -> None:
        with clinic.app.app_context():
            room = db.session.scalar(select(Room.id))
            for n in which:
                start = TUE_10 + timedelta(days=n)
                db.session.add(
                    Booking(
                        client_id=clients[n],
                        therapist_id=clinic.ids["anna"],
                        technique_id=clinic.ids["sports-massage"],
                        room_id=room,
                        starts_at=start,
                        ends_at=start + timedelta(hours=1),
                        duration_minutes=60,
                        price_minor=65000,
                    )
                )
            db.session.commit()

    add_bookings(range(1))
    one, few = needing()
    add_bookings(range(1, 4))
    four, many = needing()
    assert (one, four) == (1, 4)
    assert few == many
    assert empty <= few


def test_the_therapist_list_searches_sorts_and_pages_in_two_statements(
    clinic: Clinic, make_therapist, monkeypatch
):
    admin = clinic.staff("admin")
    names = lambda html: re.findall(r'href="/admin/therapists/\d+">([^<]+)</a>', html)  # noqa: E731
    assert names(admin.get("/admin/therapists").get_data(as_text=True)) == [
        "Anna Holm",
        "Bo Lindqvist",
        "Clara Nørgaard",
        "David Skov",
    ]
    found = admin.get("/admin/therapists?q=CLARA@").get_data(as_text=True)
    assert names(found) == ["Clara Nørgaard"] and "1 therapist matching" in found
    backwards = admin.get("/admin/therapists?sort=name&order=desc").get_data(as_text=True)
    assert names(backwards)[0] == "David Skov"
    assert 'aria-sort="descending"' in backwards
    odd = admin.get("/admin/therapists?sort=salary&page=-2").get_data(as_text=True)
    assert names(odd)[0] == "Anna Holm"  # an unknown sort or page falls back to the first

    monkeypatch.setattr("clinic.scheduling.views.THERAPISTS_PER_PAGE", 2)
    with count_queries(clinic.app) as few:
        first = admin.get("/admin/therapists").get_data(as_text=True)
    for n in range(6):
        make_therapist(email=f"t{n}@example.com", name=f"Zed {n}")
    with count_queries(clinic.app) as many:
        last = admin.get("/admin/therapists?page=5").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Page 5 of 5" in last
    assert names(last) == ["Zed 4", "Zed 5"]
    assert len(many) == len(few)
