"""Danish in the browser: a visitor switches the layout to Danish, logs in, books a session and
reads it with the date and price written the Danish way; the choice stays on the account, the
pages pass axe-core in Danish, and the switch brings English back."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from clinic.auth.models import User
from clinic.extensions import db
from tests.e2e.journeys import (
    SIZES,
    Screenshot,
    a_few_days_ahead,
    booking_url,
    flash,
    menu,
    path_is,
    photograph,
    screened_client,
    use_size,
)
from tests.e2e.test_accessibility import violations
from tests.support import TEST_PASSWORD

DANISH_MONTHS = (
    "januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december"
)


@pytest.mark.parametrize("size", SIZES)
def test_a_client_switches_to_danish_and_books_in_danish(
    size: str,
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    screened_client(app, make_user, "maja@example.com")
    use_size(page, size)
    page.goto("/techniques")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Techniques")

    # The switch names the other language in its own words, and comes back to the same page.
    menu(page).get_by_role("button", name="Dansk").click()
    expect(page).to_have_url(path_is(live_server, "/techniques"))
    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(page.get_by_role("heading", level=1)).to_have_text("Teknikker")
    expect(page.get_by_role("link", name="Sportsmassage")).to_be_visible()  # the clinic's own
    expect(menu(page).get_by_role("button", name="English")).to_be_visible()
    assert violations(page) == []

    menu(page).get_by_role("link", name="Log ind", exact=True).click()
    page.get_by_label("E-mail", exact=True).fill("maja@example.com")
    page.get_by_label("Adgangskode", exact=True).fill("forkert adgangskode")
    page.get_by_role("button", name="Log ind", exact=True).click()
    expect(page.locator("#form-errors")).to_be_visible()  # refused, in Danish, e-mail kept
    expect(page.get_by_label("E-mail", exact=True)).to_have_value("maja@example.com")
    page.get_by_label("Adgangskode", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log ind", exact=True).click()
    expect(flash(page)).to_contain_text("Du er logget ind som Maja Lund.")
    with app.app_context():
        stored = db.session.scalar(select(User.locale).where(User.email == "maja@example.com"))
    assert stored == "da"  # the choice made before logging in is now the account's

    menu(page).get_by_role("link", name="Book", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find en ledig tid")
    page.get_by_label("Teknik", exact=True).select_option(label="Sportsmassage")
    page.get_by_label("Fra", exact=True).fill(a_few_days_ahead().isoformat())
    page.get_by_role("button", name="Vis ledige tider").click()
    slot = page.locator("a.slot").first
    expect(slot).to_be_visible()
    assert violations(page) == []
    slot.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekræft din booking")
    expect(page.locator("main")).to_contain_text(re.compile(r"\d+ kr\."))
    page.get_by_role("button", name="Bekræft booking").click()
    expect(page).to_have_url(booking_url(live_server))
    expect(flash(page)).to_contain_text("Din booking er bekræftet.")
    main = page.locator("main")
    expect(main).to_contain_text(re.compile(r"\d+ kr\."))
    expect(main).to_contain_text(re.compile(rf"\d+\. ({DANISH_MONTHS}) \d{{4}} kl\. \d\d:\d\d"))
    assert violations(page) == []
    photograph(screenshot, page, "booking-danish", size)

    menu(page).get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(menu(page).get_by_role("link", name="My bookings")).to_be_visible()
    with app.app_context():
        stored = db.session.scalar(select(User.locale).where(User.email == "maja@example.com"))
    assert stored == "en"
