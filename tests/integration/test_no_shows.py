"""No-shows and late cancellations, counted per client: the admins' clients page, the late mark
on the staff's cancel form, and the policy that makes the clinic confirm the bookings of a
client who missed sessions.

The clock starts on Monday 22 March 2027, 07:00 in Copenhagen (CET), with the demo clinic.
Bookings are Anna's sports massage on Tuesday at 10:00, 27 hours ahead: the client's cut-off is
Monday 10:00. Past sessions are written to the database by hand, with known outcomes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from clinic.booking.attendance import MISSED_SESSIONS_NOTICE
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import Room
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.scheduling.models import ClinicPolicy
from tests.integration.test_availability_admin import error_beside
from tests.integration.test_booking import book, booked_id, flashed, params, post_on_page
from tests.integration.test_booking_changes import expire, review, screening_of, subjects
from tests.integration.test_frozen_policies import DEMO_POLICY, save_policies
from tests.support import (
    MONDAY,
    Clinic,
    Mailbox,
    Person,
    claims_of,
    count_queries,
    load,
    local,
    post_form,
)

TUE_10 = local(MONDAY + timedelta(days=1), "10:00")
BEFORE_CUTOFF = local(MONDAY, "09:30")
AFTER_CUTOFF = local(MONDAY, "10:30")
MISSED = "Because of missed sessions, the clinic confirms this booking"
LATE_BOX = "The client cancelled late (counts against them)"


def past_session(
    clinic: Clinic, client_id: int, status: BookingStatus, days_ago: int, *, late: bool = False
) -> None:
    """A session `days_ago` days before Monday at 10:00, with the outcome given."""
    start = local(MONDAY - timedelta(days=days_ago), "10:00")
    with clinic.app.app_context():
        room = db.session.scalar(select(Room.id).order_by(Room.id).limit(1))
        cancelled = status is BookingStatus.CANCELLED
        db.session.add(
            Booking(
                client_id=client_id,
                therapist_id=clinic.ids["anna"],
                technique_id=clinic.ids["sports-massage"],
                room_id=room,
                starts_at=start,
                ends_at=start + timedelta(minutes=60),
                duration_minutes=60,
                price_minor=650_00,
                status=status,
                late_cancellation=late,
                cancelled_at=start - timedelta(hours=2) if cancelled else None,
                created_at=start - timedelta(days=7),
            )
        )
        db.session.commit()


def no_shows(clinic: Clinic, person: Person, count: int) -> None:
    for n in range(count):
        past_session(clinic, person.id, BookingStatus.NO_SHOW, days_ago=3 + n)


# --- the clients page -----------------------------------------------------------------------

ROW_RE = re.compile(r'<tr data-client="(\d+)">(.*?)</tr>', re.S)
COUNT_RE = re.compile(r'data-count="(\w+)">(\d+)<')


def client_rows(web: FlaskClient, **query: object) -> list[tuple[str, dict[str, object]]]:
    """The clients page's rows as (name, {column: value}), in the order shown."""
    response = web.get("/admin/clients", query_string=query)
    assert response.status_code == 200
    rows = []
    for _, cells in ROW_RE.findall(response.get_data(as_text=True)):
        texts = [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td.*?</td>", cells, re.S)
        ]
        values: dict[str, object] = {k: int(v) for k, v in COUNT_RE.findall(cells)}
        values["email"], values["last_visit"] = texts[1], texts[6]
        rows.append((texts[0], values))
    return rows


@pytest.fixture
def regulars(clinic: Clinic, ida: Person, make_client) -> dict[str, Person]:
    """Ida: 2 completed, 1 no-show, 1 late and 1 ordinary cancellation, 1 upcoming.
    Eva: 3 no-shows. Ole: nothing yet."""
    eva, ole = make_client("eva@example.com"), make_client("ole@example.com")
    past_session(clinic, ida.id, BookingStatus.COMPLETED, days_ago=20)
    past_session(clinic, ida.id, BookingStatus.COMPLETED, days_ago=10)
    past_session(clinic, ida.id, BookingStatus.NO_SHOW, days_ago=5)
    past_session(clinic, ida.id, BookingStatus.CANCELLED, days_ago=4, late=True)
    past_session(clinic, ida.id, BookingStatus.CANCELLED, days_ago=3)
    booked_id(book(ida.web, params(clinic)))
    no_shows(clinic, eva, 3)
    return {"ida": ida, "eva": eva, "ole": ole}


