"""Moving a booking in a real browser: book a time, move it to another, see the old one free.

The real clock runs here (the live server is another thread, the browser another process), so
the session booked is a few days ahead, past the 24-hour cut-off; the booking that is too close
to move is written straight into the database for a start three hours from now.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select

from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus, TimeClaim
from clinic.booking.operations import claim_blocks, claims_for
from clinic.catalog.models import Room, Technique, TechniqueOption, Therapist
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.templating import format_date, format_local_datetime
from tests.e2e.journeys import (
    SIZES,
    Screenshot,
    a_few_days_ahead,
    booked_with,
    booking_url,
    clinic_time,
    first_free_time,
    flash,
    log_in,
    menu,
    path_is,
    photograph,
    screened_client,
    search_sports_massage_90,
    use_size,
    wait_for_mail,
)
from tests.support import Mailbox

ZONE = "Europe/Copenhagen"
BUFFER = timedelta(minutes=15)
CUTOFF_SENTENCE = "Changes are possible until 24 hours before the session. Please call the clinic."


# --- helpers ------------------------------------------------------------------------------------


def when(start: datetime, minutes: int) -> str:
    """How the booking pages write a session's time: 'Monday 29 March 2027, 09:00\u201310:30'."""
    start = clinic_time(start)
    end = start + timedelta(minutes=minutes)
    return f"{format_date(start.date())}, {start:%H:%M}\u2013{end:%H:%M}"


def offered(page: Page) -> list[tuple[datetime, str, Locator]]:
    """Every time on the page: its start, the therapist it books, its link."""
    expect(page.locator(".slot-days, .alert-secondary").first).to_be_visible()
    found = []
    for slot in page.locator("a.slot").all():
        instant = datetime.fromisoformat(slot.locator("time").get_attribute("datetime") or "")
        found.append((clinic_time(instant), booked_with(slot), slot))
    return found


def stored(app: Flask, booking_id: int) -> tuple[Booking, set[tuple[str, int, datetime]]]:
    """The booking (detached) and its time claims as (kind, resource, block start)."""
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking is not None
        claims = {
            (c.kind, c.resource_id, c.block_start)
            for c in db.session.scalars(select(TimeClaim).where(TimeClaim.booking_id == booking_id))
        }
        db.session.expunge(booking)
        return booking, claims


def expected_claims(booking: Booking, start: datetime) -> set[tuple[str, int, datetime]]:
    """The blocks a session of this booking starting at `start` holds, buffer included."""
    end = start + timedelta(minutes=booking.duration_minutes) + BUFFER
    return {
        (kind, rid, block)
        for kind, rid in (("therapist", booking.therapist_id), ("room", booking.room_id))
        for block in claim_blocks(start, end)
    }


