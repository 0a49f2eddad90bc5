"""The therapist's calendar in a real browser: open it, page through the weeks, open a session,
mark it, come back; on a phone the week is a list of days. Admins see the clinic's day.

The real clock runs here, so the sessions are placed around now: one that began at the last
5-minute mark (so it can be marked now, and it is on today's date whatever the time), one a week
ahead, and a few others on the other days of this week. They are written through the ORM with
their claims, because now may be outside anyone's working hours (a night or a Sunday).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from itertools import pairwise

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus
from clinic.booking.operations import claims_for
from clinic.calendars.models import BusyTime, CalendarSource
from clinic.catalog.models import Room, Technique, Therapist
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.scheduling.models import TimeOff
from tests.conftest import today
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.journeys import (
    Screenshot,
    clinic_time,
    fits_the_phone,
    flash,
    log_in,
    nav,
    open_phone_menu,
    path_is,
)
from tests.support import CPH, DEMO_PASSWORD, screen

CAUTION = "Varicose veins: no pressure on the affected veins."


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=CPH)


class Sessions:
    """Writes Anna's sessions, with their time claims, and a little of everything else."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            self.anna = db.session.scalar(
                select(Therapist.id).join(User).where(User.email == "anna@lindring.example")
            )

    def add(
        self,
        client: User,
        start: datetime,
        *,
        minutes: int = 60,
        slug: str = "sports-massage",
        room: str = "Room 1",
        status: BookingStatus = BookingStatus.CONFIRMED,
    ) -> int:
        with self.app.app_context():
            booking = Booking(
                client_id=client.id,
                therapist_id=self.anna,
                technique_id=db.session.scalar(select(Technique.id).where(Technique.slug == slug)),
                room_id=db.session.scalar(select(Room.id).where(Room.name == room)),
                starts_at=start,
                ends_at=start + timedelta(minutes=minutes),
                duration_minutes=minutes,
                price_minor=65000,
                status=status,
            )
            db.session.add(booking)
            db.session.flush()
            db.session.add_all(claims_for(booking))
            db.session.commit()
            return booking.id

    def block(self, start: datetime, end: datetime, *, busy_from: str = "", reason: str = ""):
        with self.app.app_context():
            if busy_from:
                source = CalendarSource(therapist_id=self.anna, name=busy_from)
                source.busy_times.append(
                    BusyTime(therapist_id=self.anna, starts_at=start, ends_at=end)
                )
                db.session.add(source)
            else:
                db.session.add(
                    TimeOff(therapist_id=self.anna, starts_at=start, ends_at=end, reason=reason)
                )
            db.session.commit()


def clients(app: Flask, make_user: Callable[..., User]) -> tuple[User, User, User]:
    ida = make_user(email="ida@example.com", name="Ida Berg")
    screen(app, ida.id, ("varicose_veins",), now=utcnow())
    ole = make_user(email="ole@example.com", name="Ole Dahl")
    screen(app, ole.id, now=utcnow())
    liv = make_user(email="liv@example.com", name="Liv Holt")  # never screened
    return ida, ole, liv


def a_week_of_sessions(app: Flask, make_user: Callable[..., User]) -> tuple[int, int]:
    """Sessions this week and next; returns (the one that began just now, the one next week)."""
    ida, ole, liv = clients(app, make_user)
    sessions = Sessions(app)
    now = utcnow().replace(second=0, microsecond=0)
    # Floored to 5 minutes: on today's date in any whole-hour zone, and already begun.
    started = now - timedelta(minutes=now.minute % 5)
    current = sessions.add(ida, started)
    monday = today() - timedelta(days=today().weekday())
    for offset in range(5):
        day = monday + timedelta(days=offset)
        if day == today():
            continue
        sessions.add(ole, at(day, "09:15"), minutes=90, room="Room 2")
        sessions.add(liv if offset % 2 else ida, at(day, "13:00"), slug="trigger-point-therapy")
    sessions.block(
        at(monday + timedelta(days=2), "07:30"),
        at(monday + timedelta(days=2), "08:30"),
        busy_from="Family",
    )
    sessions.block(
        at(monday + timedelta(days=4), "15:00"),
        at(monday + timedelta(days=4), "17:00"),
        reason="Course",
    )
    next_week = sessions.add(ole, at(today() + timedelta(days=7), "10:00"))
    return current, next_week