def test_the_clients_page_counts_each_clients_sessions(clinic: Clinic, regulars):
    admin = clinic.staff("admin")
    rows = dict(client_rows(admin))
    assert rows["Ida"] == {
        "bookings": 6,
        "completed": 2,
        "no_shows": 1,
        "late": 1,
        "email": "ida@example.com",
        "last_visit": "Friday 12 March 2027",
    }
    assert rows["Eva"] == {
        "bookings": 3,
        "completed": 0,
        "no_shows": 3,
        "late": 0,
        "email": "eva@example.com",
        "last_visit": "—",
    }
    assert rows["Ole"]["bookings"] == 0 and rows["Ole"]["last_visit"] == "—"
    # Clients only: the demo client is one, the staff are not.
    assert set(rows) == {"Ida", "Eva", "Ole", "Demo Client"}

    by_no_shows = [name for name, _ in client_rows(admin, sort="no_shows")]
    assert by_no_shows[:2] == ["Eva", "Ida"]
    assert client_rows(admin, sort="late")[0][0] == "Ida"


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("IDA", ["Ida"]),  # the name, ignoring case
        ("eva@exa", ["Eva"]),  # part of the e-mail
        ("example.com", ["Eva", "Ida", "Ole"]),
        ("_", []),  # a LIKE wildcard is searched for as itself
        ("%", []),
    ],
)
def test_the_clients_page_searches_by_name_or_e_mail(clinic: Clinic, regulars, search, found):
    assert [name for name, _ in client_rows(clinic.staff("admin"), q=search)] == found


def test_the_clients_page_is_paged(clinic: Clinic, regulars, monkeypatch):
    monkeypatch.setattr("clinic.admin.views.PAGE_SIZE", 3)
    admin = clinic.staff("admin")
    first = admin.get("/admin/clients").get_data(as_text=True)
    assert "Page 1 of 2" in first and "4 clients" in first
    names = [name for name, _ in client_rows(admin)]
    assert names == ["Demo Client", "Eva", "Ida"]
    assert [name for name, _ in client_rows(admin, page=2)] == ["Ole"]
    assert client_rows(admin, page=9) == []


def test_the_clients_page_takes_the_same_queries_for_many_clients(
    clinic: Clinic, ida: Person, make_client
):
    admin = clinic.staff("admin")
    with count_queries(clinic.app) as few:
        assert len(client_rows(admin)) == 2
    for n in range(5):
        other = make_client(f"client{n}@example.com")
        past_session(clinic, other.id, BookingStatus.COMPLETED, days_ago=4)
        past_session(clinic, other.id, BookingStatus.NO_SHOW, days_ago=2)
    with count_queries(clinic.app) as many:
        assert len(client_rows(admin)) == 7
    assert len(many) == len(few)


def test_the_dashboard_links_the_clients_page(clinic: Clinic):
    dashboard = clinic.staff("admin").get("/admin/").get_data(as_text=True)
    assert 'href="/admin/clients"' in dashboard


@pytest.mark.parametrize("who", ["client", "anna"])
def test_the_clients_page_is_for_admins_only(clinic: Clinic, who):
    web = clinic.web()
    if who == "client":
        post_form(web, "/login", {"email": "client@lindring.example", "password": "demo-password"})
    else:
        web = clinic.staff(who)
    assert web.get("/admin/clients").status_code == 403


# --- booking again after missed sessions ----------------------------------------------------


@pytest.mark.parametrize(
    ("missed", "threshold", "status"),
    [
        (3, 0, BookingStatus.CONFIRMED),  # the review is off
        (1, 2, BookingStatus.CONFIRMED),  # below the threshold
        (2, 2, BookingStatus.PENDING),  # at it
        (4, 2, BookingStatus.PENDING),  # above it
    ],
)
def test_a_client_with_enough_no_shows_books_pending(
    clinic: Clinic, ida: Person, missed, threshold, status
):
    no_shows(clinic, ida, missed)
    past_session(clinic, ida.id, BookingStatus.COMPLETED, days_ago=30)  # not counted
    save_policies(clinic, no_show_review_threshold=threshold)
    confirm = ida.web.get("/book/confirm", query_string=params(clinic)).get_data(as_text=True)
    assert (MISSED in confirm) is (status is BookingStatus.PENDING)
    booking_id = booked_id(book(ida.web, params(clinic)))
    assert load(clinic, booking_id).status is status