# --- moving a booking -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_client_moves_a_booking_to_another_free_time(
    size: str,
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    mailbox: Mailbox,
    screenshot: Screenshot,
) -> None:
    client = screened_client(app, make_user, "maja@example.com")
    use_size(page, size)
    log_in(page, "maja@example.com")

    # Book a sports massage a few days ahead, as in test_booking_journeys.py.
    menu(page).get_by_role("link", name="Book", exact=True).click()
    search_sports_massage_90(page, a_few_days_ahead())
    slot, old_start, therapist = first_free_time(page)
    slot.click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page).to_have_url(booking_url(live_server))
    booking_id = int(booking_url(live_server).match(page.url).group(1))
    expect(flash(page)).to_contain_text("Your booking is confirmed.")
    expect(page.locator(".booking-summary")).to_contain_text(when(old_start, 90))
    before, old_claims = stored(app, booking_id)
    assert before.client_id == client.id and before.starts_at == old_start
    assert old_claims == expected_claims(before, old_start)
    wait_for_mail(mailbox, "maja@example.com", 1)

    # The move page: the same technique and length, with the same therapist unless asked.
    page.get_by_role("link", name="Move to another time").click()
    expect(page).to_have_url(path_is(live_server, f"/bookings/{booking_id}/reschedule"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Move sports massage to another time")
    expect(page.get_by_text(re.compile("^Now:"))).to_contain_text(when(old_start, 90))
    expect(page.get_by_text(re.compile("^Now:"))).to_contain_text(f"with {therapist}, 90 minutes")
    expect(page.get_by_label("Therapist")).to_have_value(str(before.therapist_id))
    expect(page.locator("#reschedule-problem")).to_have_count(0)
    times = offered(page)
    assert times, "no free times offered to move to"
    assert {name for _, name, _ in times} == {therapist}
    assert old_start not in {start for start, _, _ in times}  # it is the booking's own time
    photograph(screenshot, page, "reschedule", size)

    # Another day, past the cut-off, so the moved booking can still be changed afterwards.
    later_than = clinic_time(utcnow()) + timedelta(hours=25)
    candidates = [
        (start, link)
        for start, _, link in times
        if start > later_than and start.date() != old_start.date()
    ]
    assert candidates, "no time on another day to move to"
    new_start, new_slot = candidates[0]
    new_slot.click()
    chosen = page.locator("#chosen")
    expect(chosen).to_contain_text("Move it here?")
    expect(chosen).to_contain_text(f"{when(new_start, 90)} {new_start:%Z} with {therapist}.")
    chosen.get_by_role("button", name="Move the booking here").click()

    # Back on the same booking, at its new time.
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/bookings/{booking_id}$"))
    expect(flash(page)).to_contain_text("The booking has moved. An e-mail confirms the new time.")
    expect(page.locator("h1 .badge")).to_have_text("Confirmed")
    summary = page.locator(".booking-summary")
    expect(summary).to_contain_text(when(new_start, 90))
    expect(summary).not_to_contain_text(when(old_start, 90))
    expect(summary).to_contain_text(therapist)
    expect(page.get_by_role("link", name="Move to another time")).to_be_visible()

    after, new_claims = stored(app, booking_id)
    assert after.id == booking_id and after.client_id == client.id
    assert after.starts_at == new_start
    assert after.ends_at == new_start + timedelta(minutes=90)
    assert after.status is BookingStatus.CONFIRMED
    assert after.therapist_id == before.therapist_id
    assert after.price_minor == before.price_minor
    assert after.sequence == before.sequence + 1
    assert new_claims == expected_claims(after, new_start)
    with app.app_context():
        left_on_old = db.session.scalar(
            select(func.count())
            .select_from(TimeClaim)
            .where(TimeClaim.block_start.in_([b for _, _, b in old_claims]))
        )
        assert left_on_old == 0
        therapist_email = db.session.get(Therapist, after.therapist_id).user.email

    mails = wait_for_mail(mailbox, "maja@example.com", 2)
    assert [m["Subject"] for m in mails] == ["Your booking is confirmed", "Your booking has moved"]
    body = Mailbox.body(mails[1])
    assert f"The session has moved from {format_local_datetime(old_start, ZONE)}." in body
    assert format_local_datetime(new_start, ZONE) in body
    assert f"/bookings/{booking_id}" in body
    subjects = [m["Subject"] for m in wait_for_mail(mailbox, therapist_email, 2)]
    assert subjects == ["New session booked", "A session has moved"]

    # The old time is free again with that therapist; the new one is taken.
    menu(page).get_by_role("link", name="Book", exact=True).click()
    search_sports_massage_90(page, min(old_start.date(), new_start.date()))
    page.get_by_label("Therapist").select_option(label=therapist)
    page.get_by_role("button", name="Show free times").click()
    expect(page.get_by_label("Therapist")).to_have_value(str(after.therapist_id))
    times = offered(page)
    assert {name for _, name, _ in times} == {therapist}
    starts = {start for start, _, _ in times}
    assert old_start in starts
    assert new_start not in starts


# --- too close to move --------------------------------------------------------------------------


def booking_in_three_hours(app: Flask, client: User) -> tuple[int, datetime]:
    """A confirmed hour of sports massage with Bo, three hours (on the 15-minute grid) from now.

    Written through the ORM, with its claims, because the real clock may put that time outside
    anyone's working hours (a night or a Sunday), where `book` would rightly refuse it.
    """
    now = utcnow()
    soon = now + timedelta(hours=3)
    start = soon.replace(second=0, microsecond=0) + timedelta(minutes=-soon.minute % 15)
    if start < soon:
        start += timedelta(minutes=15)
    with app.app_context():
        technique = db.session.scalar(select(Technique).where(Technique.slug == "sports-massage"))
        option = db.session.scalar(
            select(TechniqueOption).where(
                TechniqueOption.technique_id == technique.id,
                TechniqueOption.duration_minutes == 60,
            )
        )
        therapist = db.session.scalar(
            select(Therapist).join(User).where(User.email == "bo@lindring.example")
        )
        room = db.session.scalar(select(Room.id).where(Room.active).order_by(Room.id).limit(1))
        booking = Booking(
            client_id=client.id,
            therapist_id=therapist.id,
            technique_id=technique.id,
            room_id=room,
            starts_at=start,
            ends_at=start + timedelta(minutes=60),
            duration_minutes=60,
            price_minor=option.price_minor,
            status=BookingStatus.CONFIRMED,
            buffer_minutes=15,
            cancellation_cutoff_hours=24,
            created_at=now,
            updated_at=now,
        )
        db.session.add(booking)
        db.session.flush()
        db.session.add_all(claims_for(booking))
        db.session.commit()
        return booking.id, start


def test_a_booking_inside_the_cut_off_can_be_neither_cancelled_nor_moved(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    mailbox: Mailbox,
) -> None:
    client = screened_client(app, make_user, "ola@example.com")
    booking_id, start = booking_in_three_hours(app, client)
    # Past the 2-hour notice (it could have been booked) and inside the 24-hour cut-off.
    assert timedelta(hours=2) < start - utcnow() < timedelta(hours=24)
    before, claims = stored(app, booking_id)
    assert claims == expected_claims(before, start)

    log_in(page, "ola@example.com")
    page.goto(f"/bookings/{booking_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sports massage")
    expect(page.locator("h1 .badge")).to_have_text("Confirmed")
    expect(page.locator(".booking-summary")).to_contain_text(when(start, 60))

    # Neither the cancel form nor the move link; each place says why instead.
    expect(page.get_by_role("button", name="Cancel booking")).to_have_count(0)
    expect(page.get_by_label(re.compile("^Reason"))).to_have_count(0)
    expect(page.locator(f"form[action$='/bookings/{booking_id}/cancel']")).to_have_count(0)
    expect(page.get_by_role("link", name="Move to another time")).to_have_count(0)
    expect(page.locator(f"a[href$='/bookings/{booking_id}/reschedule']")).to_have_count(0)
    for heading in ("Cancel", "Move"):
        section = page.locator(".col-md-6").filter(
            has=page.get_by_role("heading", name=heading, exact=True)
        )
        expect(section).to_have_count(1)
        expect(section).to_contain_text(CUTOFF_SENTENCE)

    # The move page, opened by its address (even with a time chosen), offers nothing either.
    elsewhere = (start + timedelta(days=7)).isoformat()
    page.goto(f"/bookings/{booking_id}/reschedule?start={elsewhere}&to={before.therapist_id}")
    expect(page.locator("#reschedule-problem")).to_have_text(CUTOFF_SENTENCE)
    expect(page.locator("a.slot")).to_have_count(0)
    expect(page.locator("#chosen")).to_have_count(0)
    expect(page.get_by_role("button", name="Move the booking here")).to_have_count(0)

    after, claims_after = stored(app, booking_id)
    assert after.starts_at == start and after.status is BookingStatus.CONFIRMED
    assert after.sequence == before.sequence and claims_after == claims
    assert mailbox.to("ola@example.com") == []
