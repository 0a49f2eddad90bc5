"""Calendar files from the app: a booking's .ics download and each user's private feed.

Who may download what, what a feed holds (and what it never holds: anybody else's events,
screening answers, notes), the feed token's life (hashed, regenerated, deleted, wrong), the
instants around the spring DST change read back by two parsers, a bounded number of queries,
and the token kept out of the request log of a real server.

The clock is pinned to Monday 22 March 2027, 07:00 in Copenhagen (the `clinic` fixture).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import icalendar
import pytest
import vobject
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking import changes, operations
from clinic.booking.models import Booking, BookingStatus
from clinic.calendars import export
from clinic.calendars.models import CalendarFeed
from clinic.catalog.models import Room, Technique
from clinic.extensions import db
from tests.support import MONDAY, NOW, Clinic, Person, count_queries, local, post_form

TUESDAY = MONDAY + timedelta(days=1)
TUE_10 = local(TUESDAY, "10:00")
FRIDAY_BEFORE_DST = local(MONDAY + timedelta(days=4), "09:00")  # 26 March, CET
MONDAY_AFTER_DST = local(MONDAY + timedelta(days=7), "09:00")  # 29 March, CEST

# What Ida's screening says; none of it may reach a calendar file.
IDA_YES = ("skin_allergy", "varicose_veins")
SCREENING_WORDS = ("allerg", "nut-free", "lotion", "varicose", "veins", "screening", "health")
JON_WROTE = "my left knee swells after running"


def book(clinic: Clinic, client_id: int, therapist: str, start: datetime, **kw: object) -> int:
    """A booking through the booking operation itself, as the pages make them."""
    with clinic.app.app_context():
        booking = operations.book(
            db.session.get(User, client_id),
            operations.Request(
                str(kw.get("technique", "sports-massage")),
                int(kw.get("duration", 60)),  # type: ignore[arg-type]
                clinic.ids[therapist],
                start,
            ),
            now=clinic.now(),
            timezone="Europe/Copenhagen",
        )
        db.session.commit()
        return booking.id


def cancel(clinic: Clinic, booking_id: int, by_email: str, reason: str) -> None:
    with clinic.app.app_context():
        booking = db.session.get(Booking, booking_id)
        by = db.session.scalar(select(User).where(User.email == by_email))
        changes.cancel(booking, by=by, reason=reason, now=clinic.now())
        db.session.commit()


def old_booking(clinic: Clinic, client_id: int, therapist: str, days_ago: int) -> int:
    """A completed session in the past (the booking operation only books the future)."""
    start = NOW.replace(hour=9) - timedelta(days=days_ago)
    with clinic.app.app_context():
        booking = Booking(
            client_id=client_id,
            therapist_id=clinic.ids[therapist],
            technique_id=db.session.scalar(
                select(Technique.id).where(Technique.slug == "sports-massage")
            ),
            room_id=db.session.scalar(select(Room.id).order_by(Room.id).limit(1)),
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            duration_minutes=60,
            price_minor=65000,
            status=BookingStatus.COMPLETED,
        )
        db.session.add(booking)
        db.session.commit()
        return booking.id


def events(text: str) -> dict[str, icalendar.Event]:
    """The calendar's events by UID, read by icalendar."""
    calendar = icalendar.Calendar.from_ical(text)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def uid(booking_id: int) -> str:
    # PUBLIC_URL defaults to http://127.0.0.1:5000: its host is the UID's domain.
    return f"booking-{booking_id}@127.0.0.1"


def create_feed(web: FlaskClient) -> str:
    """Press "Create my calendar link" (or "Make a new link"); the feed's path."""
    return shown_path(post_form(web, "/account/calendar/regenerate", {}, page="/account/calendar"))


