"""What the browser journeys share: finding things on the page, logging in, booking, reading mail.

Plain functions, used by the test_*journey*.py modules next to this one. The real clock runs in
these tests (the live server is another thread, the browser another process).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from email.message import Message
from pathlib import Path

from flask import Flask
from playwright.sync_api import Locator, Page, expect

from clinic.auth.models import User
from clinic.clock import utcnow
from tests.conftest import today
from tests.e2e.conftest import DESKTOP, PHONE
from tests.support import CPH, TEST_PASSWORD, Mailbox, screen

Screenshot = Callable[..., Path]  # (page, name, *, full_page=True)


# --- the page -------------------------------------------------------------------------------------


def nav(page: Page) -> Locator:
    """The main menu, named in the page's language."""
    return page.get_by_role("navigation", name=re.compile(r"^(Main|Hovedmenu)$"))


def open_phone_menu(page: Page) -> None:
    """Tap (or, without a touch screen, click) the menu button and wait until the menu has
    finished opening.

    Bootstrap's script (at the end of the page) must have run first: a tap before it has
    attached its handlers does nothing, which a busy machine showed after a login.
    """
    page.wait_for_function("() => window.bootstrap !== undefined")
    button = page.locator(".navbar-toggler")
    if page.evaluate("'ontouchstart' in window"):
        button.tap()
    else:
        button.click()
    expect(page.locator("#nav-main")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))


def menu(page: Page) -> Locator:
    """The main menu, opened first when it is folded behind its button (on a phone)."""
    # Only the style sheet hides the button on a wide window: wait until it has arrived.
    page.wait_for_load_state("load")
    folded = page.locator(".navbar-toggler").is_visible()
    if folded and "show" not in (page.locator("#nav-main").get_attribute("class") or "").split():
        open_phone_menu(page)
    return nav(page)


# The journeys that run at both sizes take `size`; `use_size` sets the window to it.
SIZES = ("desktop", "phone")


def use_size(page: Page, size: str) -> None:
    page.set_viewport_size(PHONE if size == "phone" else DESKTOP)


def photograph(screenshot: Screenshot, page: Page, name: str, size: str) -> None:
    """The README's picture at desktop size; on a phone, see that nothing is wider than it."""
    if size == "phone":
        fits_the_phone(page)
    else:
        screenshot(page, name)


def flash(page: Page) -> Locator:
    return page.locator(".flash-messages")


def path_is(live_server: str, path: str) -> re.Pattern[str]:
    """A URL pattern for `path` on the live server, with or without a query string."""
    return re.compile(rf"^{re.escape(live_server + path)}(\?.*)?$")


def booking_url(live_server: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(live_server)}/bookings/(\d+)$")


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a phone"


# --- people ---------------------------------------------------------------------------------------


def screened_client(app: Flask, make_user: Callable[..., User], email: str) -> User:
    """A client whose health screening (all answers "no") clears every technique."""
    user = make_user(email=email, name="Maja Lund")
    screen(app, user.id, now=utcnow())
    return user


def submit_login(page: Page, email: str, password: str) -> None:
    """Fill in and send the login form; whether it worked is for the caller to check."""
    page.goto("/login")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def log_in(page: Page, email: str, password: str = TEST_PASSWORD) -> None:
    """Log in through the form and see that it worked."""
    submit_login(page, email, password)
    expect(flash(page)).to_contain_text("You are logged in as")


def log_out(page: Page) -> None:
    """Log out from the menu and see that it worked."""
    menu(page).get_by_role("button", name="Log out").click()
    expect(flash(page)).to_contain_text("You are logged out.")
    expect(menu(page).get_by_role("link", name="Log in", exact=True)).to_be_visible()


def wait_for_mail(
    mailbox: Mailbox, address: str, count: int = 1, timeout: float = 10.0
) -> list[Message]:
    """All the e-mails to `address`, once there are at least `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        received = mailbox.to(address)
        if len(received) >= count:
            return received
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} e-mails to {address} within {timeout} s")


# --- booking --------------------------------------------------------------------------------------


def a_few_days_ahead() -> date:
    """Far enough for the notice and the cut-off, near enough for the first page of /book."""
    return today() + timedelta(days=3)


def clinic_time(instant: datetime) -> datetime:
    return instant.astimezone(CPH)


def search_sports_massage_90(page: Page, first_day: date) -> None:
    """Choose the technique, then its length (the lengths follow the technique), then the day."""
    page.get_by_label("Technique").select_option(label="Sports massage")
    page.get_by_role("button", name="Show free times").click()
    expect(page.get_by_label("Length")).to_have_value("60")
    page.get_by_label("Length").select_option(label="90 minutes")
    page.get_by_label("From").fill(first_day.isoformat())
    page.get_by_role("button", name="Show free times").click()
    expect(page.get_by_text("Sports massage, 90 minutes,")).to_be_visible()


def first_free_time(page: Page, *, check_clock: bool = False) -> tuple[Locator, datetime, str]:
    """The first time offered on the page: its link, its start (clinic time), its therapist.

    With `check_clock`, also expect the link to show that start as HH:MM.
    """
    slot = page.locator("a.slot").first
    expect(slot).to_be_visible()
    start = clinic_time(
        datetime.fromisoformat(slot.locator("time").get_attribute("datetime") or "")
    )
    if check_clock:
        expect(slot.locator("time")).to_have_text(f"{start:%H:%M}")
    return slot, start, booked_with(slot)


def booked_with(slot: Locator) -> str:
    """The therapist a time's link books: its hidden text says "with NAME" to screen readers
    (a search for any therapist lists each time once, under no therapist's heading)."""
    hidden = slot.locator(".visually-hidden").text_content() or ""
    return hidden.strip().removeprefix("with ")