def test_the_clinic_confirms_the_booking_of_a_client_who_missed_sessions(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    no_shows(clinic, ida, 2)
    save_policies(clinic, no_show_review_threshold=2)
    response = book(ida.web, params(clinic))
    booking_id = booked_id(response)
    page = unescape(flashed(ida.web, response))
    assert MISSED_SESSIONS_NOTICE in page  # the flash
    assert f"{MISSED}. The time is held until then" in page  # the booking's own page
    assert load(clinic, booking_id).status is BookingStatus.PENDING
    assert len(claims_of(clinic, booking_id)) == 30  # the time is held meanwhile

    [held] = mailbox.to(ida.email)
    assert held["Subject"] == "Your booking is held: we confirm it after a review"
    assert MISSED in Mailbox.body(held) and MISSED in unescape(Mailbox.html(held))
    to_anna = Mailbox.body(mailbox.to("anna@lindring.example")[0])
    assert "held with you until the clinic confirms it" in to_anna
    assert "missed" not in to_anna  # the therapist is not told about the client's record

    admin = clinic.staff("admin")
    [(name, _)] = client_rows(admin, q="ida")
    assert name == "Ida Bookings need confirming"  # the clients page shows who is held
    pending = admin.get("/admin/bookings", query_string={"status": "pending"})
    assert f'data-booking="{booking_id}"' in pending.get_data(as_text=True)
    mailbox.messages.clear()
    response = post_on_page(admin, f"/bookings/{booking_id}", f"/bookings/{booking_id}/confirm")
    assert "The booking is confirmed" in flashed(admin, response)
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED
    assert subjects(mailbox, ida.email) == ["Your booking is confirmed"]
    assert MISSED not in ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)


def test_approving_the_screening_does_not_confirm_a_booking_held_for_missed_sessions(
    clinic: Clinic, make_client, mailbox: Mailbox
):
    eva = make_client("eva@example.com", yes=("pregnancy",))  # needs a review as well
    no_shows(clinic, eva, 2)
    save_policies(clinic, no_show_review_threshold=2)
    booking_id = booked_id(book(eva.web, params(clinic)))
    assert load(clinic, booking_id).status is BookingStatus.PENDING

    review(clinic, screening_of(clinic, eva), "approve", ["sports-massage"])
    assert load(clinic, booking_id).status is BookingStatus.PENDING
    assert "Your booking is confirmed" not in subjects(mailbox, eva.email)

    admin = clinic.staff("admin")
    post_on_page(admin, f"/bookings/{booking_id}", f"/bookings/{booking_id}/confirm")
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED


