"""Accessibility in the browser: every main page passes axe-core at desktop and phone size, and
a client books a session with the keyboard alone.

axe-core comes from the axe-playwright-python wheel (its axe.min.js, read from disk and evaluated
in the page); nothing is fetched from the internet. Each main page is also photographed at both
sizes, for the README.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Locator, Page, expect

from clinic.auth.models import User
from clinic.clock import utcnow
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.journeys import (
    Screenshot,
    a_few_days_ahead,
    booking_url,
    first_free_time,
    fits_the_phone,
    flash,
    log_in,
    log_out,
    path_is,
    screened_client,
)
from tests.support import DEMO_PASSWORD, TEST_PASSWORD, screen

AXE = Axe()
SERIOUS = ("serious", "critical")


def violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    found = AXE.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(n['target'][0] for n in v['nodes'])}"
        for v in found
        if v["impact"] in SERIOUS
    ]


def at_both_sizes(
    page: Page, screenshot: Screenshot, name: str, findings: dict[str, list[str]]
) -> None:
    """Check the page at desktop size and at phone size, and photograph it at each."""
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        findings[f"{name} ({size})"] = violations(page)
        if size == "phone":
            fits_the_phone(page)
        screenshot(page, f"sizes/{name}-{size}", full_page=False)
    page.set_viewport_size(DESKTOP)


def test_every_main_page_passes_axe_at_desktop_and_phone_size(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    findings: dict[str, list[str]] = {}
    eva = make_user(email="eva.dahl@example.com", name="Eva Dahl")
    screen(app, eva.id, ("pregnancy",), now=utcnow())  # waits in the admin's queue
    screened_client(app, make_user, "maja@example.com")

    for name, path, heading in (
        ("home", "/", None),
        ("techniques", "/techniques", "Techniques"),
        ("technique", "/techniques/sports-massage", "Sports massage"),
        ("therapists", "/therapists", "Our therapists"),
    ):
        page.goto(path)
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        at_both_sizes(page, screenshot, name, findings)

    # A form that failed: the summary at the top and the fields' own messages.
    page.goto("/register")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#form-errors")).to_be_visible()
    at_both_sizes(page, screenshot, "form-errors", findings)

    log_in(page, "maja@example.com")
    page.goto("/screening/new")
    expect(page.get_by_role("heading", level=1)).to_contain_text("screening")
    at_both_sizes(page, screenshot, "screening", findings)

    page.goto(f"/book?technique=sports-massage&duration=60&from={a_few_days_ahead().isoformat()}")
    slot, start, therapist = first_free_time(page)
    at_both_sizes(page, screenshot, "slots", findings)
    slot.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your booking")
    at_both_sizes(page, screenshot, "confirm", findings)
    page.get_by_role("button", name="Confirm booking").click()
    expect(page).to_have_url(booking_url(live_server))
    at_both_sizes(page, screenshot, "booking", findings)
    page.goto("/my/bookings")
    expect(page.get_by_role("heading", level=1)).to_have_text("My bookings")
    at_both_sizes(page, screenshot, "my-bookings", findings)
    log_out(page)

    # The week of that session, in its therapist's calendar.
    log_in(page, f"{therapist.split()[0].lower()}@lindring.example", DEMO_PASSWORD)
    page.goto(f"/therapist/calendar?week={start.date().isoformat()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("My calendar")
    expect(page.locator("[data-booking]").first).to_contain_text("Maja Lund")
    at_both_sizes(page, screenshot, "therapist-calendar", findings)
    log_out(page)

    log_in(page, "admin@lindring.example", DEMO_PASSWORD)
    for name, path in (
        ("admin-start", "/admin/"),
        ("review-queue", "/admin/screenings/"),
        ("report", "/admin/reports/bookings"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        at_both_sizes(page, screenshot, name, findings)
    expect(page.locator("svg[role=img]").first).to_be_visible()

    assert len(findings) == 2 * 14  # every page was checked at both sizes
    assert {page: lines for page, lines in findings.items() if lines} == {}


# --- the keyboard alone ---------------------------------------------------------------------


def tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would (the mouse never moves)."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


def focus_is_visible(target: Locator) -> bool:
    """Whether the focused element shows it: an outline or Bootstrap's focus shadow."""
    style: dict[str, Any] = target.evaluate(
        "element => { const s = getComputedStyle(element);"
        " return {outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow}; }"
    )
    outlined = style["outline"] != "none" and style["width"] not in ("0px", "")
    return outlined or style["shadow"] not in ("none", "")


def test_a_client_books_with_the_keyboard_alone(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
) -> None:
    screened_client(app, make_user, "maja@example.com")
    page.goto("/login")

    # The first Tab reaches the skip link, which jumps past the menu.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()

    email = page.get_by_label("E-mail", exact=True)
    tab_to(page, email)
    assert focus_is_visible(email)
    page.keyboard.type("maja@example.com")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    # Refused: the message is announced and the e-mail typed is kept.
    expect(page.locator("#form-errors")).to_contain_text("is not right")
    expect(email).to_have_value("maja@example.com")
    tab_to(page, page.get_by_label("Password", exact=True))
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    expect(flash(page)).to_contain_text("You are logged in as")

    book = page.get_by_role("navigation", name="Main").get_by_role("link", name="Book", exact=True)
    tab_to(page, book)
    assert focus_is_visible(book)
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is(live_server, "/book"))

    technique = page.get_by_label("Technique")
    tab_to(page, technique)
    page.keyboard.type("Sports")  # a closed select takes the option its typed name starts with
    expect(technique.locator("option:checked")).to_have_text("Sports massage")
    start = page.get_by_label("From")
    tab_to(page, start)
    page.keyboard.type(a_few_days_ahead().strftime("%m%d%Y"))
    expect(start).to_have_value(a_few_days_ahead().isoformat())
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"Sports massage, \d+ minutes,"))).to_be_visible()

    slot, when, therapist = first_free_time(page)
    tab_to(page, slot)
    assert focus_is_visible(slot)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your booking")

    confirm = page.get_by_role("button", name="Confirm booking")
    tab_to(page, confirm)
    assert focus_is_visible(confirm)
    page.keyboard.press("Enter")
    expect(page).to_have_url(booking_url(live_server))
    expect(flash(page)).to_contain_text("Your booking is confirmed.")
    expect(page.locator("main")).to_contain_text(therapist)
    expect(page.locator("main")).to_contain_text(f"{when:%H:%M}")
