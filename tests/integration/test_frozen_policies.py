"""Policies frozen on each booking: a booking keeps the price and the cancellation cut-off in
force when it was made, whatever the clinic changes later, also when it is moved.

The clock starts on Monday 22 March 2027, 07:00 in Copenhagen (CET), with the demo clinic. Ida
books Anna's 60-minute sports massage (DKK 650) on Wednesday at 10:00 under the 24-hour
cut-off; then the admin raises the cut-off to 48 hours on the policies page and the price to
DKK 720 (there is no page for prices yet, so the test writes it to the database).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.booking.models import BookingStatus
from clinic.catalog.models import Technique, TechniqueOption
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.notify.reminders import queue_due_reminders
from tests.integration.test_api import bearer, token_for
from tests.integration.test_booking import book, booked_id, flashed, params, post_on_page
from tests.integration.test_booking_changes import move, subjects
from tests.support import MONDAY, Clinic, Mailbox, Person, load, local, post_form

WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
WED_10 = local(WEDNESDAY, "10:00")
THU_10 = local(THURSDAY, "10:00")
OLD_PRICE, NEW_PRICE = 650_00, 720_00

# What the policies page holds in the demo clinic.
DEMO_POLICY = {
    "granularity_minutes": "15",
    "buffer_minutes": "15",
    "min_notice_minutes": "120",
    "horizon_days": "90",
    "cancellation_cutoff_hours": "24",
    "waitlist_claim_minutes": "120",
    "no_show_review_threshold": "0",
}


def save_policies(clinic: Clinic, **changes: object) -> None:
    """The admin saves the policies page with these changes."""
    admin = clinic.staff("admin")
    data = {**DEMO_POLICY, **{name: str(value) for name, value in changes.items()}}
    response = post_form(admin, "/admin/policies", data)
    assert response.status_code == 302, response.get_data(as_text=True)


def change_terms(clinic: Clinic) -> None:
    """The clinic raises the cut-off to 48 hours (on its page) and the price to DKK 720."""
    save_policies(clinic, cancellation_cutoff_hours=48)
    with clinic.app.app_context():
        option = db.session.scalar(
            select(TechniqueOption)
            .join(Technique)
            .where(Technique.slug == "sports-massage", TechniqueOption.duration_minutes == 60)
        )
        assert option.price_minor == OLD_PRICE
        option.price_minor = NEW_PRICE
        db.session.commit()


def terms(clinic: Clinic, booking_id: int) -> tuple[int, int]:
    booking = load(clinic, booking_id)
    return booking.price_minor, booking.cancellation_cutoff_hours


def test_the_booking_page_the_api_and_the_reminder_keep_the_terms_it_was_booked_with(
    clinic: Clinic, ida: Person
):
    booking_id = booked_id(book(ida.web, params(clinic, start=WED_10)))
    change_terms(clinic)

    assert terms(clinic, booking_id) == (OLD_PRICE, 24)
    for web in (ida.web, clinic.staff("admin")):
        page = web.get(f"/bookings/{booking_id}").get_data(as_text=True)
        assert "DKK 650" in page and "DKK 720" not in page
        assert "until 24 hours before the session (23 March 2027, 10:00 CET)" in page
        assert "48 hours" not in page

    web = clinic.web()
    [row] = web.get("/api/v1/bookings", headers=bearer(token_for(web, ida.email))).get_json()
    assert row["price_minor"] == OLD_PRICE
    assert row["cancellation_cutoff_hours"] == 24
    assert row["cancellable_until"] == "2027-03-23T10:00:00+01:00"

    # The reminder, written a day before the session, long after the change.
    with clinic.app.app_context():
        assert queue_due_reminders(WED_10 - timedelta(hours=23)) == 1
        db.session.commit()
        reminder = db.session.scalar(
            select(OutboxMessage.body_text).where(OutboxMessage.subject.startswith("Reminder"))
        )
    assert "until 24 hours before the session" in reminder
    assert "48 hours" not in reminder


def test_the_client_cancels_under_the_cut_off_of_the_booking_not_the_new_one(
    clinic: Clinic, ida: Person
):
    before = booked_id(book(ida.web, params(clinic, start=WED_10)))
    change_terms(clinic)
    after = booked_id(book(ida.web, params(clinic, start=THU_10)))
    assert terms(clinic, after) == (NEW_PRICE, 48)

    # 30 hours ahead: inside the new 48 hours, outside the booking's own 24.
    clinic.set_clock(WED_10 - timedelta(hours=30))
    page = ida.web.get(f"/bookings/{before}").get_data(as_text=True)
    assert "Cancel booking" in page and "Move to another time" in page
    response = post_on_page(ida.web, f"/bookings/{before}", f"/bookings/{before}/cancel")
    assert "The booking is cancelled." in flashed(ida.web, response)
    assert load(clinic, before).status is BookingStatus.CANCELLED

    # The booking made after the change has the 48 hours: 30 hours ahead is too late.
    clinic.set_clock(THU_10 - timedelta(hours=30))
    page = ida.web.get(f"/bookings/{after}").get_data(as_text=True)
    assert "Changes are possible until 48 hours before the session." in page
    assert "Cancel booking" not in page
    response = post_on_page(ida.web, f"/bookings/{after}", f"/bookings/{after}/cancel")
    assert "Changes are possible until 48 hours" in flashed(ida.web, response)
    assert load(clinic, after).status is BookingStatus.CONFIRMED


def test_a_booking_made_after_the_change_gets_the_new_terms_everywhere(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    change_terms(clinic)
    confirm = ida.web.get("/book/confirm", query_string=params(clinic, start=WED_10))
    page = confirm.get_data(as_text=True)
    assert "DKK 720" in page and "until 48 hours before the session" in page

    booking_id = booked_id(book(ida.web, params(clinic, start=WED_10)))
    assert terms(clinic, booking_id) == (NEW_PRICE, 48)
    page = ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "DKK 720" in page and "until 48 hours before the session" in page
    [booked] = mailbox.to(ida.email)
    body = Mailbox.body(booked)
    assert "Price: DKK 720" in body
    assert "until 22 March 2027, 10:00 CET (48 hours before)" in body


def test_a_moved_booking_keeps_its_price_and_cut_off(clinic: Clinic, ida: Person, mailbox: Mailbox):
    """Moving is not booking anew: the client keeps the terms they agreed to."""
    booking_id = booked_id(book(ida.web, params(clinic, start=WED_10)))
    change_terms(clinic)
    mailbox.messages.clear()

    response = move(ida.web, booking_id, THU_10, clinic.ids["anna"])
    assert response.status_code == 302, response.get_data(as_text=True)

    moved = load(clinic, booking_id)
    assert moved.starts_at == THU_10
    assert (moved.price_minor, moved.cancellation_cutoff_hours) == (OLD_PRICE, 24)
    assert subjects(mailbox, ida.email) == ["Your booking has moved"]
    body = Mailbox.body(mailbox.to(ida.email)[0])
    assert "Price: DKK 650" in body
    assert "until 24 March 2027, 10:00 CET (24 hours before)" in body


def test_the_late_mark_follows_the_cut_off_of_the_booking(clinic: Clinic, ida: Person):
    """30 hours ahead the client could still cancel this booking themselves, so the clinic
    cannot count a cancellation then as late, although the new cut-off is 48 hours."""
    booking_id = booked_id(book(ida.web, params(clinic, start=WED_10)))
    change_terms(clinic)
    clinic.set_clock(WED_10 - timedelta(hours=30))
    admin = clinic.staff("admin")
    page = admin.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "counts against them" not in page

    response = post_on_page(
        admin,
        f"/bookings/{booking_id}",
        f"/bookings/{booking_id}/cancel",
        {"reason": "The client called.", "late": "y"},
    )
    assert "after the client&#39;s cut-off" in flashed(admin, response)
    booking = load(clinic, booking_id)
    assert booking.status is BookingStatus.CONFIRMED and not booking.late_cancellation