def test_a_held_booking_nobody_confirmed_expires_with_a_fitting_e_mail(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    no_shows(clinic, ida, 2)
    save_policies(clinic, no_show_review_threshold=2)
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(AFTER_CUTOFF)  # within 24 hours of the start
    assert "Expired 1 pending booking(s)" in expire(clinic)
    assert load(clinic, booking_id).status is BookingStatus.CANCELLED
    with clinic.app.app_context():
        body = db.session.scalar(
            select(OutboxMessage.body_text).where(
                OutboxMessage.subject == "Your held booking has expired"
            )
        )
    assert "the clinic did not confirm it in time" in body
    assert "screening" not in body


# --- late cancellations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "now", "offered"),
    [
        ("admin", BEFORE_CUTOFF, False),  # the client may still cancel themselves
        ("admin", AFTER_CUTOFF, True),
        ("anna", AFTER_CUTOFF, True),  # the session's therapist
        ("client", BEFORE_CUTOFF, False),  # the client's own form has no such box
    ],
)
def test_the_late_box_is_offered_to_staff_after_the_clients_cut_off(
    clinic: Clinic, ida: Person, who, now, offered
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(now)
    web = ida.web if who == "client" else clinic.staff(who)
    page = web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Cancel booking" in page
    assert (LATE_BOX in page) is offered


@pytest.mark.parametrize("late", [True, False])
def test_staff_count_a_cancellation_after_the_cut_off_as_late_when_they_say_so(
    clinic: Clinic, ida: Person, late
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(AFTER_CUTOFF)
    admin = clinic.staff("admin")
    data = {"reason": "Called at 10:15 to cancel.", **({"late": "y"} if late else {})}
    response = post_on_page(
        admin, f"/bookings/{booking_id}", f"/bookings/{booking_id}/cancel", data
    )
    shown = flashed(admin, response)
    assert ("counted as a late cancellation" in shown) is late
    booking = load(clinic, booking_id)
    assert booking.status is BookingStatus.CANCELLED
    assert booking.late_cancellation is late
    [(_, ida_row)] = client_rows(admin, q="ida")
    assert ida_row["late"] == (1 if late else 0)


@pytest.mark.parametrize("now", [BEFORE_CUTOFF, AFTER_CUTOFF])
def test_a_client_cannot_mark_their_own_cancellation_late(clinic: Clinic, ida: Person, now):
    """The box is not on the client's form; a hand-made POST with it is refused."""
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(now)
    response = post_on_page(
        ida.web, f"/bookings/{booking_id}", f"/bookings/{booking_id}/cancel", {"late": "y"}
    )
    assert response.status_code == 302
    booking = load(clinic, booking_id)
    assert not booking.late_cancellation
    assert booking.status is BookingStatus.CONFIRMED


# --- the policies page ----------------------------------------------------------------------


def test_the_admin_sets_the_no_show_review_and_the_waitlist_claim_time(clinic: Clinic):
    admin = clinic.staff("admin")
    page = unescape(admin.get("/admin/policies").get_data(as_text=True))
    assert "0 turns this off" in page and "from 15 minutes to 24 hours" in page
    response = post_form(
        admin,
        "/admin/policies",
        {**DEMO_POLICY, "no_show_review_threshold": "3", "waitlist_claim_minutes": "45"},
    )
    assert response.status_code == 302
    with clinic.app.app_context():
        policy = ClinicPolicy.current()
        assert (policy.no_show_review_threshold, policy.waitlist_claim_minutes) == (3, 45)
    page = admin.get("/admin/policies").get_data(as_text=True)
    assert re.search(r'id="no_show_review_threshold"[^>]*value="3"', page)

    # A form from before these settings existed leaves them as they are.
    new = ("waitlist_claim_minutes", "no_show_review_threshold")
    older = {k: v for k, v in DEMO_POLICY.items() if k not in new}
    assert post_form(admin, "/admin/policies", {**older, "horizon_days": "60"}).status_code == 302
    with clinic.app.app_context():
        policy = ClinicPolicy.current()
        assert (policy.horizon_days, policy.no_show_review_threshold) == (60, 3)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("no_show_review_threshold", "21", "Give a whole number from 0 to 20."),
        ("no_show_review_threshold", "-1", "Give a whole number from 0 to 20."),
        ("no_show_review_threshold", "", "Give a whole number from 0 to 20."),  # required
        ("no_show_review_threshold", "two", "Give a whole number from 0 to 20."),
        ("no_show_review_threshold", "2.5", "Give a whole number from 0 to 20."),
        ("waitlist_claim_minutes", "14", "Give a whole number from 15 to 1440."),
        ("waitlist_claim_minutes", "1441", "Give a whole number from 15 to 1440."),
    ],
)
def test_the_policies_page_refuses_out_of_range_values_and_keeps_the_input(
    clinic: Clinic, field, value, message
):
    admin = clinic.staff("admin")
    before = _stored_policy(clinic)
    data = {**DEMO_POLICY, "cancellation_cutoff_hours": "36", field: value}
    response = post_form(admin, "/admin/policies", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert error_beside(html, field) == message
    assert "Please correct the field below" in html
    assert re.search(rf'id="{field}"[^>]*value="{re.escape(value)}"', html) or value == ""
    assert re.search(r'id="cancellation_cutoff_hours"[^>]*value="36"', html)  # kept too
    assert _stored_policy(clinic) == before


def _stored_policy(clinic: Clinic) -> tuple[int, int, int]:
    with clinic.app.app_context():
        policy = ClinicPolicy.current()
        return (
            policy.cancellation_cutoff_hours,
            policy.waitlist_claim_minutes,
            policy.no_show_review_threshold,
        )
