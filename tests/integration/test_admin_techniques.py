"""Admins manage techniques: the form's checks, options in øre, deactivation, the list."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEntry
from clinic.catalog.models import Pressure, Technique
from clinic.extensions import db
from tests.integration.test_booking import TUE_10, book, booked_id, params
from tests.support import Clinic, Person, count_queries, post_form

GOOD = {
    "name": "Hot stone massage",
    "slug": "hot-stone-massage",
    "summary": "Warm basalt stones loosen the back.",
    "description": "Smooth stones are heated.\n\nThey rest on the back.",
    "helps_with": "Stiffness\nStress",
    "not_suitable_for": "Sunburn",
    "pressure": "gentle",
    "active": "y",
    "duration_1": "45",
    "price_1": "525,50",
    "duration_2": "90",
    "price_2": "900",
}


def techniques(clinic: Clinic) -> dict[str, tuple[bool, Pressure, list[tuple[int, int]]]]:
    """slug -> (active, pressure, [(minutes, øre)]) as stored."""
    with clinic.app.app_context():
        return {
            t.slug: (t.active, t.pressure, [(o.duration_minutes, o.price_minor) for o in t.options])
            for t in db.session.scalars(select(Technique))
        }


def audit_of(clinic: Clinic, action: str) -> list[tuple[int | None, int | None, dict]]:
    with clinic.app.app_context():
        return [
            (e.subject_id, e.actor_id, e.detail)
            for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        ]


def test_an_admin_adds_a_technique_with_prices_in_ore(clinic: Clinic):
    admin = clinic.staff("admin")
    response = post_form(admin, "/admin/techniques/new", GOOD)
    assert response.status_code == 302
    stored = techniques(clinic)
    assert stored["hot-stone-massage"] == (True, Pressure.GENTLE, [(45, 52550), (90, 90000)])
    [(subject, actor, detail)] = audit_of(clinic, "technique.created")
    with clinic.app.app_context():
        technique = db.session.scalar(
            select(Technique).where(Technique.slug == "hot-stone-massage")
        )
        assert technique.helps_with_items == ["Stiffness", "Stress"]
        assert technique.position == 5  # after the five demo techniques (0..4)
    assert subject == technique.id and actor is not None
    assert detail == {"active": True, "durations": [45, 90]}
    public = clinic.web().get("/techniques/hot-stone-massage").get_data(as_text=True)
    assert "Warm basalt stones" in public and "DKK 525.50" in public


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # a slug with capitals and spaces
        ({"slug": "Hot Stone"}, "Use lower-case letters, digits and single hyphens"),
        # a slug another technique has
        ({"slug": "sports-massage"}, "Another technique already uses this address name."),
        # no name
        ({"name": ""}, "Give the technique a name."),
        # no pressure class
        ({"pressure": ""}, "Choose deep pressure or gentle."),
        # no option at all
        (
            {"duration_1": "", "price_1": "", "duration_2": "", "price_2": ""},
            "Give at least one length with its price.",
        ),
        # the same length twice
        ({"duration_2": "45"}, "Row 1 already has 45 minutes."),
        # not a multiple of five minutes
        ({"duration_1": "47"}, "Use a multiple of 5 minutes"),
        # longer than four hours
        ({"duration_1": "300"}, "Enter whole minutes from 5 to 240."),
        # zero and negative lengths
        ({"duration_1": "0"}, "Enter whole minutes from 5 to 240."),
        ({"duration_1": "-30"}, "Enter whole minutes from 5 to 240."),
        # a price that is not a number
        ({"price_1": "cheap"}, "Enter the price in kroner, for example 650 or 650,00."),
        # a price without its length
        ({"duration_2": ""}, "Give the length in minutes, or clear the price too."),
        # a length without its price
        ({"price_2": ""}, "Give the price, or clear the length too."),
        # a typo price
        ({"price_1": "65000"}, "A session costs at most DKK 20,000"),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_kept(clinic: Clinic, changes, message):
    admin = clinic.staff("admin")
    before = techniques(clinic)
    response = post_form(admin, "/admin/techniques/new", {**GOOD, **changes})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert "invalid-feedback" in html
    assert 'value="Warm basalt stones loosen the back."' in html  # what was typed stays
    for value in changes.values():
        if value:
            assert f'value="{value}"' in html
    assert techniques(clinic) == before
    assert audit_of(clinic, "technique.created") == []


def test_a_post_without_csrf_changes_nothing(clinic: Clinic):
    admin = clinic.staff("admin")
    before = techniques(clinic)
    response = admin.post("/admin/techniques/new", data=GOOD)
    assert response.status_code == 400
    assert techniques(clinic) == before


def test_editing_changes_prices_and_lengths_and_bookings_keep_theirs(clinic: Clinic, ida: Person):
    booking_id = booked_id(book(ida.web, params(clinic)))  # sports massage, 60 min, DKK 650
    admin = clinic.staff("admin")
    url = f"/admin/techniques/{clinic.ids['sports-massage']}"
    form = admin.get(url).get_data(as_text=True)
    assert 'value="60"' in form and 'value="650"' in form  # the stored options, in kroner
    data = {
        **GOOD,
        "name": "Sports massage",
        "slug": "sports-massage",
        "pressure": "deep",
        "duration_1": "60",
        "price_1": "700,50",
        "duration_2": "120",
        "price_2": "1.250",
    }
    assert post_form(admin, url, data).status_code == 302
    assert techniques(clinic)["sports-massage"] == (
        True,
        Pressure.DEEP,
        [(60, 70050), (120, 125000)],  # 90 minutes removed, 120 added
    )
    [(_, _, detail)] = audit_of(clinic, "technique.updated")
    assert set(detail["changed"]) == {
        "summary",
        "description",
        "helps_with",
        "not_suitable_for",
        "options",
    }
    assert detail["durations"] == [60, 120]
    with clinic.app.app_context():
        from clinic.booking.models import Booking

        assert db.session.get(Booking, booking_id).price_minor == 650_00
    # Saving again unchanged records nothing more.
    assert post_form(admin, url, data).status_code == 302
    assert len(audit_of(clinic, "technique.updated")) == 1


def test_a_deactivated_technique_leaves_the_public_pages_and_booking_but_bookings_keep_it(
    clinic: Clinic, ida: Person
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    admin = clinic.staff("admin")
    url = f"/admin/techniques/{clinic.ids['sports-massage']}"
    page = admin.get(url).get_data(as_text=True)
    assert "Sports massage" in page
    with clinic.app.app_context():
        t = db.session.get(Technique, clinic.ids["sports-massage"])
        data = {
            "name": t.name,
            "slug": t.slug,
            "summary": t.summary,
            "description": t.description,
            "helps_with": t.helps_with,
            "not_suitable_for": t.not_suitable_for,
            "pressure": t.pressure.value,
            **{
                f"{name}_{n}": value
                for n, o in enumerate(t.options, start=1)
                for name, value in (
                    ("duration", o.duration_minutes),
                    ("price", o.price_minor // 100),
                )
            },
        }  # "active" left out: the box is not ticked
    response = post_form(admin, url, data)
    assert "no longer offered" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert techniques(clinic)["sports-massage"][0] is False
    [(_, _, detail)] = audit_of(clinic, "technique.updated")
    assert detail == {"changed": ["active"], "active": False}

    visitor = clinic.web()
    assert "Sports massage" not in visitor.get("/techniques").get_data(as_text=True)
    assert visitor.get("/techniques/sports-massage").status_code == 404
    slugs = [t["slug"] for t in visitor.get("/api/v1/techniques").get_json()]
    assert "sports-massage" not in slugs and "classic-massage" in slugs
    search = visitor.get("/book?technique=sports-massage").get_data(as_text=True)
    assert "We do not offer that technique" in search
    other = params(clinic, start=TUE_10.replace(hour=12))
    refused = ida.web.get("/book/confirm", query_string=other)
    assert refused.status_code == 422
    # The booking made before keeps its technique, and can be moved.
    shown = ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Sports massage" in shown
    assert ida.web.get(f"/bookings/{booking_id}/reschedule").status_code == 200


def list_rows(web, **query) -> list[str]:
    import re

    html = web.get("/admin/techniques", query_string=query).get_data(as_text=True)
    return re.findall(r'<td><a href="/admin/techniques/\d+">([^<]+)</a>', html)


def test_the_list_searches_sorts_and_pages(clinic: Clinic):
    admin = clinic.staff("admin")
    assert list_rows(admin) == [
        "Classic massage",
        "Deep tissue massage",
        "Myofascial release",
        "Sports massage",
        "Trigger point therapy",
    ]
    assert list_rows(admin, sort="name", order="desc")[0] == "Trigger point therapy"
    assert list_rows(admin, q="MASSAGE") == [
        "Classic massage",
        "Deep tissue massage",
        "Sports massage",
    ]
    # Pressure: deep before gentle, by name within.
    assert list_rows(admin, sort="pressure") == [
        "Deep tissue massage",
        "Sports massage",
        "Trigger point therapy",
        "Classic massage",
        "Myofascial release",
    ]
    assert list_rows(admin, sort="bogus") == list_rows(admin)  # unknown sort: by name


def test_the_list_takes_the_same_statements_for_many_techniques(clinic: Clinic):
    admin = clinic.staff("admin")
    with count_queries(clinic.app) as few:
        assert len(list_rows(admin, sort="options")) == 5
    for n in range(8):
        data = {**GOOD, "name": f"Extra {n}", "slug": f"extra-{n}"}
        assert post_form(admin, "/admin/techniques/new", data).status_code == 302
    with count_queries(clinic.app) as many:
        assert len(list_rows(admin, sort="options")) == 13
    assert len(many) == len(few)


def test_the_pressure_class_stays_while_screenings_were_judged_by_it(clinic: Clinic, ida: Person):
    admin = clinic.staff("admin")
    url = f"/admin/techniques/{clinic.ids['classic-massage']}"
    with clinic.app.app_context():
        t = db.session.get(Technique, clinic.ids["classic-massage"])
        data = {
            "name": t.name,
            "slug": t.slug,
            "summary": t.summary,
            "description": t.description,
            # Classic massage is gentle; Ida's and the demo client's screenings were judged so.
            "pressure": "deep",
            "active": "y",
            "duration_1": "30",
            "price_1": "400",
        }
    response = post_form(admin, url, data)
    assert response.status_code == 200
    assert "2 current screenings were judged for this technique as gentle" in (
        response.get_data(as_text=True)
    )
    assert techniques(clinic)["classic-massage"][1] is Pressure.GENTLE
    # A technique nobody was screened for yet takes a new class.
    assert post_form(admin, "/admin/techniques/new", GOOD).status_code == 302
    with clinic.app.app_context():
        new_id = db.session.scalar(select(Technique.id).where(Technique.slug == GOOD["slug"]))
    changed = post_form(admin, f"/admin/techniques/{new_id}", {**GOOD, "pressure": "deep"})
    assert changed.status_code == 302
    assert techniques(clinic)["hot-stone-massage"][1] is Pressure.DEEP
