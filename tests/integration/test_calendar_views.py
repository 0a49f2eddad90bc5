"""The therapist's calendar (week and day), an admin's view of it, and the clinic's day.

The clock is pinned to Monday 22 March 2027, 07:00 in Copenhagen (CET), and the demo clinic is
seeded for that day. That week ends with Sunday 28 March, when the clocks go forward at 02:00:
a 23-hour day. Sessions are written straight into the database (with their time claims), so
that any time can be tested, a Sunday or the past included.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from clinic.audit.models import AuditEntry
from clinic.booking.models import Booking, BookingStatus
from clinic.booking.operations import claims_for
from clinic.calendars.models import BusyTime, CalendarSource
from clinic.catalog.models import Room
from clinic.extensions import db
from clinic.scheduling.models import TimeOff
from tests.support import MONDAY, Clinic, Person, count_queries, local, login, post_form

TUESDAY = MONDAY + timedelta(days=1)
SUNDAY = MONDAY + timedelta(days=6)  # 28 March 2027: the clocks go forward at 02:00
NEXT_MONDAY = MONDAY + timedelta(days=7)
CAUTION = "Varicose veins: no pressure on the affected veins."


def add_booking(
    clinic: Clinic,
    client: Person,
    start: datetime,
    *,
    minutes: int = 60,
    therapist: str = "anna",
    technique: str = "sports-massage",
    room: str = "Room 1",
    status: BookingStatus = BookingStatus.CONFIRMED,
) -> int:
    """A booking written through the ORM, with its time claims while it is live."""
    with clinic.app.app_context():
        booking = Booking(
            client_id=client.id,
            therapist_id=clinic.ids[therapist],
            technique_id=clinic.ids[technique],
            room_id=db.session.scalar(select(Room.id).where(Room.name == room)),
            starts_at=start,
            ends_at=start + timedelta(minutes=minutes),
            duration_minutes=minutes,
            price_minor=65000,
            status=status,
            cancel_reason="Client is ill" if status is BookingStatus.CANCELLED else "",
        )
        db.session.add(booking)
        db.session.flush()
        if booking.is_live:
            db.session.add_all(claims_for(booking))
        db.session.commit()
        return booking.id


def add_busy(clinic: Clinic, therapist: str, start: datetime, end: datetime, source: str) -> None:
    with clinic.app.app_context():
        tid = clinic.ids[therapist]
        row = CalendarSource(therapist_id=tid, name=source, url=None)
        row.busy_times.append(BusyTime(therapist_id=tid, starts_at=start, ends_at=end))
        db.session.add(row)
        db.session.commit()


def add_time_off(clinic: Clinic, therapist: str, start: datetime, end: datetime, reason: str):
    with clinic.app.app_context():
        db.session.add(
            TimeOff(therapist_id=clinic.ids[therapist], starts_at=start, ends_at=end, reason=reason)
        )
        db.session.commit()


def page(web: FlaskClient, url: str) -> str:
    response = web.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return unescape(response.get_data(as_text=True))


def day_section(html: str, day) -> str:
    """The HTML of one day of a week page."""
    match = re.search(rf'<section [^>]*id="day-{day.isoformat()}".*?</section>', html, re.S)
    assert match, f"no section for {day}"
    return match.group(0)


def text(html: str) -> str:
    """The words of some HTML, tags dropped, white space collapsed, en dashes as hyphens."""
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
    return words.replace("\u2013", "-")


def entries(section: str) -> list[str]:
    """The agenda lines of a day, in order, as text."""
    return [text(li) for li in re.findall(r'<li class="cal-[^"]*".*?</li>', section, re.S)]


# --- the week -------------------------------------------------------------------------------


def test_the_week_shows_sessions_to_the_minute_with_client_technique_room_and_status(
    clinic, make_client
):
    maja = make_client("maja@example.com")
    booking = add_booking(clinic, maja, local(TUESDAY, "10:15"), room="Room 2")
    html = page(clinic.staff("anna"), "/therapist/calendar?week=2027-03-24")

    assert "Week 12: Monday 22 March - Sunday 28 March 2027" in text(html)
    tuesday = day_section(html, TUESDAY)
    assert entries(tuesday) == [
        "09:00 CET Working hours begin",
        "10:15 - 11:15 CET Maja Sports massage, 60 min · Room 2 Confirmed",
        "12:00 - 12:30 CET Break",
        "17:00 CET Working hours end",
    ]
    assert f'href="/bookings/{booking}"' in tuesday
    assert "09:00-12:00, 12:30-17:00 CET" in text(tuesday)
    # The other days have no sessions; the weekend is closed.
    assert "Maja" not in day_section(html, MONDAY)
    assert "Closed: no working hours" in text(day_section(html, MONDAY + timedelta(days=5)))
    assert "Closed: no working hours" not in text(day_section(html, MONDAY))


def test_the_week_defaults_to_this_week_in_clinic_time_and_marks_today(clinic):
    # Sunday 28 March, 23:30 UTC is already Monday 29 March in Copenhagen.
    clinic.set_clock(datetime.fromisoformat("2027-03-28T22:30:00+00:00"))
    html = page(clinic.staff("anna"), "/therapist/calendar")
    assert "Week 13: Monday 29 March - Sunday 4 April 2027" in text(html)
    today = day_section(html, NEXT_MONDAY)
    assert "is-today" in today and "Today" in text(today)
    assert html.count("is-today") == 1


def test_the_daylight_saving_week_keeps_sessions_at_their_wall_clock_time(clinic, make_client):
    maja = make_client("maja@example.com")
    saturday = MONDAY + timedelta(days=5)
    add_booking(clinic, maja, local(saturday, "09:00"))
    add_booking(clinic, maja, local(SUNDAY, "09:00"))
    add_booking(clinic, maja, local(NEXT_MONDAY, "09:00"))
    # Time off through the night the clocks change: 22:00 CET to 10:00 CEST, 11 hours.
    add_time_off(clinic, "anna", local(saturday, "22:00"), local(SUNDAY, "10:00"), "Travel")
    assert local(SUNDAY, "10:00") - local(saturday, "22:00") == timedelta(hours=11)
    anna = clinic.staff("anna")

    html = page(anna, "/therapist/calendar?week=2027-03-28")
    saturday_entries = entries(day_section(html, saturday))
    assert saturday_entries[0].startswith("09:00 - 10:00 CET Maja")
    assert saturday_entries[1] == "from 22:00 CET Time off: Travel"
    sunday = entries(day_section(html, SUNDAY))
    assert sunday[0] == "until 10:00 CEST Time off: Travel"
    # 09:00 CEST is 07:00 UTC, an hour earlier in UTC than Saturday's 09:00 CET.
    assert sunday[1].startswith("09:00 - 10:00 CEST Maja")
    assert 'datetime="2027-03-28T07:00:00+00:00"' in day_section(html, SUNDAY)
    assert 'datetime="2027-03-27T08:00:00+00:00"' in day_section(html, saturday)

    after = page(anna, "/therapist/calendar?week=2027-03-29")
    assert entries(day_section(after, NEXT_MONDAY))[:2] == [
        "09:00 CEST Working hours begin",
        "09:00 - 10:00 CEST Maja Sports massage, 60 min · Room 1 Confirmed",
    ]
    assert "09:00-12:00, 12:30-17:00 CEST" in text(day_section(after, NEXT_MONDAY))


def test_time_off_and_imported_busy_time_are_shown_and_busy_time_says_no_more(clinic, make_client):
    add_time_off(clinic, "anna", local(TUESDAY, "13:00"), local(TUESDAY, "15:30"), "Dentist")
    add_time_off(
        clinic,
        "anna",
        local(MONDAY + timedelta(days=2), "00:00"),
        local(MONDAY + timedelta(days=4), "00:00"),
        "Course",
    )
    add_busy(clinic, "anna", local(TUESDAY, "08:05"), local(TUESDAY, "08:50"), "Family calendar")
    add_busy(clinic, "bo", local(TUESDAY, "09:00"), local(TUESDAY, "10:00"), "Bo's private")
    html = page(clinic.staff("anna"), "/therapist/calendar?week=2027-03-22")

    tuesday = entries(day_section(html, TUESDAY))
    assert tuesday == [
        "08:05 - 08:50 CET Busy (from Family calendar)",
        "09:00 CET Working hours begin",
        "12:00 - 12:30 CET Break",
        "13:00 - 15:30 CET Time off: Dentist",
        "17:00 CET Working hours end",
    ]
    # Two whole days off: each says so; the day after is untouched.
    for day in (MONDAY + timedelta(days=2), MONDAY + timedelta(days=3)):
        assert "All day Time off: Course" in entries(day_section(html, day))
    assert "Course" not in day_section(html, MONDAY + timedelta(days=4))
    assert "Bo's private" not in html  # someone else's busy time


def test_the_caution_for_the_session_is_shown_with_the_session_and_audit_logged(
    clinic, make_client
):
    ida = make_client("ida@example.com", yes=("varicose_veins",))
    ole = make_client("ole@example.com", screened=False)
    noted = add_booking(clinic, ida, local(TUESDAY, "10:00"))
    add_booking(clinic, ole, local(TUESDAY, "14:00"))
    cancelled = add_booking(clinic, ida, local(TUESDAY, "15:30"), status=BookingStatus.CANCELLED)
    html = page(clinic.staff("anna"), "/therapist/calendar?week=2027-03-22")
    tuesday = day_section(html, TUESDAY)
    lines = entries(tuesday)
    ida_line = next(line for line in lines if "Ida" in line and "10:00" in line)
    assert f"Caution {CAUTION}" in ida_line
    ole_line = next(line for line in lines if "Ole" in line)
    assert "No health screening on file" in ole_line and "Caution" not in ole_line
    # A cancelled session is shown as such, without notes.
    cancelled_line = next(line for line in lines if "15:30" in line)
    assert "Cancelled" in cancelled_line and "Caution" not in cancelled_line
    assert f'data-booking="{cancelled}"' in tuesday

    with clinic.app.app_context():
        logged = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "screening.notes_viewed")
        ).all()
    assert [(e.actor_id, e.detail) for e in logged] == [
        (logged[0].actor_id, {"client_id": ida.id, "booking_ids": [noted]})
    ]
    assert logged[0].subject_type == "screening"


def test_another_therapists_sessions_are_not_in_my_calendar(clinic, make_client):
    maja = make_client("maja@example.com", yes=("varicose_veins",))
    add_booking(clinic, maja, local(TUESDAY, "10:00"), therapist="bo", technique="classic-massage")
    html = page(clinic.staff("anna"), "/therapist/calendar?week=2027-03-22")
    assert "Maja" not in html and CAUTION not in html
    assert "Maja" in page(clinic.staff("bo"), "/therapist/calendar?week=2027-03-22")


def test_week_navigation_links_and_the_date_jump(clinic):
    html = page(clinic.staff("anna"), "/therapist/calendar?week=2027-03-25")
    assert 'href="/therapist/calendar?week=2027-03-15" rel="prev"' in html
    assert 'href="/therapist/calendar?week=2027-03-29" rel="next"' in html
    assert '<a class="btn btn-outline-secondary" href="/therapist/calendar">This week</a>' in html
    assert re.search(r'<form method="get" action="/therapist/calendar"', html)
    assert 'name="week" type="date" class="form-control" value="2027-03-22"' in html
    # Each day leads to its day page.
    assert 'href="/therapist/calendar/day?date=2027-03-24"' in html


def test_the_calendar_leads_to_external_calendars_and_the_feed_and_admins_find_it(clinic):
    own = page(clinic.staff("anna"), "/therapist/calendar")
    assert 'href="/therapist/calendar-sources"' in own and 'href="/account/calendar"' in own
    clara = clinic.ids["clara"]
    theirs = page(clinic.staff("admin"), f"/admin/therapists/{clara}/calendar")
    assert f'href="/admin/therapists/{clara}/calendar-sources"' in theirs
    assert 'href="/account/calendar"' not in theirs  # the admin's own feed is not Clara's
    listing = page(clinic.staff("admin"), "/admin/therapists")
    for name in ("anna", "bo", "clara", "david"):
        assert f'href="/admin/therapists/{clinic.ids[name]}/calendar"' in listing


@pytest.mark.parametrize(
    "query",
    [
        "week=2027-13-01",  # no such month
        "week=yesterday",  # not a date
        "week=0001-01-01",  # a date at the end of the calendar
    ],
)
def test_a_week_that_cannot_be_read_shows_this_week_with_a_note(clinic, query):
    html = page(clinic.staff("anna"), f"/therapist/calendar?{query}")
    assert "showing today" in html
    assert "Week 12: Monday 22 March - Sunday 28 March 2027" in text(html)


# --- the day --------------------------------------------------------------------------------


def test_the_day_view_shows_one_day_with_previous_and_next(clinic, make_client):
    ida = make_client("ida@example.com", yes=("varicose_veins",))
    booking = add_booking(
        clinic, ida, local(TUESDAY, "16:15"), minutes=30, technique="trigger-point-therapy"
    )
    html = page(clinic.staff("anna"), "/therapist/calendar/day?date=2027-03-23")
    assert "Tuesday 23 March 2027" in text(html)
    assert entries(day_section(html, TUESDAY))[-2:] == [
        f"16:15 - 16:45 CET Ida Trigger point therapy, 30 min · Room 1 Confirmed Caution {CAUTION}",
        "17:00 CET Working hours end",
    ]
    assert f'href="/bookings/{booking}"' in html
    assert 'href="/therapist/calendar/day?date=2027-03-22" rel="prev"' in html
    assert 'href="/therapist/calendar/day?date=2027-03-24" rel="next"' in html
    assert 'href="/therapist/calendar?week=2027-03-23#day-2027-03-23"' in html


def test_a_23_hour_sunday_and_a_closed_day(clinic, make_client):
    ida = make_client("ida@example.com")
    add_booking(clinic, ida, local(SUNDAY, "01:30"), minutes=90)  # over the missing hour
    html = page(clinic.staff("anna"), "/therapist/calendar/day?date=2027-03-28")
    sunday = day_section(html, SUNDAY)
    assert "Closed: no working hours" in text(sunday)
    assert entries(sunday)[0].startswith("01:30 - 04:00 CET/CEST Ida")


# --- from the calendar to the session and back ---------------------------------------------


def test_a_session_opened_from_the_calendar_is_marked_on_its_page(clinic, make_client):
    maja = make_client("maja@example.com")
    booking = add_booking(clinic, maja, local(MONDAY, "09:00"))
    clinic.set_clock(local(MONDAY, "10:30"))
    anna = clinic.staff("anna")
    week = page(anna, "/")
    assert 'href="/therapist/calendar">Calendar</a>' in week
    html = page(anna, "/therapist/calendar")
    assert f'href="/bookings/{booking}"' in day_section(html, MONDAY)

    response = post_form(
        anna, f"/bookings/{booking}/mark", {"outcome": "completed"}, page=f"/bookings/{booking}"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/bookings/{booking}"
    after = page(anna, "/therapist/calendar")
    line = next(line for line in entries(day_section(after, MONDAY)) if "Maja" in line)
    assert line.endswith("Completed")


def test_calendar_url_of_a_booking_depends_on_who_asks(clinic, make_client):
    from flask_login import login_user

    from clinic.auth.models import User
    from clinic.calendars.views import calendar_url_of

    maja = make_client("maja@example.com")
    booking_id = add_booking(clinic, maja, local(TUESDAY, "10:00"))
    with clinic.app.test_request_context():
        booking = db.session.get(Booking, booking_id)
        expected = {
            "anna@lindring.example": "/therapist/calendar?week=2027-03-23#day-2027-03-23",
            "admin@lindring.example": (
                f"/admin/therapists/{clinic.ids['anna']}/calendar?week=2027-03-23#day-2027-03-23"
            ),
            "bo@lindring.example": None,
            "maja@example.com": None,
        }
        for email, url in expected.items():
            login_user(User.by_email(email))
            assert calendar_url_of(booking) == url, email


# --- admins ---------------------------------------------------------------------------------


def test_an_admin_opens_any_therapists_week_with_a_picker(clinic, make_client):
    ida = make_client("ida@example.com", yes=("varicose_veins",))
    add_booking(clinic, ida, local(TUESDAY, "11:00"), therapist="clara", room="Room 3")
    admin = clinic.staff("admin")
    html = page(admin, f"/admin/therapists/{clinic.ids['clara']}/calendar?week=2027-03-23")
    assert '<h1 class="h2">Clara Nørgaard</h1>' in html
    tuesday = entries(day_section(html, TUESDAY))
    assert (
        f"11:00 - 12:00 CET Ida Sports massage, 60 min · Room 3 Confirmed Caution {CAUTION}"
        in tuesday
    )
    assert "Closed: no working hours" in text(day_section(html, MONDAY))  # Clara: Tue-Sat
    # The picker keeps the week and names every active therapist.
    for name in ("anna", "bo", "david"):
        assert f'href="/admin/therapists/{clinic.ids[name]}/calendar?week=2027-03-22"' in html
    assert 'class="nav-link active" aria-current="page"' in html
    nxt = f'href="/admin/therapists/{clinic.ids["clara"]}/calendar?week=2027-03-29" rel="next"'
    assert nxt in html
    day = page(admin, f"/admin/therapists/{clinic.ids['clara']}/calendar/day?date=2027-03-23")
    assert "Ida" in day and CAUTION in day


def test_the_clinic_day_shows_every_therapist_and_room_side_by_side(clinic, make_client):
    ida = make_client("ida@example.com", yes=("varicose_veins",))
    ole = make_client("ole@example.com")
    add_booking(clinic, ida, local(TUESDAY, "10:00"), therapist="anna", room="Room 1")
    add_booking(
        clinic,
        ole,
        local(TUESDAY, "10:00"),
        therapist="bo",
        technique="classic-massage",
        room="Room 2",
    )
    add_booking(clinic, ole, local(TUESDAY, "13:00"), therapist="clara", room="Room 2", minutes=90)
    add_booking(
        clinic, ida, local(TUESDAY, "15:00"), therapist="david", status=BookingStatus.CANCELLED
    )
    add_time_off(
        clinic, "david", local(TUESDAY, "00:00"), local(TUESDAY + timedelta(days=1), "00:00"), "Ill"
    )
    html = page(clinic.staff("admin"), "/admin/calendar/day?date=2027-03-23")

    def column(title: str) -> str:
        match = re.search(
            rf'<section [^>]*>\s*<div class="cal-day-head">\s*<h3[^>]*>(<a [^>]*>)?{title}'
            r".*?</section>",
            html,
            re.S,
        )
        assert match, title
        return text(match.group(0))

    assert "10:00 - 11:00 CET Ida Sports massage, 60 min · Room 1 Confirmed" in column("Anna Holm")
    assert "Ole Classic massage, 60 min · Room 2" in column("Bo Lindqvist")
    assert "13:00 - 14:30 CET Ole" in column("Clara Nørgaard")
    assert "All day Time off: Ill" in column("David Skov")
    assert "15:00" not in column("David Skov")  # cancelled sessions are left out
    room2 = column("Room 2")
    assert "Ole Classic massage, 60 min · Bo Lindqvist" in room2
    assert "13:00 - 14:30 CET Ole Sports massage, 90 min · Clara Nørgaard" in room2
    assert "0 sessions" in column("Room 3")
    assert CAUTION not in html  # a plan of who is where: notes are on each session's page
    assert (
        f'href="/admin/therapists/{clinic.ids["anna"]}/calendar?week=2027-03-23#day-2027-03-23"'
        in html
    )
    assert 'href="/admin/calendar/day?date=2027-03-24" rel="next"' in html


def test_a_saturday_shows_who_is_closed(clinic):
    html = text(page(clinic.staff("admin"), "/admin/calendar/day?date=2027-03-27"))
    assert html.count("Closed: no working hours") == 3  # all but Clara
    assert "10:00-18:00 CET" in html


# --- who may see what -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/therapist/calendar",
        "/therapist/calendar/day",
        "/admin/therapists/{anna}/calendar",
        "/admin/therapists/{anna}/calendar/day",
        "/admin/calendar/day",
    ],
)
def test_access_to_the_calendar_pages(clinic, make_client, path):
    path = path.format(anna=clinic.ids["anna"])
    admin_page = path.startswith("/admin")
    anonymous = clinic.web().get(path)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=")
    client = make_client("maja@example.com").web.get(path)
    assert client.status_code == 403
    therapist = clinic.staff("bo").get(path)
    assert therapist.status_code == (403 if admin_page else 200)
    admin = clinic.staff("admin").get(path)
    assert admin.status_code == (200 if admin_page else 403)
    for allowed in (therapist, admin):
        if allowed.status_code == 200:
            assert allowed.headers["Cache-Control"] == "no-store"


def test_an_unknown_therapist_is_not_found(clinic):
    assert clinic.staff("admin").get("/admin/therapists/9999/calendar").status_code == 404


def test_a_therapist_account_without_a_profile_has_no_calendar(clinic, make_user):
    from clinic.auth.models import Role

    make_user(Role.THERAPIST, email="new@example.com")
    web = clinic.web()
    login(web, "new@example.com")
    assert web.get("/therapist/calendar").status_code == 404


# --- queries ----------------------------------------------------------------------------------


def test_the_week_runs_a_fixed_number_of_queries_however_many_sessions(clinic, make_client):
    clients = [
        make_client(f"{name}@example.com", yes=("varicose_veins",))
        for name in ("ida", "ole", "liv")
    ]
    anna = clinic.staff("anna")
    for n, person in enumerate(clients):
        add_booking(clinic, person, local(MONDAY, "09:00") + timedelta(minutes=75 * n))
    with count_queries(clinic.app) as few:
        html = page(anna, "/therapist/calendar?week=2027-03-22")
    assert html.count("cal-caution-title") == 3

    # 27 more: six a day from Tuesday to Friday, and three more on Monday.
    for day in range(5):
        for slot in range(6):
            if day == 0 and slot < 3:
                continue
            start = local(MONDAY + timedelta(days=day), "09:00") + timedelta(minutes=75 * slot)
            add_booking(clinic, clients[slot % 3], start)
    with count_queries(clinic.app) as many:
        html = page(anna, "/therapist/calendar?week=2027-03-22")
    assert html.count("cal-caution-title") == 30
    assert len(many) == len(few), many
    assert len(many) <= 16, many