def shown_path(response) -> str:
    """The path of the feed URL the page shows after creating it."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    match = re.search(r'id="feed-url"[^>]*value="([^"]+)"', html)
    assert match, html
    url = unescape(match.group(1))
    assert url.startswith("http://localhost/calendar/") and url.endswith(".ics")
    return url.removeprefix("http://localhost")


def token_of(path: str) -> str:
    return path.removeprefix("/calendar/").removesuffix(".ics")


def read_feed(clinic: Clinic, path: str) -> str:
    """Fetch the feed as a calendar program does: no cookies, no login."""
    response = clinic.web().get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def ida(make_client) -> Person:
    """Client A: screened with two cautions for the therapist."""
    return make_client("ida@example.com", yes=IDA_YES)


@pytest.fixture
def jon(make_client) -> Person:
    """Client B: wrote something for the staff to review, so his bookings are pending."""
    return make_client("jon@example.com", other=JON_WROTE)


# --- a booking's .ics -----------------------------------------------------------------------


@pytest.fixture
def cast(clinic: Clinic, ida: Person, jon: Person) -> tuple[int, dict[str, FlaskClient]]:
    """Ida's booking with Anna (therapist X), and everyone who might download it."""
    booking_id = book(clinic, ida.id, "anna", TUE_10)
    return booking_id, {
        "anonymous": clinic.web(),
        "client A": ida.web,
        "client B": jon.web,
        "therapist X": clinic.staff("anna"),
        "therapist Y": clinic.staff("bo"),
        "admin": clinic.staff("admin"),
    }


@pytest.mark.parametrize(
    ("who", "status", "names"),
    [
        ("anonymous", 302, None),  # to the login page
        ("client A", 200, "Anna Holm"),  # the client's event names the therapist
        ("client B", 404, None),  # someone else's booking does not exist for them
        ("therapist X", 200, "Ida"),  # the therapist's names the client
        ("therapist Y", 404, None),
        ("admin", 200, "Ida"),
    ],
)
def test_who_may_download_a_booking(cast, who: str, status: int, names: str | None) -> None:
    booking_id, people = cast

    response = people[who].get(f"/bookings/{booking_id}.ics")

    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")
        return
    if status == 404:
        assert "BEGIN:VCALENDAR" not in response.get_data(as_text=True)
        return
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="booking-{booking_id}-2027-03-23.ics"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    event = events(response.get_data(as_text=True))[uid(booking_id)]
    assert str(event["SUMMARY"]) == f"Sports massage, 60 min ({names})"


def test_a_downloaded_booking_says_when_where_and_links_to_its_page(
    clinic: Clinic, ida: Person
) -> None:
    booking_id = book(clinic, ida.id, "anna", TUE_10)

    text = ida.web.get(f"/bookings/{booking_id}.ics").get_data(as_text=True)

    calendar = icalendar.Calendar.from_ical(text)
    assert "METHOD" not in calendar
    (event,) = calendar.walk("VEVENT")
    assert event.start.astimezone(UTC) == TUE_10
    assert event.end.astimezone(UTC) == TUE_10 + timedelta(hours=1)
    assert "DTSTART;TZID=Europe/Copenhagen:20270323T100000" in text
    assert event["STATUS"] == "CONFIRMED"
    assert event["SEQUENCE"] == 0
    assert str(event["LOCATION"]) == "Demo clinic, Room 1"
    assert str(event["DESCRIPTION"]) == f"http://localhost/bookings/{booking_id}"
    assert str(event["URL"]) == f"http://localhost/bookings/{booking_id}"
    # A download is not an invitation: nobody is asked to answer it.
    assert "ORGANIZER" not in event and "ATTENDEE" not in event
    # The booking page links to it.
    page = ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert f'href="/bookings/{booking_id}.ics"' in page


def test_a_cancelled_booking_keeps_its_uid_with_a_higher_sequence(
    clinic: Clinic, ida: Person
) -> None:
    booking_id = book(clinic, ida.id, "anna", TUE_10)
    before = events(ida.web.get(f"/bookings/{booking_id}.ics").get_data(as_text=True))
    cancel(clinic, booking_id, "anna@lindring.example", "Anna is ill")

    after = events(ida.web.get(f"/bookings/{booking_id}.ics").get_data(as_text=True))

    assert after.keys() == before.keys() == {uid(booking_id)}
    event = after[uid(booking_id)]
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] > before[uid(booking_id)]["SEQUENCE"]
    assert str(event["SUMMARY"]).startswith("Cancelled: Sports massage")


