"""Admins keep therapists' certificates; the warning lists are checked on known dates.

The clinic is seeded on Monday 22 March 2027 (tests/support.py MONDAY); the demo certificates
run until 19 February 2029, David's trigger point one ran out on 20 February 2027.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.booking.staffing import bookings_after_expiry
from clinic.catalog.expiry import expiring_certifications
from clinic.catalog.models import Certification
from clinic.extensions import db
from tests.integration.test_booking import TUE_10, book, booked_id, params
from tests.support import MONDAY, NOW, Clinic, Person, count_queries, post_form


def cert_id(clinic: Clinic, therapist: str, technique: str) -> int:
    with clinic.app.app_context():
        return db.session.scalar(
            select(Certification.id).where(
                Certification.therapist_id == clinic.ids[therapist],
                Certification.technique_id == clinic.ids[technique],
            )
        )


def form_of(clinic: Clinic, certification_id: int, **changes: object) -> dict[str, object]:
    with clinic.app.app_context():
        c = db.session.get(Certification, certification_id)
        data = {
            "therapist": c.therapist_id,
            "technique": c.technique_id,
            "body": c.body,
            "number": c.number,
            "valid_from": c.valid_from.isoformat(),
            "valid_until": c.valid_until.isoformat(),
            "document_ref": c.document_ref,
        }
    return {**data, **changes}


def set_until(clinic: Clinic, admin, therapist: str, technique: str, until: date) -> None:
    cid = cert_id(clinic, therapist, technique)
    response = post_form(
        admin, f"/admin/certifications/{cid}", form_of(clinic, cid, valid_until=until.isoformat())
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def stored(clinic: Clinic) -> list[tuple]:
    with clinic.app.app_context():
        return [
            (
                c.therapist_id,
                c.technique_id,
                c.body,
                c.number,
                c.valid_from,
                c.valid_until,
                c.document_ref,
            )
            for c in db.session.scalars(select(Certification).order_by(Certification.id))
        ]


def test_an_admin_adds_edits_and_deletes_a_certificate(clinic: Clinic):
    admin = clinic.staff("admin")
    new = {
        "therapist": clinic.ids["bo"],
        "technique": clinic.ids["sports-massage"],
        "body": "Nordic Sports Massage School",
        "number": "NSM-77",
        "valid_from": "2027-01-01",
        "valid_until": "2028-12-31",
        "document_ref": "archive/bo/nsm-77.pdf",
    }
    form = admin.get(f"/admin/certifications/new?therapist={clinic.ids['bo']}").get_data(
        as_text=True
    )
    assert f'<option selected value="{clinic.ids["bo"]}">' in form
    response = post_form(admin, "/admin/certifications/new", new)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/therapists/{clinic.ids['bo']}"
    cid = cert_id(clinic, "bo", "sports-massage")
    assert stored(clinic)[-1] == (
        clinic.ids["bo"],
        clinic.ids["sports-massage"],
        "Nordic Sports Massage School",
        "NSM-77",
        date(2027, 1, 1),
        date(2028, 12, 31),
        "archive/bo/nsm-77.pdf",
    )
    # Bo is now offered for sports massage.
    assert "Bo" in clinic.web().get("/techniques/sports-massage").get_data(as_text=True)

    edit = post_form(admin, f"/admin/certifications/{cid}", {**new, "number": "NSM-78"})
    assert edit.status_code == 302
    assert stored(clinic)[-1][3] == "NSM-78"
    delete = post_form(
        admin, f"/admin/certifications/{cid}/delete", {}, page=f"/admin/certifications/{cid}"
    )
    assert delete.status_code == 302
    assert cert_id(clinic, "bo", "sports-massage") is None
    with clinic.app.app_context():
        trail = [
            (e.action, e.subject_id, e.detail.get("changed"))
            for e in db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject_type == "certification")
                .order_by(AuditEntry.id)
            )
        ]
    assert trail == [
        ("certification.added", cid, None),
        ("certification.updated", cid, ["number"]),
        ("certification.deleted", cid, None),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # the last day before the first
        (
            {"valid_from": "2027-05-01", "valid_until": "2027-04-30"},
            "The last day cannot be before the first.",
        ),
        # not a date
        ({"valid_until": "2027-13-01"}, "Enter a date as YYYY-MM-DD."),
        # no issuing body
        ({"body": ""}, "Name the body that issued it."),
        # no dates
        ({"valid_from": ""}, "Give the first day it is valid."),
        # a technique that does not exist
        ({"technique": "99999"}, "Not a valid choice"),
    ],
)
def test_bad_input_changes_nothing_and_is_kept(clinic: Clinic, changes, message):
    admin = clinic.staff("admin")
    cid = cert_id(clinic, "anna", "sports-massage")
    before = stored(clinic)
    data = form_of(clinic, cid, number="KEPT-1", **changes)
    response = post_form(admin, f"/admin/certifications/{cid}", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert 'value="KEPT-1"' in html
    assert stored(clinic) == before


def test_expiring_certificates_on_known_dates(clinic: Clinic):
    admin = clinic.staff("admin")
    # MONDAY is 22 March 2027; 60 days on is 21 May 2027.
    set_until(clinic, admin, "anna", "sports-massage", date(2027, 5, 21))  # day 60: listed
    set_until(clinic, admin, "anna", "trigger-point-therapy", date(2027, 5, 22))  # day 61: not
    set_until(clinic, admin, "bo", "deep-tissue-massage", date(2027, 3, 22))  # today: listed
    set_until(clinic, admin, "bo", "classic-massage", date(2027, 3, 21))  # yesterday: not
    set_until(clinic, admin, "clara", "classic-massage", date(2027, 4, 10))  # renewed: not
    renewal = form_of(
        clinic,
        cert_id(clinic, "clara", "classic-massage"),
        valid_from="2027-04-11",
        valid_until="2030-04-10",
        number="RENEWED",
    )
    assert post_form(admin, "/admin/certifications/new", renewal).status_code == 302
    set_until(clinic, admin, "clara", "myofascial-release", date(2027, 4, 30))  # listed
    # Clara's renewal of it leaves a gap of a day: still listed.
    gap = form_of(
        clinic,
        cert_id(clinic, "clara", "myofascial-release"),
        valid_from="2027-05-02",
        valid_until="2030-05-01",
    )
    assert post_form(admin, "/admin/certifications/new", gap).status_code == 302

    with clinic.app.app_context():
        found = [
            (c.therapist.user.name.split()[0], c.technique.slug, c.valid_until)
            for c in expiring_certifications(MONDAY)
        ]
    assert found == [
        ("Bo", "deep-tissue-massage", date(2027, 3, 22)),
        ("Clara", "myofascial-release", date(2027, 4, 30)),
        ("Anna", "sports-massage", date(2027, 5, 21)),
    ]
    page = admin.get("/admin/certifications/expiry").get_data(as_text=True)
    assert "Running out in the next 60 days (3)" in page
    assert page.index("Monday 22 March 2027") < page.index("Friday 30 April 2027")
    with clinic.app.app_context():
        assert len(expiring_certifications(MONDAY, within_days=0)) == 1  # only Bo's, today


def test_bookings_after_an_expiry_on_known_dates(clinic: Clinic, ida: Person):
    tuesday = booked_id(book(ida.web, params(clinic)))  # Anna, sports massage, Tue 23 March
    wednesday = booked_id(book(ida.web, params(clinic, start=TUE_10 + timedelta(days=1))))
    classic = booked_id(
        book(
            ida.web,
            params(
                clinic,
                therapist="bo",
                technique="classic-massage",
                start=TUE_10 + timedelta(days=2),
            ),
        )
    )
    admin = clinic.staff("admin")
    with clinic.app.app_context():
        assert bookings_after_expiry(NOW, "Europe/Copenhagen") == []
    # Anna's certificate now ends on Tuesday: the Tuesday session is still covered (inclusive).
    set_until(clinic, admin, "anna", "sports-massage", date(2027, 3, 23))
    # Bo's classic certificate is deleted.
    cid = cert_id(clinic, "bo", "classic-massage")
    post_form(admin, f"/admin/certifications/{cid}/delete", {}, page=f"/admin/certifications/{cid}")
    with clinic.app.app_context():
        found = [b.id for b in bookings_after_expiry(NOW, "Europe/Copenhagen")]
    assert found == [wednesday, classic]
    assert tuesday not in found
    page = admin.get("/admin/certifications/expiry").get_data(as_text=True)
    assert "Bookings after an expiry (2)" in page
    assert f"/bookings/{wednesday}/reschedule?therapist=any" in page


def rows(web, **query) -> list[str]:
    html = web.get("/admin/certifications", query_string=query).get_data(as_text=True)
    return re.findall(r'<td><a href="/admin/certifications/\d+">([^<]+)<span', html)


def test_the_list_searches_filters_sorts_and_pages(clinic: Clinic):
    admin = clinic.staff("admin")
    everything = rows(admin)
    assert len(everything) == 13  # 2 + 3 + 5 + 3 demo certificates
    assert rows(admin, q="TRIGGER") == ["Trigger point therapy"] * 3  # Anna, Clara, David
    assert sorted(rows(admin, therapist=clinic.ids["bo"])) == [
        "Classic massage",
        "Deep tissue massage",
        "Myofascial release",
    ]
    # Sorted by last valid day: David's expired one comes first, last when descending.
    html = admin.get("/admin/certifications", query_string={"sort": "valid_until"}).get_data(
        as_text=True
    )
    assert "expired" in html.split("<tbody>")[1].split("</tr>")[0]
    html = admin.get(
        "/admin/certifications", query_string={"sort": "valid_until", "order": "desc"}
    ).get_data(as_text=True)
    assert "expired" in html.split("</tr>")[-2]


def test_the_list_takes_the_same_statements_for_many_certificates(clinic: Clinic, make_therapist):
    admin = clinic.staff("admin")
    with count_queries(clinic.app) as few:
        assert len(rows(admin)) == 13
    for n in range(3):
        make_therapist("sports-massage", "classic-massage", email=f"t{n}@example.com")
    with count_queries(clinic.app) as many:
        assert len(rows(admin)) == 19
    assert len(many) == len(few)


def test_the_warning_lists_take_the_same_statements_for_more_rows(
    clinic: Clinic, make_therapist, make_client
):
    """One expiring certificate and one booking past an expiry, then four of each."""
    clients = [make_client(f"c{n}@example.com").id for n in range(4)]

    def add(n: int) -> None:
        # A therapist whose certificate ends in 10 days, with a session booked 20 days on.
        therapist = make_therapist(
            "classic-massage", valid_until=MONDAY + timedelta(days=10), email=f"t{n}@example.com"
        )
        with clinic.app.app_context():
            from clinic.booking.models import Booking
            from clinic.catalog.models import Room

            start = NOW + timedelta(days=20, hours=3 + n)
            db.session.add(
                Booking(
                    client_id=clients[n],
                    therapist_id=therapist.id,
                    technique_id=clinic.ids["classic-massage"],
                    room_id=db.session.scalar(select(Room.id)),
                    starts_at=start,
                    ends_at=start + timedelta(minutes=30),
                    duration_minutes=30,
                    price_minor=40000,
                )
            )
            db.session.commit()

    def lists() -> tuple[tuple[int, int], int]:
        with count_queries(clinic.app) as statements, clinic.app.app_context():
            expiring = expiring_certifications(MONDAY)
            after = bookings_after_expiry(NOW, "Europe/Copenhagen")
            for c in expiring:
                assert c.therapist.user.name and c.technique.name
            for b in after:
                assert b.client.name and b.therapist.user.name and b.technique.name
        return (len(expiring), len(after)), len(statements)

    add(0)
    one, few = lists()
    for n in range(1, 4):
        add(n)
    four, many = lists()
    assert (one, four) == ((1, 1), (4, 4))
    assert few == many
    with clinic.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certification)) == 17
