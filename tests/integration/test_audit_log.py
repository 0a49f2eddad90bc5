"""The audit log: filtered by who, what, which thing, where from and when; append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, update

from clinic.audit.models import AuditEntry, AuditLogIsAppendOnly, record
from clinic.auth.models import User
from clinic.extensions import db
from clinic.screening.models import Screening
from tests.integration.test_booking_changes import book
from tests.support import Clinic, count_queries, user_id

pytestmark = pytest.mark.usefixtures("clinic")

ADMIN = "admin@lindring.example"


def add(clinic: Clinic, at: datetime, action: str, kind: str, subject: int | None, **kw) -> int:
    with clinic.app.app_context():
        entry = record(action, kind, subject, actor_id=kw.get("actor"), ip=kw.get("ip", ""))
        entry.at = at
        entry.detail = kw.get("detail", {})
        db.session.commit()
        return entry.id


@pytest.fixture
def log(clinic: Clinic) -> dict[str, int]:
    """A few entries around local midnight of 23 to 24 March 2027 (CET, UTC+1)."""
    admin = user_id(clinic, ADMIN)
    anna = user_id(clinic, "anna@lindring.example")
    return {
        # 23 March 23:30 local
        "late": add(
            clinic,
            datetime(2027, 3, 23, 22, 30, tzinfo=UTC),
            "booking.confirmed",
            "booking",
            7,
            actor=admin,
            ip="10.0.0.5",
            detail={"status": "confirmed", "note": "<b>bold</b>"},
        ),
        # 24 March 00:30 local
        "early": add(
            clinic,
            datetime(2027, 3, 23, 23, 30, tzinfo=UTC),
            "booking.cancelled",
            "booking",
            8,
            actor=anna,
            ip="192.0.2.9",
        ),
        "policy": add(
            clinic,
            datetime(2027, 3, 24, 9, 0, tzinfo=UTC),
            "policy.updated",
            "clinic_policy",
            1,
            actor=admin,
            ip="10.0.0.5",
        ),
        "cron": add(
            clinic, datetime(2027, 3, 24, 10, 0, tzinfo=UTC), "booking.expired", "booking", 7
        ),
    }


def ids_on(html: str, log: dict[str, int]) -> list[str]:
    """Which fixture entries a page lists, in its order (each has its own subject or action)."""
    marks = {
        "late": "booking.confirmed",
        "early": "booking.cancelled",
        "policy": "policy.updated",
        "cron": "booking.expired",
    }
    found = [(html.find(f"<code>{action}</code>"), name) for name, action in marks.items()]
    return [name for at, name in sorted(found) if at >= 0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["cron", "policy", "early", "late"]),  # newest first
        ({"actor": "ANNA"}, ["early"]),  # part of a name, any case
        ({"actor": "admin@lindring"}, ["policy", "late"]),  # part of an e-mail
        ({"actor": "system"}, ["cron"]),  # the cron commands act as nobody
        ({"action": "booking."}, ["cron", "early", "late"]),  # a whole area
        ({"action": "booking.cancelled"}, ["early"]),
        ({"subject_type": "booking", "subject_id": "7"}, ["cron", "late"]),  # one booking's history
        ({"ip": "10.0.0.5"}, ["policy", "late"]),
        ({"day_from": "2027-03-24"}, ["cron", "policy", "early"]),  # 00:30 local is the 24th
        ({"day_to": "2027-03-23"}, ["late"]),  # 23:30 local is still the 23rd
        (
            {"day_from": "2027-03-24", "day_to": "2027-03-24", "action": "booking."},
            ["cron", "early"],
        ),
    ],
)
def test_filters(clinic: Clinic, log, query, expected):
    html = clinic.staff("admin").get("/admin/audit", query_string=query).get_data(as_text=True)
    assert ids_on(html, log) == expected
    assert f"{len(expected)} {'entry' if len(expected) == 1 else 'entries'}" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"subject_id": "abc"}, "Not a valid integer value."),
        ({"subject_id": "-4"}, "A number above 0."),
        ({"subject_id": "99999999999"}, "A number above 0."),
        ({"ip": "drop table"}, "An IP address."),
        ({"action": "' OR 1=1 --"}, "Choose an action from the list."),
        ({"subject_type": "<script>"}, "Choose from the list."),
        ({"day_from": "2027-13-45"}, "Not a valid date value."),
        (
            {"day_from": "2027-03-24", "day_to": "2027-03-23"},
            "The last day comes before the first.",
        ),
    ],
)
def test_bad_filters_say_why_keep_what_was_typed_and_list_nothing(
    clinic: Clinic, log, query, message
):
    response = clinic.staff("admin").get("/admin/audit", query_string=query)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html and "Please correct" in html
    assert ids_on(html, log) == []
    assert "<script>" not in html
    for name in {"subject_id", "ip", "day_from"} & query.keys():
        assert f'value="{query[name]}"' in html  # what was typed stays in the field


def test_entries_show_who_when_where_and_escape_their_details(clinic: Clinic, log):
    html = clinic.staff("admin").get("/admin/audit").get_data(as_text=True)
    assert "23 March 2027, 23:30 CET" in html and "24 March 2027, 00:30 CET" in html
    assert "Clinic Admin" in html and "(admin)" in html and "192.0.2.9" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    assert 'href="/bookings/7"' in html  # a booking's entry opens the booking
    assert 'href="/admin/audit?subject_type=booking&amp;subject_id=7"' in html


def test_the_log_is_paged_in_a_fixed_number_of_statements(clinic: Clinic, log, monkeypatch):
    monkeypatch.setattr("clinic.admin.audit_views.PAGE_SIZE", 2)
    admin = clinic.staff("admin")
    first = admin.get("/admin/audit").get_data(as_text=True)
    assert ids_on(first, log) == ["cron", "policy"] and "Page 1 of 2" in first
    second = admin.get("/admin/audit?page=2").get_data(as_text=True)
    assert ids_on(second, log) == ["early", "late"]
    with count_queries(clinic.app) as few:
        admin.get("/admin/audit")
    for n in range(30):
        add(clinic, datetime(2027, 3, 1, tzinfo=UTC), "room.added", "room", n)
    with count_queries(clinic.app) as many:
        assert "Page 1 of 17" in admin.get("/admin/audit").get_data(as_text=True)
    assert len(many) == len(few)


def test_no_route_can_change_the_log(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


def test_stored_entries_cannot_be_changed_or_deleted(clinic: Clinic, log):
    with clinic.app.app_context():
        entry = db.session.get(AuditEntry, log["late"])
        entry.action = "booking.nothing_happened"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()

        db.session.delete(db.session.get(AuditEntry, log["late"]))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()

        with pytest.raises(AuditLogIsAppendOnly):
            db.session.execute(update(AuditEntry).values(ip=""))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.execute(delete(AuditEntry))
        db.session.rollback()

        # Adding goes on as before, and nothing above reached the database.
        record("room.added", "room", 1, actor_id=None)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 5
        late = db.session.get(AuditEntry, log["late"])
        assert late.action == "booking.confirmed" and late.ip == "10.0.0.5"
        assert db.session.scalar(select(User).where(User.email == ADMIN)).id == late.actor_id


def test_a_booking_and_a_screening_link_their_history_for_admins_only(clinic: Clinic, make_client):
    ida = make_client("ida@example.com")
    booking_id = book(clinic, ida)
    history = f"/admin/audit?subject_type=booking&amp;subject_id={booking_id}"
    assert history in clinic.staff("admin").get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert history not in ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "/admin/audit" not in clinic.staff("anna").get(f"/bookings/{booking_id}").get_data(
        as_text=True
    )
    with clinic.app.app_context():
        screening_id = db.session.scalar(select(Screening.id).where(Screening.client_id == ida.id))
    page = clinic.staff("admin").get(f"/admin/screenings/{screening_id}").get_data(as_text=True)
    assert f"/admin/audit?subject_type=screening&amp;subject_id={screening_id}" in page