def test_invitations_name_the_clinic_as_organizer_and_the_recipient_as_attendee(
    clinic: Clinic, ida: Person
) -> None:
    booking_id = book(clinic, ida.id, "anna", TUE_10)

    with clinic.app.test_request_context(base_url="https://booking.clinic.example"):
        booking = db.session.get(Booking, booking_id)
        to_client = booking_ics(booking, method="REQUEST")
        to_therapist = booking_ics(booking, method="REQUEST", for_therapist=True)
        cancelled = booking_ics(booking, method="CANCEL")

    for text, attendee in [
        (to_client, "mailto:ida@example.com"),
        (to_therapist, "mailto:anna@lindring.example"),
    ]:
        calendar = icalendar.Calendar.from_ical(text)
        assert calendar["METHOD"] == "REQUEST"
        event = events(text)[uid(booking_id)]
        assert str(event["ORGANIZER"]) == "mailto:noreply@lindring.test"
        assert event["ORGANIZER"].params["CN"] == "Demo clinic"
        assert str(event["ATTENDEE"]) == attendee
        assert str(event["URL"]) == f"https://booking.clinic.example/bookings/{booking_id}"
    assert icalendar.Calendar.from_ical(cancelled)["METHOD"] == "CANCEL"


def booking_ics(booking: Booking, **kw: object) -> str:
    return export.booking_ics(booking, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "domain"),
    [
        ({"CALENDAR_UID_DOMAIN": "clinic.example"}, "clinic.example"),  # said outright
        ({"PUBLIC_URL": "https://booking.clinic.example"}, "booking.clinic.example"),
        ({"PUBLIC_URL": ""}, "lindring.invalid"),  # nothing to go by
    ],
)
def test_the_uid_domain_comes_from_the_settings(
    clinic: Clinic, ida: Person, settings: dict[str, str], domain: str
) -> None:
    booking_id = book(clinic, ida.id, "anna", TUE_10)
    clinic.app.config.update(settings)

    text = ida.web.get(f"/bookings/{booking_id}.ics").get_data(as_text=True)

    assert list(events(text)) == [f"booking-{booking_id}@{domain}"]


# --- the feed settings page and the token ---------------------------------------------------


def test_creating_a_feed_shows_its_url_once_and_stores_only_its_hash(
    clinic: Clinic, ida: Person
) -> None:
    page = ida.web.get("/account/calendar").get_data(as_text=True)
    assert "Create my calendar link" in page and "You have no calendar link" in page
    assert 'href="/account/calendar"' in ida.web.get("/account").get_data(as_text=True)

    response = post_form(ida.web, "/account/calendar/regenerate", {}, page="/account/calendar")
    path = shown_path(response)
    token = token_of(path)

    assert response.headers["Cache-Control"] == "no-store"
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    with clinic.app.app_context():
        (feed,) = db.session.scalars(select(CalendarFeed))
        assert feed.user_id == ida.id
        assert feed.token_hash != token
        assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == "calendar_feed")
        )
        assert [(a.action, a.actor_id, a.subject_id) for a in audit] == [
            ("calendar_feed.created", ida.id, feed.id)
        ]
    # Later visits say a link exists, but cannot show it.
    later = ida.web.get("/account/calendar").get_data(as_text=True)
    assert token not in later
    assert "Make a new link" in later and "Delete my calendar link" in later
    assert "Create my calendar link" not in later


def test_regenerating_kills_the_old_url_at_once(clinic: Clinic, ida: Person) -> None:
    old = create_feed(ida.web)
    assert "BEGIN:VCALENDAR" in read_feed(clinic, old)

    new = create_feed(ida.web)

    assert new != old
    assert clinic.web().get(old).status_code == 404
    assert "BEGIN:VCALENDAR" in read_feed(clinic, new)
    with clinic.app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(CalendarFeed)) == 1
        actions = db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "calendar_feed")
            .order_by(AuditEntry.id)
        )
        assert list(actions) == ["calendar_feed.created", "calendar_feed.regenerated"]


