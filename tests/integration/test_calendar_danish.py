"""The calendar in Danish: a therapist's week for a therapist who reads Danish, and calendar
files (a booking's download, the private feed) in the language of the user they are for.

The clock is pinned to Monday 22 March 2027 (the `clinic` fixture); Anna is a demo therapist
who works on weekdays, and Ida's booking with her is on Tuesday 23 March at 10:00.
"""

from __future__ import annotations

from html import unescape

import icalendar
import pytest
from sqlalchemy import select, update

from clinic.auth.models import User
from clinic.catalog.models import Technique
from clinic.extensions import db
from tests.integration.test_calendar_views import day_section, entries, text
from tests.integration.test_feeds import TUE_10, TUESDAY, book, create_feed, events, uid
from tests.support import Clinic, Person


def speaks(clinic: Clinic, email: str, locale: str) -> None:
    """Set the user's own language, as the switch in the layout does."""
    with clinic.app.app_context():
        db.session.execute(update(User).where(User.email == email).values(locale=locale))
        db.session.commit()


def technique_name(clinic: Clinic, slug: str, locale: str) -> str:
    with clinic.app.app_context():
        technique = db.session.scalar(select(Technique).where(Technique.slug == slug))
        return technique.text("name", locale)


def test_a_danish_therapist_sees_the_week_with_danish_day_names_and_headings(
    clinic: Clinic, ida: Person
) -> None:
    book(clinic, ida.id, "anna", TUE_10)
    speaks(clinic, "anna@lindring.example", "da")

    response = clinic.staff("anna").get("/therapist/calendar?week=2027-03-24")

    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    assert '<html lang="da">' in html
    assert "<title>Min kalender" in html
    assert "Uge 12: mandag 22. marts - søndag 28. marts 2027" in text(html)
    assert ">tirsdag 23. marts</a>" in html  # the day's heading, by the |dayname filter
    assert "Forrige uge" in html and "Denne uge" in html and "Næste uge" in html
    tuesday = entries(day_section(html, TUESDAY))
    sports = technique_name(clinic, "sports-massage", "da")
    assert tuesday == [
        "09:00 CET Arbejdstiden begynder",
        f"10:00 - 11:00 CET Ida {sports}, 60 min. · Room 1 Bekræftet",
        "12:00 - 12:30 CET Pause",
        "17:00 CET Arbejdstiden slutter",
    ]
    assert "Lukket: ingen arbejdstider" in day_section(html, TUESDAY.replace(day=27))
    for english in ("My calendar", "Working hours begin", "Previous week", "Monday"):
        assert english not in html


def test_the_working_hours_form_names_the_weekdays_in_danish(clinic: Clinic) -> None:
    speaks(clinic, "anna@lindring.example", "da")

    html = unescape(clinic.staff("anna").get("/therapist/hours").get_data(as_text=True))

    assert '<h1 class="h2">Mine arbejdstider</h1>' in html
    for day in ("Mandag", "Tirsdag", "Onsdag", "Torsdag", "Fredag", "Lørdag", "Søndag"):
        assert f'<legend class="h5 float-none w-auto px-1">{day}</legend>' in html
    assert "Mandag, interval 1: start" in html
    assert "Monday" not in html


@pytest.mark.parametrize(
    ("locale", "summary"),
    [
        ("da", "{name}, 60 min. (Anna Holm)"),  # the client reads Danish
        ("en", "{name}, 60 min (Anna Holm)"),  # the client reads English
    ],
)
def test_a_downloaded_booking_is_in_its_clients_language(
    clinic: Clinic, ida: Person, locale: str, summary: str
) -> None:
    booking_id = book(clinic, ida.id, "anna", TUE_10)
    speaks(clinic, ida.email, locale)

    response = ida.web.get(f"/bookings/{booking_id}.ics")

    assert response.status_code == 200
    event = events(response.get_data(as_text=True))[uid(booking_id)]
    name = technique_name(clinic, "sports-massage", locale)
    assert str(event["SUMMARY"]) == summary.format(name=name)
    assert str(event["UID"]) == uid(booking_id)  # the same event, whatever the language


def test_the_feed_is_in_its_owners_language_whoever_fetches_it(clinic: Clinic, ida: Person) -> None:
    booking_id = book(clinic, ida.id, "anna", TUE_10)
    path = create_feed(ida.web)
    speaks(clinic, ida.email, "da")

    # A calendar program is nobody's session: it asks in English, the feed is Ida's Danish.
    response = clinic.web().get(path, headers={"Accept-Language": "en"})

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    clinic_name = clinic.app.config["CLINIC_NAME"]
    assert str(icalendar.Calendar.from_ical(body)["X-WR-CALNAME"]) == f"{clinic_name}: bookinger"
    event = events(body)[uid(booking_id)]
    sports = technique_name(clinic, "sports-massage", "da")
    assert str(event["SUMMARY"]) == f"{sports}, 60 min. (Anna Holm)"
