"""The admin area in Danish: an admin whose own setting is Danish reads the start page and the
reports in Danish, with Danish numbers, dates and week labels; the CSV download stays English,
for the spreadsheets and scripts that read it."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from clinic.auth.models import Role, User
from clinic.extensions import db
from tests.integration.test_admin_start import _pending_booking
from tests.integration.test_reports import PERIOD, TECHNIQUE_HEAD, csv_of, page, tables_of
from tests.integration.test_reports import data_set as data  # noqa: F401 (a fixture)
from tests.support import Clinic


@pytest.fixture
def admin(clinic: Clinic):
    """The demo clinic's admin, logged in, with Danish as their own language."""
    with clinic.app.app_context():
        db.session.execute(update(User).where(User.role == Role.ADMIN).values(locale="da"))
        db.session.commit()
    return clinic.staff("admin")


def test_the_start_page_is_in_danish(clinic: Clinic, admin, make_client):
    calm = admin.get("/admin/").get_data(as_text=True)
    assert '<html lang="da"' in calm
    assert "Skal afgøres i dag" in calm and "Intet venter på en afgørelse." in calm
    assert "Needs a decision today" not in calm

    booking_id = _pending_booking(clinic, make_client)  # Eva's booking of Tuesday 10:00
    html = admin.get("/admin/").get_data(as_text=True)
    pending = html[html.index('id="today-pending"') : html.index('id="today-emails"')]
    assert "Bookinger, der afventer" in pending and f'href="/bookings/{booking_id}"' in pending
    assert "23. marts 2027 kl. 10:00 CET" in pending  # the date in Danish form
    assert ": Sportsmassage hos Anna Holm, for Eva<" in pending
    assert "Alle afventende bookinger" in pending
    assert "Klinikken" in html and "Administrér" in html and "Revisionslog" in html


@pytest.mark.usefixtures("data")
def test_a_report_is_in_danish_with_danish_numbers_and_weeks(admin):
    html = page(admin, "utilisation")
    assert '<h1 class="h2">Udnyttelse pr. behandler</h1>' in html
    assert "Hvad der tælles" in html and "Download CSV" in html
    # The period in Danish words, and the chart's axis and bars with Danish separators.
    assert "mandag 22. marts 2027 \u2013 søndag 4. april 2027" in html
    assert "5,4 %" in html
    assert tables_of(admin, "utilisation")["Udnyttelse pr. behandler"] == [
        ["Behandler", "Arbejdsminutter", "Bookede minutter", "Udnyttelse"],
        ["Anna Holm", "4.410", "240", "5,4 %"],
        ["Bo Lindqvist", "4.320", "120", "2,8 %"],
        ["Clara Nørgaard", "4.680", "120", "2,6 %"],
        ["David Skov", "4.320", "60", "1,4 %"],
        ["Alle behandlere", "17.730", "540", "3,0 %"],
    ]
    weeks = tables_of(admin, "bookings")["Bookinger pr. teknik pr. uge"]
    assert weeks[0][:2] == ["Uge", "Begynder"] and weeks[0][-1] == "I alt"
    assert [row[:2] for row in weeks[1:]] == [
        ["Uge 12, 2027", "22.03.2027"],
        ["Uge 13, 2027", "29.03.2027"],
        ["I alt", ""],
    ]
    assert "Uge 12, 2027" in page(admin, "bookings")  # the chart's labels too


@pytest.mark.usefixtures("data")
def test_the_csv_stays_english_for_a_danish_admin(admin):
    rows = csv_of(admin, "bookings")
    assert rows[0] == ["Week", "Starts", *TECHNIQUE_HEAD, "Total"]
    assert rows[1][:2] == ["2027-W12", "2027-03-22"]
    assert csv_of(admin, "utilisation")[-1] == ["All therapists", "17730", "540", "3.0"]
    assert admin.get(f"/admin/reports/utilisation?{PERIOD}").status_code == 200
