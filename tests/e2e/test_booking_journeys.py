"""Booking in a real browser: find a free time, confirm it, see it, cancel it; on a phone too.

The real clock runs here (the live server is another thread, the browser another process), so the
sessions booked are a few days ahead: past the 2-hour notice and before the 24-hour cut-off.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus, TimeClaim
from clinic.extensions import db
from tests.e2e.conftest import PHONE
from tests.e2e.journeys import (
    Screenshot,
    a_few_days_ahead,
    booking_url,
    first_free_time,
    fits_the_phone,
    flash,
    log_in,
    nav,
    open_phone_menu,
    path_is,
    screened_client,
    search_sports_massage_90,
    wait_for_mail,
)
from tests.support import Mailbox

SPORTS_90_PRICE = "DKK 925"
POLICY = "Free cancellation or rescheduling until 24 hours before the session"


def stored_booking(app: Flask, booking_id: int) -> tuple[Booking, int]:
    """The booking (detached) and how many time claims it holds."""
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking is not None
        claims = db.session.scalar(
            select(func.count()).select_from(TimeClaim).where(TimeClaim.booking_id == booking_id)
        )
        db.session.expunge(booking)
        return booking, claims


# --- the journey ----------------------------------------------------------------------------------


def test_client_books_a_free_time_sees_it_and_cancels_it(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    mailbox: Mailbox,
    screenshot: Screenshot,
) -> None:
    client = screened_client(app, make_user, "maja@example.com")
    log_in(page, "maja@example.com")

    nav(page).get_by_role("link", name="Book", exact=True).click()
    expect(page).to_have_url(path_is(live_server, "/book"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a free time")
    search_sports_massage_90(page, a_few_days_ahead())
    slot, start, therapist = first_free_time(page, check_clock=True)
    assert start.date() >= a_few_days_ahead()
    # With any therapist, each time of a day once, under no therapist's heading.
    expect(page.get_by_text("Each time is shown once")).to_be_visible()
    expect(page.locator(".slot-therapist")).to_have_count(0)
    for day in page.locator(".slot-day").all():
        clocks = day.locator("a.slot time").all_inner_texts()
        assert clocks and clocks == sorted(set(clocks)), clocks
    screenshot(page, "book")

    slot.click()
    expect(page).to_have_url(path_is(live_server, "/book/confirm"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your booking")
    summary = page.locator(".booking-summary")
    expect(summary).to_contain_text("Sports massage, 90 minutes")
    expect(summary).to_contain_text(therapist)
    expect(summary).to_contain_text(f"{start:%H:%M}\u2013{start + timedelta(minutes=90):%H:%M}")
    expect(summary).to_contain_text(re.compile(r"\b(CET|CEST)\b"))
    expect(summary).to_contain_text("Assigned when you confirm")
    expect(summary).to_contain_text(SPORTS_90_PRICE)
    expect(summary).to_contain_text(POLICY)
    screenshot(page, "confirm")

    page.get_by_role("button", name="Confirm booking").click()
    expect(page).to_have_url(booking_url(live_server))
    booking_id = int(booking_url(live_server).match(page.url).group(1))
    expect(flash(page)).to_contain_text("Your booking is confirmed.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sports massage")
    expect(page.locator("h1 .badge")).to_have_text("Confirmed")
    expect(page.locator(".booking-summary")).to_contain_text(re.compile(r"Room \d"))
    screenshot(page, "booking")

    booking, claims = stored_booking(app, booking_id)
    assert booking.client_id == client.id and booking.status is BookingStatus.CONFIRMED
    assert booking.starts_at == start and booking.duration_minutes == 90
    assert booking.price_minor == 925_00
    assert claims == 2 * (90 + 15) // 5  # therapist and room, session plus buffer
    [mail] = wait_for_mail(mailbox, "maja@example.com", 1)
    assert mail["Subject"] == "Your booking is confirmed"

    nav(page).get_by_role("link", name="My bookings").click()
    expect(page).to_have_url(path_is(live_server, "/my/bookings"))
    row = page.locator(f"tr[data-booking='{booking_id}']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Sports massage, 90 min")
    expect(row).to_contain_text(therapist)
    expect(row).to_contain_text("Confirmed")
    screenshot(page, "my-bookings")

    row.get_by_role("link", name=re.compile("^Details")).click()
    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}$"))
    page.get_by_label(re.compile("^Reason")).fill("Something came up at work.")
    page.get_by_role("button", name="Cancel booking").click()
    expect(flash(page)).to_contain_text("The booking is cancelled.")
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    expect(page.get_by_text(re.compile(r"^Cancelled \d"))).to_contain_text(
        "Something came up at work."
    )
    expect(page.get_by_role("button", name="Cancel booking")).to_have_count(0)

    booking, claims = stored_booking(app, booking_id)
    assert booking.status is BookingStatus.CANCELLED and claims == 0
    assert booking.cancel_reason == "Something came up at work."
    subjects = [m["Subject"] for m in wait_for_mail(mailbox, "maja@example.com", 2)]
    assert subjects == ["Your booking is confirmed", "Your booking is cancelled"]

    nav(page).get_by_role("link", name="My bookings").click()
    expect(page.locator(f"tr[data-booking='{booking_id}']")).to_contain_text("Cancelled")
    expect(page.get_by_text("Nothing booked yet.")).to_be_visible()  # nothing upcoming now

    # The time is free again on /book.
    nav(page).get_by_role("link", name="Book", exact=True).click()
    search_sports_massage_90(page, a_few_days_ahead())
    again, again_start, _ = first_free_time(page, check_clock=True)
    assert again_start == start
    expect(again).to_contain_text(f"{start:%H:%M}")


# --- a phone --------------------------------------------------------------------------------------


@pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True)
def test_booking_works_on_a_phone(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    client = screened_client(app, make_user, "maja@example.com")
    log_in(page, "maja@example.com")

    open_phone_menu(page)
    nav(page).get_by_role("link", name="Book", exact=True).tap()
    expect(page).to_have_url(path_is(live_server, "/book"))
    search_sports_massage_90(page, a_few_days_ahead())
    slot, start, therapist = first_free_time(page, check_clock=True)
    fits_the_phone(page)
    box = slot.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "book-phone")

    slot.tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your booking")
    expect(page.locator(".booking-summary")).to_contain_text(SPORTS_90_PRICE)
    expect(page.locator(".booking-summary")).to_contain_text(POLICY)
    fits_the_phone(page)
    page.get_by_role("button", name="Confirm booking").tap()

    expect(page).to_have_url(booking_url(live_server))
    expect(page.locator("h1 .badge")).to_have_text("Confirmed")
    expect(page.locator(".booking-summary")).to_contain_text(therapist)
    fits_the_phone(page)
    booking_id = int(booking_url(live_server).match(page.url).group(1))
    booking, _ = stored_booking(app, booking_id)
    assert booking.client_id == client.id and booking.starts_at == start
    assert booking.status is BookingStatus.CONFIRMED
