"""The admin's morning in the browser: approve a waiting screening from the start page, then read
a report and the audit log of what was done."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from clinic.auth.models import User
from clinic.clock import utcnow
from tests.conftest import today
from tests.e2e.journeys import (
    SIZES,
    Screenshot,
    flash,
    log_in,
    menu,
    path_is,
    photograph,
    use_size,
)
from tests.support import DEMO_PASSWORD, screen

ADMIN_EMAIL = "admin@lindring.example"


@pytest.mark.parametrize("size", SIZES)
def test_an_admin_approves_a_screening_from_the_start_page_and_opens_a_report(
    size: str,
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    eva = make_user(email="eva.dahl@example.com", name="Eva Dahl")
    screen(app, eva.id, ("pregnancy",), now=utcnow())  # needs a review for every technique

    use_size(page, size)
    log_in(page, ADMIN_EMAIL, DEMO_PASSWORD)
    menu(page).get_by_role("link", name="Admin", exact=True).click()
    expect(page).to_have_url(path_is(live_server, "/admin/"))
    waiting = page.locator("#today-review")
    expect(waiting.locator("h3 .badge")).to_have_text("1")
    expect(waiting.locator("li")).to_have_text([re.compile(r"Eva Dahl\s+review\s+waiting")])
    photograph(screenshot, page, "admin-start", size)

    waiting.get_by_role("link", name="Eva Dahl").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Screening of Eva Dahl")
    page.locator("form[action$='/approve']").get_by_role(
        "button", name="Approve", exact=True
    ).click()
    expect(flash(page)).to_contain_text("Approved. The client has been told by e-mail.")

    menu(page).get_by_role("link", name="Admin", exact=True).click()
    expect(page.locator("#today-review h3 .badge")).to_have_text("0")
    expect(page.locator("#today-review")).to_contain_text("None waiting.")

    # This week's screenings in the report: Eva's waited for a review, the demo client's was clear.
    page.locator("main").get_by_role("link", name="Reports", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    this_week = today() - timedelta(days=today().weekday())
    page.get_by_label("From", exact=True).fill(this_week.isoformat())
    page.get_by_label("To", exact=True).fill((this_week + timedelta(days=6)).isoformat())
    page.get_by_role("button", name="Show", exact=True).click()
    page.get_by_role("link", name="Screening outcomes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Screening outcomes")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    outcomes = page.locator("table").first
    expect(outcomes.get_by_role("row", name="Needs review 1 50.0%", exact=True)).to_be_visible()
    expect(outcomes.get_by_role("row", name="Clear 1 50.0%", exact=True)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("lindring-screenings-")
    photograph(screenshot, page, "report", size)

    # The audit log says who approved which screening, from where.
    menu(page).get_by_role("link", name="Admin", exact=True).click()
    page.locator("main").get_by_role("link", name="Audit log").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    page.get_by_label("Action").select_option("screening.")
    page.get_by_role("button", name="Filter").click()
    approved = page.locator("table.audit-log tbody tr", has_text="screening.approved")
    expect(approved).to_have_count(1)
    expect(approved).to_contain_text("Clinic Admin")
    expect(approved).to_contain_text("127.0.0.1")
    photograph(screenshot, page, "audit-log", size)