def test_deleting_the_feed_kills_its_url(clinic: Clinic, ida: Person) -> None:
    path = create_feed(ida.web)

    response = post_form(ida.web, "/account/calendar/delete", {}, page="/account/calendar")

    assert response.status_code == 302
    assert clinic.web().get(path).status_code == 404
    page = ida.web.get("/account/calendar").get_data(as_text=True)
    assert "Create my calendar link" in page and "is deleted" in page
    with clinic.app.app_context():
        assert db.session.scalars(select(CalendarFeed)).all() == []
        assert (
            db.session.scalar(
                select(AuditEntry.actor_id).where(AuditEntry.action == "calendar_feed.deleted")
            )
            == ida.id
        )


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/{wrong}.ics",  # a well-formed token nobody has
        "/calendar/{token}x.ics",  # one character too many
        "/calendar/{short}.ics",  # a prefix of the real one
        "/calendar/{hash}.ics",  # the stored hash is not the token
        "/calendar/.ics",
        "/calendar/{token}",  # without the extension
    ],
)
def test_a_wrong_token_gets_404(clinic: Clinic, ida: Person, path: str) -> None:
    token = token_of(create_feed(ida.web))
    wrong = path.format(
        wrong="A" * 43,
        token=token,
        short=token[:30],
        hash=hashlib.sha256(token.encode()).hexdigest(),
    )

    response = clinic.web().get(wrong)

    assert response.status_code == 404
    assert "BEGIN:VCALENDAR" not in response.get_data(as_text=True)


def test_the_feed_of_a_deactivated_account_gets_404(clinic: Clinic, ida: Person) -> None:
    path = create_feed(ida.web)
    with clinic.app.app_context():
        db.session.get(User, ida.id).active = False
        db.session.commit()

    assert clinic.web().get(path).status_code == 404


def test_changing_the_feed_needs_the_forms_csrf_token(clinic: Clinic, ida: Person) -> None:
    for action in ("regenerate", "delete"):
        assert ida.web.post(f"/account/calendar/{action}").status_code == 400
    with clinic.app.app_context():
        assert db.session.scalars(select(CalendarFeed)).all() == []


def test_feed_pages_need_a_login_and_a_post(clinic: Clinic) -> None:
    anonymous = clinic.web()
    response = anonymous.get("/account/calendar")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert anonymous.get("/account/calendar/regenerate").status_code == 405


# --- what a feed holds ------------------------------------------------------------------------


@pytest.fixture
def diary(clinic: Clinic, ida: Person, jon: Person) -> dict[str, int]:
    """Bookings of Ida and Jon with Anna and Bo, one of them cancelled by the therapist."""
    ids = {
        "ida-anna": book(clinic, ida.id, "anna", TUE_10),
        "ida-bo": book(clinic, ida.id, "bo", local(TUESDAY, "13:00"), technique="classic-massage"),
        "jon-anna": book(clinic, jon.id, "anna", local(TUESDAY, "14:00")),
        "jon-bo": book(clinic, jon.id, "bo", local(TUESDAY, "10:00"), technique="classic-massage"),
        "ida-anna-cancelled": book(clinic, ida.id, "anna", local(TUESDAY, "16:00")),
        "ida-anna-old": old_booking(clinic, ida.id, "anna", days_ago=30),
        "ida-anna-too-old": old_booking(clinic, ida.id, "anna", days_ago=120),
    }
    cancel(clinic, ids["ida-anna-cancelled"], "anna@lindring.example", "The client has a fever")
    return ids


def feed_of(clinic: Clinic, web: FlaskClient) -> str:
    return read_feed(clinic, create_feed(web))