def test_a_therapist_works_from_the_week_view(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    current, next_week = a_week_of_sessions(app, make_user)
    started = clinic_time(utcnow().replace(second=0, microsecond=0))
    started -= timedelta(minutes=started.minute % 5)
    log_in(page, "anna@lindring.example", DEMO_PASSWORD)

    nav(page).get_by_role("link", name="Calendar", exact=True).click()
    expect(page).to_have_url(path_is(live_server, "/therapist/calendar"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My calendar")
    expect(nav(page).get_by_role("link", name="Calendar", exact=True)).to_have_class(
        re.compile("active")
    )
    session = page.locator(f'[data-booking="{current}"]')
    expect(session).to_be_visible()
    expect(session).to_contain_text("Ida Berg")
    expect(session).to_contain_text("Sports massage, 60 min · Room 1")
    expect(session).to_contain_text(f"{started:%H:%M}")
    expect(session.locator(".cal-caution")).to_contain_text(CAUTION)
    today_section = page.locator(f"#day-{today().isoformat()}")
    expect(today_section).to_have_class(re.compile("is-today"))
    expect(page.locator(f'[data-booking="{next_week}"]')).to_have_count(0)
    assert page.locator(".cal-day").count() == 7
    # Seven columns side by side on a desktop.
    boxes = [page.locator(".cal-day").nth(i).bounding_box() for i in range(7)]
    assert len({round(b["y"]) for b in boxes}) == 1
    assert all(a["x"] < b["x"] for a, b in pairwise(boxes))
    assert page.viewport_size == DESKTOP
    screenshot(page, "calendar-week")

    # A week ahead, and back.
    page.get_by_role("link", name="Next week").click()
    expect(page).to_have_url(re.compile(r"/therapist/calendar\?week=\d{4}-\d\d-\d\d$"))
    expect(page.locator(f'[data-booking="{next_week}"]')).to_contain_text("Ole Dahl")
    expect(page.locator(f'[data-booking="{current}"]')).to_have_count(0)
    page.get_by_role("link", name="Previous week").click()
    expect(page.locator(f'[data-booking="{current}"]')).to_be_visible()
    expect(page.locator(f'[data-booking="{next_week}"]')).to_have_count(0)

    # The session's page: it has begun, so it can be marked.
    session.get_by_role("link").click()
    expect(page).to_have_url(path_is(live_server, f"/bookings/{current}"))
    expect(page.locator(".session-notes")).to_contain_text(CAUTION)
    page.get_by_label("Outcome").select_option(label="Completed")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(path_is(live_server, f"/bookings/{current}"))
    expect(page.locator("h1 .badge")).to_have_text("Completed")
    expect(flash(page)).to_be_visible()
    with app.app_context():
        assert db.session.get(Booking, current).status is BookingStatus.COMPLETED

    # Back in the calendar, the session says so.
    nav(page).get_by_role("link", name="Calendar", exact=True).click()
    expect(page.locator(f'[data-booking="{current}"] .cal-status')).to_have_text("Completed")


@pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True)
def test_on_a_phone_the_week_is_a_list_of_days(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    current, _ = a_week_of_sessions(app, make_user)
    log_in(page, "anna@lindring.example", DEMO_PASSWORD)
    open_phone_menu(page)
    nav(page).get_by_role("link", name="Calendar", exact=True).tap()
    expect(page.locator(f'[data-booking="{current}"]')).to_be_visible()
    fits_the_phone(page)
    days = page.locator(".cal-day")
    boxes = [days.nth(i).bounding_box() for i in range(7)]
    # One below the other, each the width of the page.
    assert all(a["y"] + a["height"] <= b["y"] for a, b in pairwise(boxes))
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"] for b in boxes)
    screenshot(page, "calendar-week-phone")


def test_an_admin_sees_the_clinic_day_and_any_therapists_week(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    current, _ = a_week_of_sessions(app, make_user)
    log_in(page, "admin@lindring.example", DEMO_PASSWORD)
    nav(page).get_by_role("link", name="Clinic day", exact=True).click()
    expect(page).to_have_url(path_is(live_server, "/admin/calendar/day"))
    anna = page.locator(".cal-day").filter(has=page.get_by_role("heading", name="Anna Holm"))
    expect(anna.locator(f'[data-booking="{current}"]')).to_contain_text("Ida Berg")
    room = page.locator(".cal-room").filter(has=page.get_by_role("heading", name="Room 1"))
    expect(room.locator(f'[data-booking="{current}"]')).to_contain_text("Anna Holm")
    expect(page.get_by_text(CAUTION)).to_have_count(0)
    screenshot(page, "clinic-day")

    anna.get_by_role("link", name="Anna Holm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Holm")
    expect(page.locator(f'[data-booking="{current}"] .cal-caution')).to_contain_text(CAUTION)
    page.get_by_role("navigation", name="Therapists").get_by_role(
        "link", name="Bo Lindqvist"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bo Lindqvist")
    expect(page.locator(f'[data-booking="{current}"]')).to_have_count(0)
