"""The 500s test_hostile_input.py found, each pinned by the request that caused it.

Page numbers and ids of 20 digits (no database column holds them), digits that `isdigit()`
accepts and `int()` refuses ("²"), and days at the ends of the calendar (0001-01-01 has no
midnight in UTC, 9999-12-31 no next day).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.auth.models import User
from clinic.auth.operations import issue_api_token
from clinic.booking import operations
from clinic.catalog.models import Technique
from clinic.extensions import db
from tests.support import MONDAY, Clinic, local, post_form

HUGE = "99999999999999999999"

# (admin page, what it must still show): each answered 500 before.
ADMIN_PAGES = [
    (f"/admin/users?page={HUGE}", "admin@lindring.example"),
    (f"/admin/clients?page={HUGE}", "Clients"),
    (f"/admin/techniques?page={HUGE}", "Sports massage"),
    (f"/admin/therapists?page={HUGE}", "Anna Holm"),
    (f"/admin/certifications?page={HUGE}", "Anna Holm"),
    (f"/admin/certifications?therapist={HUGE}", "Anna Holm"),
    ("/admin/certifications?therapist=²", "Anna Holm"),
    (f"/admin/emails?page={HUGE}", "mail"),
    (f"/admin/audit?page={HUGE}", "Audit"),
    (f"/admin/bookings?page={HUGE}", "Bookings"),
    ("/admin/bookings?day=0001-01-01", "That date could not be read"),
    ("/admin/bookings?day=9999-12-31", "That date could not be read"),
]


@pytest.mark.parametrize(("path", "shown"), ADMIN_PAGES)
def test_admin_lists_read_odd_numbers_and_days_as_none_given(clinic: Clinic, path, shown):
    response = clinic.staff("admin").get(path)
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)


def test_a_superscript_length_is_refused_beside_the_field(clinic: Clinic):
    admin = clinic.staff("admin")
    with clinic.app.app_context():
        technique = db.session.scalar(select(Technique).where(Technique.slug == "sports-massage"))
        tid, before = technique.id, [(o.duration_minutes, o.price_minor) for o in technique.options]
    page = f"/admin/techniques/{tid}"
    form = admin.get(page).get_data(as_text=True)
    assert 'name="duration_1"' in form
    response = post_form(admin, page, {"name": "Sports massage", "duration_1": "²³"})
    assert response.status_code == 200
    assert "Enter whole minutes from 5 to 240." in response.get_data(as_text=True)
    with clinic.app.app_context():
        technique = db.session.get(Technique, tid)
        assert [(o.duration_minutes, o.price_minor) for o in technique.options] == before


@pytest.fixture
def thursday_booking(clinic: Clinic, make_client):
    """Ida, logged in, with a session on Thursday at ten with Anna (far enough to move)."""
    ida = make_client("ida@example.com")
    with clinic.app.app_context():
        booking = operations.book(
            db.session.get(User, ida.id),
            operations.Request(
                "sports-massage", 60, clinic.ids["anna"], local(MONDAY + timedelta(days=3), "10:00")
            ),
            now=clinic.now(),
            timezone="Europe/Copenhagen",
        )
        db.session.commit()
        return ida, booking.id


@pytest.mark.parametrize("therapist", ["²", HUGE])
def test_moving_a_booking_to_an_odd_therapist_number(clinic: Clinic, thursday_booking, therapist):
    ida, booking_id = thursday_booking
    page = f"/bookings/{booking_id}/reschedule"
    shown = ida.web.get(f"{page}?therapist={therapist}")
    assert shown.status_code == 200
    assert "Anna Holm" in shown.get_data(as_text=True)  # the booking's own therapist, as now
    start = local(MONDAY + timedelta(days=3), "15:00").isoformat()
    moved = post_form(ida.web, page, {"start": start, "therapist": therapist})
    assert moved.status_code == 422
    with clinic.app.app_context():
        assert db.session.get(operations.Booking, booking_id).therapist_id == clinic.ids["anna"]


def test_the_api_refuses_odd_numbers_and_days_as_422(clinic: Clinic, thursday_booking):
    ida, _ = thursday_booking
    with clinic.app.app_context():
        token, _ = issue_api_token(
            db.session.get(User, ida.id), now=clinic.now(), max_age=timedelta(days=1)
        )
        db.session.commit()
    api = clinic.web()
    listed = api.get(
        "/api/v1/bookings?from=0001-01-01", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 422
    assert listed.json["problems"] == {"from": "a date as YYYY-MM-DD"}
    slots = api.get(
        "/api/v1/slots",
        query_string={
            "technique": "sports-massage",
            "duration": 60,
            "from": str(MONDAY),
            "to": str(MONDAY + timedelta(days=6)),
            "therapist": HUGE,
        },
    )
    assert slots.status_code == 422
    assert list(slots.json["problems"]) == ["therapist"]


# --- NUL characters: PostgreSQL cannot hold them, so every text field was a 500 there -------


def test_a_nul_in_a_form_is_refused_and_nothing_is_stored(app, client, demo):
    form = {
        "name": "Eve",
        "email": "eve\x00@example.com",
        "phone": "",
        "password": "correct horse battery staple",
        "confirm": "correct horse battery staple",
    }
    response = post_form(client, "/register", form)
    assert response.status_code == 400
    assert "That request did not make sense" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.name == "Eve")) is None


@pytest.mark.parametrize(
    "path",
    [
        "/techniques/sports%00massage",  # in the path
        "/api/v1/therapists?technique=sports%00massage",  # in the query
        "/therapists?x%00=1",  # in a parameter's name
    ],
)
def test_a_nul_in_the_address_is_refused(client, demo, path):
    assert client.get(path).status_code == 400


def test_a_nul_in_json_or_a_header_is_refused_as_json(client, demo):
    token = client.post("/api/v1/tokens", json={"email": "a\u0000@b", "password": "x"})
    assert token.status_code == 400
    assert token.json["error"] == "bad_request"
    nested = client.post("/api/v1/tokens", json={"email": "a@b", "password": ["x", {"k\0": 1}]})
    assert nested.status_code == 400
    bearer = client.get("/api/v1/bookings", headers={"Authorization": "Bearer abc\x00def"})
    assert bearer.status_code == 400