def test_a_clients_feed_holds_their_bookings_and_nobody_elses(
    clinic: Clinic, ida: Person, diary: dict[str, int]
) -> None:
    text = feed_of(clinic, ida.web)

    found = events(text)
    assert set(found) == {
        uid(diary[k]) for k in ("ida-anna", "ida-bo", "ida-anna-cancelled", "ida-anna-old")
    }
    assert str(found[uid(diary["ida-anna"])]["SUMMARY"]) == "Sports massage, 60 min (Anna Holm)"
    assert str(found[uid(diary["ida-bo"])]["SUMMARY"]) == "Classic massage, 60 min (Bo Lindqvist)"
    cancelled = found[uid(diary["ida-anna-cancelled"])]
    assert cancelled["STATUS"] == "CANCELLED" and cancelled["SEQUENCE"] == 1
    calendar = icalendar.Calendar.from_ical(text)
    assert calendar["X-WR-CALNAME"] == "Demo clinic: bookings"
    assert "Jon" not in text


def test_a_therapists_feed_holds_their_sessions_with_the_clients_names(
    clinic: Clinic, diary: dict[str, int]
) -> None:
    text = feed_of(clinic, clinic.staff("anna"))

    found = events(text)
    assert set(found) == {
        uid(diary[k]) for k in ("ida-anna", "jon-anna", "ida-anna-cancelled", "ida-anna-old")
    }
    assert str(found[uid(diary["ida-anna"])]["SUMMARY"]) == "Sports massage, 60 min (Ida)"
    jons = found[uid(diary["jon-anna"])]
    assert str(jons["SUMMARY"]) == "Sports massage, 60 min (Jon)"
    assert jons["STATUS"] == "TENTATIVE"  # waits for the review of what Jon wrote
    assert str(jons["DESCRIPTION"]) == (
        f"Held until the clinic confirms it.\nhttp://localhost/bookings/{diary['jon-anna']}"
    )
    assert icalendar.Calendar.from_ical(text)["X-WR-CALNAME"] == "Demo clinic: sessions"
    assert "Bo Lindqvist" not in text and "Classic massage" not in text


def test_no_feed_or_download_carries_screening_answers_notes_or_reasons(
    clinic: Clinic, ida: Person, jon: Person, diary: dict[str, int]
) -> None:
    anna = clinic.staff("anna")
    texts = [feed_of(clinic, anna), feed_of(clinic, ida.web), feed_of(clinic, jon.web)]
    admin = clinic.staff("admin")
    texts += [admin.get(f"/bookings/{diary[k]}.ics").get_data(as_text=True) for k in diary]
    texts += [anna.get(f"/bookings/{diary['ida-anna']}.ics").get_data(as_text=True)]
    # Anna's page for the session does show the screening notes: they exist to be leaked.
    page = anna.get(f"/bookings/{diary['ida-anna']}").get_data(as_text=True)
    assert "Allergy to oils" in page

    for text in texts:
        assert "BEGIN:VCALENDAR" in text
        lowered = text.lower()
        for word in (*SCREENING_WORDS, "knee", "fever", "running"):
            assert word not in lowered, word


def test_an_admins_feed_is_an_empty_calendar(clinic: Clinic, diary: dict[str, int]) -> None:
    admin = clinic.staff("admin")
    assert "calendar stays empty" in admin.get("/account/calendar").get_data(as_text=True)

    text = feed_of(clinic, admin)

    assert events(text) == {}
    assert vobject.readOne(text).name == "VCALENDAR"


def test_feed_instants_across_the_spring_dst_change_in_two_parsers(
    clinic: Clinic, ida: Person
) -> None:
    before = book(clinic, ida.id, "anna", FRIDAY_BEFORE_DST)
    after = book(clinic, ida.id, "anna", MONDAY_AFTER_DST)

    text = feed_of(clinic, ida.web)

    expected = {
        uid(before): datetime(2027, 3, 26, 8, 0, tzinfo=UTC),
        uid(after): datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
    }
    assert {k: e.start.astimezone(UTC) for k, e in events(text).items()} == expected
    parsed = vobject.readOne(text)
    assert {e.uid.value: e.dtstart.value.astimezone(UTC) for e in parsed.vevent_list} == expected
    assert {e.dtstart.value.strftime("%H:%M") for e in parsed.vevent_list} == {"09:00"}


