"""Aftercare in a real browser: the therapist writes a note, aftercare and a plan after a
session; the client reads the aftercare (never the note) and books the plan as a series.

The real clock runs here, so the treated session is written through the ORM: it began an hour
ago (floored to 5 minutes) and is completed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.treatment.forms import SNIPPETS
from clinic.treatment.models import TreatmentNote
from tests.e2e.journeys import Screenshot, flash, log_in, nav, path_is, screened_client
from tests.e2e.journeys import wait_for_mail as mail_to
from tests.e2e.test_calendar_journey import Sessions
from tests.support import DEMO_PASSWORD, Mailbox

PRIVATE = "Tender left lower back; worked the quadratus lumborum."
ADVICE = "Walk for 20 minutes every day this week."


def test_the_therapist_writes_aftercare_and_the_client_books_the_plan(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    mailbox: Mailbox,
    screenshot: Screenshot,
) -> None:
    client = screened_client(app, make_user, "maja@example.com")
    now = utcnow().replace(second=0, microsecond=0)
    start = now - timedelta(minutes=60 + now.minute % 5)
    session = Sessions(app).add(client, start, status=BookingStatus.COMPLETED)

    log_in(page, "anna@lindring.example", DEMO_PASSWORD)
    page.goto(f"/bookings/{session}")
    page.get_by_role("link", name="Write the treatment note").click()
    expect(page).to_have_url(path_is(live_server, f"/bookings/{session}/treatment"))
    page.get_by_label("Private treatment note").fill(PRIVATE)
    page.get_by_label("Aftercare advice for the client").fill(ADVICE)
    page.get_by_role("button", name="+ Heat").click()
    expect(page.get_by_label("Aftercare advice for the client")).to_have_value(
        f"{ADVICE}\n{SNIPPETS['heat'][1]}"
    )
    expect(page.get_by_label("Private treatment note")).to_have_value(PRIVATE)
    page.get_by_label("Technique and length").select_option(label="Sports massage, 60 minutes")
    page.get_by_label("How often").select_option(label="Every 2 weeks")
    page.get_by_label("Sessions").select_option(label="3 sessions")
    screenshot(page, "treatment-note")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(path_is(live_server, f"/bookings/{session}"))
    expect(flash(page)).to_contain_text("sent the aftercare by e-mail")
    expect(page.locator(".treatment-note")).to_contain_text(PRIVATE)
    expect(page.locator(".treatment-note")).to_contain_text(
        "3 sessions of Sports massage, 60 minutes, every 2 weeks"
    )

    [mail] = mail_to(mailbox, "maja@example.com")
    assert ADVICE in Mailbox.body(mail) and PRIVATE not in mail.as_string()

    nav(page).get_by_role("button", name="Log out").click()
    log_in(page, "maja@example.com")
    page.goto(f"/bookings/{session}")
    aftercare = page.locator(".aftercare")
    expect(aftercare).to_contain_text(ADVICE)
    expect(aftercare).to_contain_text(SNIPPETS["heat"][1])
    expect(page.locator("body")).not_to_contain_text(PRIVATE)
    expect(page.locator(".treatment-note")).to_have_count(0)
    screenshot(page, "aftercare")

    aftercare.get_by_role("link", name="Book this plan").click()
    expect(page).to_have_url(path_is(live_server, "/book/series"))
    expect(page.locator(".plan-origin")).to_contain_text("The plan Anna")
    expect(page.get_by_label("Repeat")).to_have_value("biweekly")
    expect(page.get_by_label("Sessions")).to_have_value("3")
    expect(page.locator("tr[data-date]")).to_have_count(3)
    page.get_by_role("button", name="Book the ticked dates").click()
    expect(page).to_have_url(path_is(live_server, "/my/bookings"))
    expect(flash(page)).to_contain_text("booked")

    with app.app_context():
        note = db.session.scalar(select(TreatmentNote).where(TreatmentNote.booking_id == session))
        series = db.session.scalars(
            select(Booking).where(Booking.series_id == note.plan_series_id)
        ).all()
        assert note.plan_series_id is not None and series
        assert {b.therapist_id for b in series} == {note.booking.therapist_id}
