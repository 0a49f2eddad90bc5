"""The report pages around the figures: the period form, links, who may see them, the CSV's
guard against formulas, and a fixed number of statements whatever the number of bookings.

The figures themselves are checked in test_reports.py, on the data set described there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.auth.models import Role, User
from clinic.catalog.models import Room
from clinic.extensions import db
from tests.integration.test_reports import (
    CO,
    NS,
    PERIOD,
    C,
    D,
    P,
    X,
    add_booking,
    csv_of,
    data_set,  # noqa: F401  (the fixture `data`, the data set of test_reports.py)
    page,
)
from tests.support import count_queries, login


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        # reversed
        ("from=2027-04-04&to=2027-03-22", "to", "The end date is before the start date."),
        # unreadable
        ("from=22.03.2027&to=2027-04-04", "from", "Enter a date as YYYY-MM-DD"),
        # longer than about a year
        ("from=2026-01-01&to=2027-03-01", "to", "Choose a period of at most 366 days."),
        # one end missing
        ("from=2027-03-22&to=", "to", "Give the last date of the period."),
    ],
)
def test_bad_period_is_explained_beside_the_field_and_shows_no_figures(
    clinic, data, query, field, message
):
    admin = clinic.staff("admin")
    for name in ("bookings", "utilisation"):
        html = page(admin, name, query)
        start = html.index(f'id="{field}-error"')
        assert message in html[start : start + 200]
        assert 'aria-invalid="true"' in html
        for typed in query.split("&"):
            value = typed.split("=")[1]
            if value:
                assert f'value="{value}"' in html  # what was typed is kept
        assert "Correct the period above" in html
        assert "<table" not in html and "<svg" not in html and "Download CSV" not in html
        assert "last 8 full weeks" not in html and "25 January 2027" not in html
        response = admin.get(f"/admin/reports/{name}.csv?{query}")
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_reports_index_links_each_report_with_the_period(clinic, data):
    admin = clinic.staff("admin")
    html = admin.get(f"/admin/reports?{PERIOD}").get_data(as_text=True)
    for name in ("bookings", "utilisation", "cancellations", "screenings", "clients"):
        assert f'href="/admin/reports/{name}?from=2027-03-22&amp;to=2027-04-04"' in html
    html = admin.get("/admin/reports").get_data(as_text=True)
    assert 'href="/admin/reports/bookings"' in html  # the default period needs no parameters


def test_unknown_report_is_not_found(clinic):
    admin = clinic.staff("admin")
    assert admin.get("/admin/reports/revenue").status_code == 404
    assert admin.get("/admin/reports/revenue.csv").status_code == 404


def test_names_that_look_like_formulas_are_defused_in_the_csv(clinic, data, make_therapist):
    make_therapist(name='=HYPERLINK("http://evil")', email="evil@example.com")
    admin = clinic.staff("admin")
    rows = csv_of(admin, "utilisation")
    assert ['\'=HYPERLINK("http://evil")', "0", "0", ""] in rows
    html = page(admin, "utilisation")
    assert "=HYPERLINK(&#34;http://evil&#34;)" in html or "=HYPERLINK(&quot;" in html


@pytest.mark.parametrize("name", ["", "/bookings", "/bookings.csv", "/clients.csv"])
def test_reports_refuse_clients_and_therapists_and_send_strangers_to_log_in(
    clinic, make_user, name
):
    url = f"/admin/reports{name}"
    stranger = clinic.web().get(url)
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]
    assert clinic.staff("anna").get(url).status_code == 403
    make_user(email="someone@example.com")
    web = clinic.web()
    login(web, "someone@example.com")
    assert web.get(url).status_code == 403


def _many_bookings(clinic, count):
    with clinic.app.app_context():
        room = db.session.scalar(select(Room.id))
        client = db.session.scalar(select(User.id).where(User.role == Role.CLIENT))
        statuses = [CO, NS, X, C, P]
        for n in range(count):
            day = (D("2027-03-22") + timedelta(days=n % 14)).isoformat()
            hhmm = f"{9 + n % 8:02d}:{(n // 8) % 4 * 15:02d}"
            add_booking(
                clinic,
                room,
                day,
                hhmm,
                ["anna", "bo", "clara", "david"][n % 4],
                TECHNIQUE_SLUGS[n % 5],
                30,
                statuses[n % 5],
                client,
            )
        db.session.commit()


TECHNIQUE_SLUGS = [
    "sports-massage",
    "trigger-point-therapy",
    "myofascial-release",
    "deep-tissue-massage",
    "classic-massage",
]


@pytest.mark.parametrize(
    "name", ["bookings", "utilisation", "cancellations", "screenings", "clients"]
)
def test_statements_per_report_do_not_grow_with_the_bookings(clinic, name):
    admin = clinic.staff("admin")
    counts, pages = [], []
    for added in (10, 190):
        _many_bookings(clinic, added)
        with count_queries(clinic.app) as statements:
            pages.append(page(admin, name))
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] > 0
    if name != "screenings":  # the one report that reads no bookings
        assert pages[0] != pages[1]  # the 190 more bookings are in the figures