def test_the_feed_answers_with_calendar_headers(clinic: Clinic, ida: Person) -> None:
    path = create_feed(ida.web)

    response = clinic.web().get(path)

    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_a_feed_takes_the_same_few_queries_however_many_bookings(
    clinic: Clinic, ida: Person, jon: Person
) -> None:
    book(clinic, ida.id, "anna", TUE_10)
    path = create_feed(clinic.staff("anna"))
    web = clinic.web()
    web.get(path)  # the first read is recorded; the ones measured are not

    with count_queries(clinic.app) as few:
        assert web.get(path).status_code == 200
    for n in range(1, 12):
        day = TUESDAY + timedelta(days=n)
        if day.weekday() < 5:
            client = ida if n % 2 else jon
            book(clinic, client.id, "anna", local(day, "10:00"))
            book(clinic, client.id, "anna", local(day, "14:00"))
    with count_queries(clinic.app) as many:
        text = web.get(path).get_data(as_text=True)

    assert len(events(text)) == 17
    assert len(many) == len(few) <= 8, many


def test_reads_are_recorded_at_most_once_an_hour(clinic: Clinic, ida: Person) -> None:
    path = create_feed(ida.web)
    web = clinic.web()

    def last_read() -> datetime | None:
        with clinic.app.app_context():
            return db.session.scalar(select(CalendarFeed.last_read_at))

    assert last_read() is None
    web.get(path)
    assert last_read() == NOW
    clinic.set_clock(NOW + timedelta(minutes=50))
    with count_queries(clinic.app) as statements:
        web.get(path)
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in statements), statements
    assert last_read() == NOW
    clinic.set_clock(NOW + timedelta(minutes=61))
    web.get(path)
    assert last_read() == NOW + timedelta(minutes=61)
    assert "A calendar program last fetched it" in ida.web.get("/account/calendar").get_data(
        as_text=True
    )


# --- the token stays out of logs ------------------------------------------------------------


@pytest.fixture
def served(clinic: Clinic) -> Iterator[str]:
    """The app behind werkzeug's real server (as `make run` serves it), on a free port."""
    server = make_server("127.0.0.1", 0, clinic.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_the_development_servers_request_log_never_shows_the_token(
    clinic: Clinic, ida: Person, served: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = create_feed(ida.web)
    token = token_of(path)
    caplog.set_level(logging.INFO, logger="werkzeug")

    with urllib.request.urlopen(served + path, timeout=10) as response:  # noqa: S310
        assert b"BEGIN:VCALENDAR" in response.read()

    logged = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /calendar/[redacted].ics HTTP/1.1" in m and " 200 " in m for m in logged), (
        logged
    )
    assert token not in caplog.text


@pytest.mark.parametrize(
    ("logger", "message", "args"),
    [
        # gunicorn's access log formats the line itself
        ("gunicorn.access", '127.0.0.1 "GET /calendar/{token}.ics HTTP/1.1" 200 812', ()),
        # the app's own log of an unexpected error names the path
        ("clinic.errors", "unhandled error on %s %s", ("GET", "/calendar/{token}.ics")),
    ],
)
def test_other_logs_of_request_paths_hide_the_token_too(
    app, caplog: pytest.LogCaptureFixture, logger: str, message: str, args: tuple[str, ...]
) -> None:
    token = "s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz0123"
    caplog.set_level(logging.INFO, logger=logger)

    logging.getLogger(logger).info(
        message.format(token=token), *(a.format(token=token) for a in args)
    )

    assert token not in caplog.text
    assert "/calendar/[redacted].ics" in caplog.text


def test_the_filter_leaves_other_messages_alone(app, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")

    logging.getLogger("werkzeug").info('"GET %s HTTP/1.1" %s', "/bookings/42.ics", 200)

    assert '"GET /bookings/42.ics HTTP/1.1" 200' in caplog.text
    assert "[redacted]" not in caplog.text
