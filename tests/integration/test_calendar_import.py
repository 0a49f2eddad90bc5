"""External calendars that block a therapist's time: fetched from a real HTTP server on
127.0.0.1, uploaded through the form, refreshed by `import-calendars`, and what the slot search
and booking make of them.

The demo clinic is seeded for Monday 22 March 2027 with the clock at 07:00 in Copenhagen
(tests/integration/conftest.py). Anna works Mon-Fri 09:00-12:00 and 12:30-17:00. Her external
calendar (FEED) holds, on the clinic's clock:
- a yoga class every Tuesday 10:00-11:00 from 23 March, four times, across the DST change of
  28 March; 6 April is struck out (EXDATE) and 30 March moved to Wednesday 31 March 14:00;
- an all-day event on Thursday 25 March;
- a call at 09:00 in New York on Wednesday 24 March (14:00 in Copenhagen);
- a free (TRANSP:TRANSPARENT) event on Monday 29 March at 10:00, which blocks nothing;
- a January event, before what is imported.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.booking.availability import search_slots
from clinic.booking.models import Booking
from clinic.calendars import imports
from clinic.calendars.fetch import PRIVATE, FetchError, fetch_calendar, is_public_address
from clinic.calendars.imports import import_calendars_command
from clinic.calendars.models import BusyTime, CalendarSource
from clinic.catalog.models import Technique
from clinic.config import load_config
from clinic.extensions import db
from tests.integration.test_api import bearer, token_for
from tests.integration.test_booking import book, csrf_for, params, request_token_from
from tests.support import MONDAY, NOW, Clinic, Person, csrf_token_from, local, user_id

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
NEXT = timedelta(days=7)

CRLF = "\r\n"
VTIMEZONES = """BEGIN:VTIMEZONE
TZID:Europe/Copenhagen
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE"""

EVENTS = """BEGIN:VEVENT
UID:yoga@example.org
DTSTAMP:20270301T120000Z
SUMMARY:Teaching yoga
DTSTART;TZID=Europe/Copenhagen:20270323T100000
DTEND;TZID=Europe/Copenhagen:20270323T110000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Copenhagen:20270406T100000
END:VEVENT
BEGIN:VEVENT
UID:yoga@example.org
DTSTAMP:20270301T120000Z
RECURRENCE-ID;TZID=Europe/Copenhagen:20270330T100000
SUMMARY:Teaching yoga (moved)
DTSTART;TZID=Europe/Copenhagen:20270331T140000
DTEND;TZID=Europe/Copenhagen:20270331T150000
END:VEVENT
BEGIN:VEVENT
UID:dentist@example.org
DTSTAMP:20270301T120000Z
SUMMARY:Private
DTSTART;VALUE=DATE:20270325
DTEND;VALUE=DATE:20270326
END:VEVENT
BEGIN:VEVENT
UID:call@example.org
DTSTAMP:20270301T120000Z
SUMMARY:Call with New York
DTSTART;TZID=America/New_York:20270324T090000
DTEND;TZID=America/New_York:20270324T100000
END:VEVENT
BEGIN:VEVENT
UID:free@example.org
DTSTAMP:20270301T120000Z
SUMMARY:Maybe lunch
TRANSP:TRANSPARENT
DTSTART;TZID=Europe/Copenhagen:20270329T100000
DTEND;TZID=Europe/Copenhagen:20270329T110000
END:VEVENT
BEGIN:VEVENT
UID:old@example.org
DTSTAMP:20270101T120000Z
SUMMARY:Long ago
DTSTART:20270105T090000Z
DTEND:20270105T100000Z
END:VEVENT"""


def calendar(events: str) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Feed//EN", VTIMEZONES, events]
    return CRLF.join([*"\n".join(lines).split("\n"), "END:VCALENDAR", ""]).encode()


FEED = calendar(EVENTS)
# As UTC instants: (start, end, all day).
FEED_BUSY = [
    (local(TUESDAY, "10:00"), local(TUESDAY, "11:00"), False),  # 09:00Z, CET
    (local(WEDNESDAY, "14:00"), local(WEDNESDAY, "15:00"), False),  # 09:00 EDT = 13:00Z
    (local(THURSDAY, "00:00"), local(THURSDAY + timedelta(days=1), "00:00"), True),
    (local(WEDNESDAY + NEXT, "14:00"), local(WEDNESDAY + NEXT, "15:00"), False),  # moved, CEST
    (local(TUESDAY + 3 * NEXT, "10:00"), local(TUESDAY + 3 * NEXT, "11:00"), False),  # 08:00Z
]
# Another version of the calendar: only Friday 26 March 09:00-12:00.
OTHER = calendar("""BEGIN:VEVENT
UID:friday@example.org
DTSTAMP:20270301T120000Z
DTSTART;TZID=Europe/Copenhagen:20270326T090000
DTEND;TZID=Europe/Copenhagen:20270326T120000
END:VEVENT""")
OTHER_BUSY = [
    (
        local(THURSDAY + timedelta(days=1), "09:00"),
        local(THURSDAY, "12:00") + timedelta(days=1),
        False,
    )
]
MALFORMED = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART:not-a-date\r\n"


# --- a real HTTP server on 127.0.0.1 -------------------------------------------------------


@dataclass
class Feeds:
    """What the test server answers: path -> (status, headers, body), or a handler function."""

    port: int
    routes: dict[str, Any] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(feeds: Feeds) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            feeds.requests.append((self.path, self.headers.get("Host", "")))
            route = feeds.routes.get(self.path)
            if route is None:
                route = (404, {}, b"not here")
            if callable(route):
                route(self)
                return
            status, headers, body = route
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass  # keep the test output quiet

    return Handler


@pytest.fixture(scope="module")
def feed_server() -> Iterator[Feeds]:
    feeds = Feeds(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(feeds))
    server.daemon_threads = True
    feeds.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield feeds
    feeds.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def feeds(feed_server: Feeds) -> Iterator[Feeds]:
    """The server, serving FEED at /feed.ics and OTHER at /other.ics until a test changes it."""
    feed_server.routes.clear()
    feed_server.requests.clear()
    feed_server.release.clear()
    feed_server.routes["/feed.ics"] = (200, {"Content-Type": "text/calendar"}, FEED)
    feed_server.routes["/other.ics"] = (200, {"Content-Type": "text/calendar"}, OTHER)
    yield feed_server
    feed_server.release.set()  # let slow handlers finish


def slow(feeds: Feeds) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that answers nothing until the test is over."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        feeds.release.wait(10)

    return handle


def dripping(feeds: Feeds) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that sends its headers, then a byte every 0.1 s: never silent for long,
    never done."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100000")
        request.end_headers()
        for _ in range(100):
            if feeds.release.wait(0.1):
                return
            try:
                request.wfile.write(b"B")
                request.wfile.flush()
            except OSError:
                return

    return handle


def redirect(to: str) -> tuple[int, dict[str, str], bytes]:
    return (302, {"Location": to}, b"")


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The test server is on 127.0.0.1, which production settings refuse; a short time limit.
    return {**app_config, "CALENDAR_FETCH_ALLOW_PRIVATE": True, "CALENDAR_FETCH_TIMEOUT": 1}


# --- helpers ----------------------------------------------------------------------------------


def fetch(url: str, *, allow_private: bool = True, max_bytes: int = 100_000) -> bytes:
    return fetch_calendar(url, timeout=1, max_bytes=max_bytes, allow_private=allow_private)


def busy_of(clinic: Clinic, source_id: int) -> list[tuple[datetime, datetime, bool]]:
    with clinic.app.app_context():
        rows = db.session.execute(
            select(BusyTime.starts_at, BusyTime.ends_at, BusyTime.all_day)
            .where(BusyTime.source_id == source_id)
            .order_by(BusyTime.starts_at)
        )
        return [tuple(row) for row in rows]


def source_of(clinic: Clinic, source_id: int) -> CalendarSource:
    with clinic.app.app_context():
        source = db.session.get(CalendarSource, source_id)
        assert source is not None
        db.session.expunge(source)
        return source


def sources_of(clinic: Clinic, therapist: str) -> list[CalendarSource]:
    with clinic.app.app_context():
        found = list(
            db.session.scalars(
                select(CalendarSource)
                .where(CalendarSource.therapist_id == clinic.ids[therapist])
                .order_by(CalendarSource.id)
            )
        )
        for source in found:
            db.session.expunge(source)
        return found


def add_source(
    clinic: Clinic, therapist: str, data: bytes, url: str | None = None, name: str = "Private"
) -> int:
    """A source imported from `data` at NOW, as if connected through the page."""
    with clinic.app.app_context():
        source = CalendarSource(therapist_id=clinic.ids[therapist], name=name, url=url)
        db.session.add(source)
        db.session.flush()
        assert imports.import_source(source, data, now=NOW) is None
        db.session.commit()
        return source.id


def free_starts(
    clinic: Clinic, therapist: str, days: int = 23, first: date = MONDAY
) -> set[datetime]:
    """Every start the slot search offers for a 60-minute sports massage, `days` from `first`."""
    with clinic.app.app_context():
        technique = db.session.scalar(select(Technique).where(Technique.slug == "sports-massage"))
        found = search_slots(
            technique=technique,
            duration_minutes=60,
            first_day=first,
            last_day=first + timedelta(days=days - 1),
            now=NOW,
            timezone="Europe/Copenhagen",
            therapist_id=clinic.ids[therapist],
        )
        return {slot.start for slot in found.slots}


def token(web: FlaskClient, page: str = "/therapist/calendar-sources") -> str:
    """A CSRF token for this browser, from a form of `page` (prefixed field names too)."""
    html = web.get(page).get_data(as_text=True)
    match = re.search(r'name="[\w-]*csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def add_by_url(web: FlaskClient, page: str, url: str, name: str = "Private") -> Any:
    """Fill in and send the "Connect by address" form of `page`."""
    data = {"url-name": name, "url-url": url, "url-csrf_token": token(web, page)}
    return web.post(page, data=data)


def upload(web: FlaskClient, page: str, data: bytes, name: str = "Exported") -> Any:
    """Send the "Upload a file" form of `page`."""
    form = {
        "upload-name": name,
        "upload-file": (BytesIO(data), "calendar.ics"),
        "upload-csrf_token": token(web, page),
    }
    return web.post(page + "/upload", data=form, content_type="multipart/form-data")


def replace(web: FlaskClient, page: str, source_id: int, data: bytes) -> Any:
    """Send the "Upload new version" form of a source on `page`."""
    form = {
        f"replace-{source_id}-file": (BytesIO(data), "calendar.ics"),
        f"replace-{source_id}-csrf_token": token(web, page),
    }
    return web.post(f"{page}/{source_id}/upload", data=form, content_type="multipart/form-data")


def press(web: FlaskClient, page: str, source_id: int, action: str) -> Any:
    """Press the Refresh now or Remove button of a source on `page`."""
    return web.post(f"{page}/{source_id}/{action}", data={"csrf_token": token(web, page)})


def error_beside(page: str, field_id: str) -> str | None:
    found = re.search(rf'<div id="{re.escape(field_id)}-error"[^>]*>(.*?)</div>', page, re.S)
    return unescape(found.group(1)).strip() if found else None


def text_of(response: Any) -> str:
    return unescape(response.get_data(as_text=True))


def audit_of(clinic: Clinic) -> list[tuple[str, int | None, dict]]:
    with clinic.app.app_context():
        rows = db.session.execute(
            select(AuditEntry.action, AuditEntry.subject_id, AuditEntry.detail)
            .where(AuditEntry.action.like("calendar_source.%"))
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


MINE = "/therapist/calendar-sources"


def admins(clinic: Clinic, therapist: str) -> str:
    return f"/admin/therapists/{clinic.ids[therapist]}/calendar-sources"


# --- fetching: what is refused, and how ------------------------------------------------------


def test_a_feed_is_fetched_through_redirects(feeds):
    feeds.routes["/old.ics"] = redirect("/moved.ics")  # a relative Location
    feeds.routes["/moved.ics"] = redirect(feeds.url("/feed.ics"))
    assert fetch(feeds.url("/old.ics")) == FEED
    assert [path for path, _ in feeds.requests] == ["/old.ics", "/moved.ics", "/feed.ics"]


def test_the_host_name_is_sent_though_the_checked_address_is_connected(feeds):
    fetch(f"http://localhost:{feeds.port}/feed.ics")
    assert feeds.requests == [("/feed.ics", f"localhost:{feeds.port}")]


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("file:///etc/passwd", "Only http and https addresses are accepted."),  # another scheme
        ("ftp://127.0.0.1/calendar.ics", "Only http and https addresses are accepted."),
        ("/loop.ics", "redirected more than 5 times"),  # a redirect loop
    ],
)
def test_every_redirect_hop_is_checked(feeds, location, message):
    feeds.routes["/loop.ics"] = redirect(location)
    with pytest.raises(FetchError, match=message):
        fetch(feeds.url("/loop.ics"))
    assert len(feeds.requests) == (6 if location == "/loop.ics" else 1)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Only http and https addresses are accepted."),
        ("ftp://127.0.0.1/calendar.ics", "Only http and https addresses are accepted."),
        ("javascript:alert(1)", "Only http and https addresses are accepted."),
        ("http://localhost:{port}/feed.ics", PRIVATE),  # a name for the loopback address
        ("http://127.0.0.1:{port}/feed.ics", PRIVATE),
        ("http://[::1]:{port}/feed.ics", PRIVATE),
        ("http://0.0.0.0:{port}/feed.ics", PRIVATE),  # unspecified: this machine
        ("http://169.254.169.254/latest/meta-data/", PRIVATE),  # a cloud's metadata service
        ("http://10.1.2.3/calendar.ics", PRIVATE),
        ("http://user:password@192.168.0.1/calendar.ics", PRIVATE),
        ("http:///calendar.ics", "no host name"),
        ("http://127.0.0.1:99999/", "not a valid web address"),  # no such port
    ],
)
def test_other_schemes_and_private_addresses_are_refused_without_a_request(feeds, url, message):
    with pytest.raises(FetchError, match=re.escape(message)):
        fetch(url.format(port=feeds.port), allow_private=False)
    assert feeds.requests == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),  # loopback
        ("127.255.0.9", False),
        ("10.0.0.1", False),  # private
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("169.254.169.254", False),  # link-local
        ("0.0.0.0", False),  # unspecified  # noqa: S104
        ("224.0.0.1", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),  # broadcast
        ("::1", False),
        ("::", False),
        ("fe80::1", False),  # link-local
        ("fc00::1", False),  # unique local
        ("ff02::1", False),  # multicast
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("not an address", False),
    ],
)
def test_public_addresses(address, public):
    assert is_public_address(address) is public


def test_a_silent_server_is_given_up_after_the_time_limit(feeds):
    feeds.routes["/slow.ics"] = slow(feeds)
    started = datetime.now(UTC)
    with pytest.raises(FetchError, match=re.escape("The address did not answer within 1 second.")):
        fetch(feeds.url("/slow.ics"))
    assert datetime.now(UTC) - started < timedelta(seconds=3)


def test_the_time_limit_is_for_the_whole_fetch_not_each_read(feeds):
    feeds.routes["/drip.ics"] = dripping(feeds)
    started = datetime.now(UTC)
    with pytest.raises(FetchError, match="did not answer within 1 second"):
        fetch(feeds.url("/drip.ics"))
    assert datetime.now(UTC) - started < timedelta(seconds=3)


def test_a_larger_file_is_refused_whether_its_length_is_declared_or_not(feeds):
    body = FEED + b" " * 70_000

    def undeclared(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.end_headers()  # no Content-Length: read until the server closes
        request.wfile.write(body)

    feeds.routes["/big.ics"] = (200, {}, body)
    feeds.routes["/big-undeclared.ics"] = undeclared
    for path in ("/big.ics", "/big-undeclared.ics"):
        with pytest.raises(FetchError, match=re.escape("The file is larger than 64 KB.")):
            fetch(feeds.url(path), max_bytes=64 * 1024)
    assert fetch(feeds.url("/big.ics"), max_bytes=len(body)) == body


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing.ics", "Nothing was found at that address (HTTP 404)."),
        ("/secret.ics", "The address refused access (HTTP 403)."),
        ("/broken.ics", "The address answered with an error (HTTP 500)."),
    ],
)
def test_http_errors_are_explained(feeds, path, message):
    feeds.routes["/secret.ics"] = (403, {}, b"no")
    feeds.routes["/broken.ics"] = (500, {}, b"oops")
    with pytest.raises(FetchError, match=re.escape(message)):
        fetch(feeds.url(path))


def test_https_to_a_server_without_tls_is_explained(feeds):
    with pytest.raises(
        FetchError, match=re.escape("A secure connection to 127.0.0.1 could not be made.")
    ):
        fetch(f"https://127.0.0.1:{feeds.port}/feed.ics")


def test_a_server_that_is_down_is_explained():
    with pytest.raises(FetchError, match=re.escape("127.0.0.1 refused the connection")):
        fetch(f"http://127.0.0.1:{closed_port()}/feed.ics")


# --- importing -------------------------------------------------------------------------------


def test_a_feed_is_stored_as_busy_times_with_its_recurrences_expanded(clinic, feeds):
    source_id = add_source(clinic, "anna", fetch(feeds.url("/feed.ics")), feeds.url("/feed.ics"))
    assert busy_of(clinic, source_id) == FEED_BUSY
    source = source_of(clinic, source_id)
    assert (source.event_count, source.last_success_at, source.last_error) == (5, NOW, "")
    with clinic.app.app_context():
        therapists = set(db.session.scalars(select(BusyTime.therapist_id)))
    assert therapists == {clinic.ids["anna"]}


def test_imported_busy_time_is_not_offered_and_cannot_be_booked(clinic, feeds, ida: Person):
    tuesday_10 = params(clinic, start=local(TUESDAY, "10:00"))
    # The client opens the confirm page while the time is still free...
    confirm = ida.web.get("/book/confirm", query_string=tuesday_10).get_data(as_text=True)
    before = free_starts(clinic, "anna")
    add_source(clinic, "anna", FEED)
    after = free_starts(clinic, "anna")

    hour = timedelta(hours=1)
    overlapping = {
        s for s in before if any(s < end and start < s + hour for start, end, _ in FEED_BUSY)
    }
    assert before - after == overlapping
    assert after <= before
    blocked = [
        local(TUESDAY, "10:00"),  # the weekly class
        local(WEDNESDAY, "14:00"),  # the call, 09:00 in New York
        local(THURSDAY, "09:00"),  # the all-day event
        local(THURSDAY, "16:00"),
        local(WEDNESDAY + NEXT, "14:00"),  # the moved class
        local(TUESDAY + 3 * NEXT, "10:00"),  # the class after the DST change
    ]
    still_free = [
        local(TUESDAY, "09:00"),  # ends as the class begins: busy time needs no buffer
        local(TUESDAY, "11:00"),
        local(WEDNESDAY, "13:00"),
        local(TUESDAY + NEXT, "10:00"),  # the class moved away from this one
        local(TUESDAY + 2 * NEXT, "10:00"),  # struck out by EXDATE
        local(MONDAY + NEXT, "10:00"),  # a free (transparent) event
    ]
    assert all(s in before for s in blocked + still_free)
    assert not any(s in after for s in blocked)
    assert all(s in after for s in still_free)
    friday = THURSDAY + timedelta(days=1)
    assert not any(local(THURSDAY, "00:00") <= s < local(friday, "00:00") for s in after)

    # ...and presses the button after the calendar was imported: refused like any taken time,
    # and nothing of the therapist's calendar is shown.
    response = ida.web.post(
        "/book/confirm",
        query_string=tuesday_10,
        data={"csrf_token": csrf_token_from(confirm), "request_token": request_token_from(confirm)},
    )
    page = text_of(response)
    assert "that time has just been taken or is no longer free" in page
    assert "yoga" not in page.lower() and "Private" not in page
    # Opening the page again says so at once.
    again = text_of(ida.web.get("/book/confirm", query_string=tuesday_10))
    assert "that time has just been taken or is no longer free" in again
    # And through the API.
    api = clinic.app.test_client()
    answer = api.post(
        "/api/v1/bookings",
        json={
            "technique": "sports-massage",
            "duration": 60,
            "therapist_id": clinic.ids["anna"],
            "start": local(WEDNESDAY, "14:00").isoformat(),
        },
        headers=bearer(token_for(api, ida.email)),
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"] == "slot_unavailable"
    assert "yoga" not in answer.get_data(as_text=True).lower()
    with clinic.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    # A free time next to it still books.
    assert book(ida.web, params(clinic, start=local(TUESDAY, "11:00"))).status_code == 302


def test_a_long_event_blocks_every_day_of_it_whatever_day_a_search_starts(clinic):
    holiday = calendar("""BEGIN:VEVENT
UID:holiday@example.org
DTSTAMP:20270301T120000Z
DTSTART;VALUE=DATE:20270323
DTEND;VALUE=DATE:20270413
END:VEVENT""")
    late_in_it = date(2027, 4, 9)  # a Friday, 17 days into the holiday
    assert free_starts(clinic, "anna", days=1, first=late_in_it)
    source_id = add_source(clinic, "anna", holiday)

    # Stored in pieces of at most a week, so that a search reads a bounded index range.
    pieces = busy_of(clinic, source_id)
    assert [(start, end) for start, end, _ in pieces] == [
        (local(TUESDAY, "00:00"), local(TUESDAY, "00:00") + NEXT),
        (local(TUESDAY, "00:00") + NEXT, local(TUESDAY, "00:00") + 2 * NEXT),
        (local(TUESDAY, "00:00") + 2 * NEXT, local(TUESDAY + 3 * NEXT, "00:00")),
    ]
    assert source_of(clinic, source_id).event_count == 1
    assert free_starts(clinic, "anna", days=1, first=late_in_it) == set()
    assert free_starts(clinic, "anna", days=1, first=date(2027, 4, 13))  # over


def test_a_malformed_file_keeps_the_previous_import(clinic, feeds):
    url = feeds.url("/feed.ics")
    source_id = add_source(clinic, "anna", FEED, url)
    feeds.routes["/feed.ics"] = (200, {"Content-Type": "text/calendar"}, MALFORMED)
    later = NOW + timedelta(hours=1)
    with clinic.app.app_context():
        outcome = imports.refresh(source_id, now=later)
        db.session.commit()
    assert outcome is not None
    _, error = outcome
    assert error and "Traceback" not in error
    source = source_of(clinic, source_id)
    assert (source.last_error, source.last_attempt_at, source.last_success_at) == (
        error,
        later,
        NOW,
    )
    assert source.event_count == 5
    assert busy_of(clinic, source_id) == FEED_BUSY


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("slow", "did not answer within 1 second"),  # no answer in time
        ("down", "refused the connection"),  # nothing listens
        ("missing", "HTTP 404"),  # the file is gone
        ("big", "The file is larger than"),  # over CALENDAR_FETCH_MAX_BYTES
    ],
)
def test_a_failed_fetch_keeps_the_previous_import(clinic, feeds, route, message):
    url = {
        "slow": feeds.url("/slow.ics"),
        "down": f"http://127.0.0.1:{closed_port()}/feed.ics",
        "missing": feeds.url("/missing.ics"),
        "big": feeds.url("/big.ics"),
    }[route]
    feeds.routes["/slow.ics"] = slow(feeds)
    feeds.routes["/big.ics"] = (200, {}, FEED + b" " * 3 * 1024 * 1024)
    source_id = add_source(clinic, "anna", FEED, url)
    with clinic.app.app_context():
        outcome = imports.refresh(source_id, now=NOW + timedelta(hours=1))
        db.session.commit()
    assert outcome is not None and message in (outcome[1] or "")
    assert message in source_of(clinic, source_id).last_error
    assert busy_of(clinic, source_id) == FEED_BUSY


def test_import_calendars_reports_a_failing_source_and_imports_the_others(clinic, feeds):
    good = add_source(clinic, "anna", OTHER, feeds.url("/feed.ics"))
    failing = add_source(clinic, "bo", OTHER, feeds.url("/gone.ics?token=s3cret"))
    uploaded = add_source(clinic, "clara", OTHER)

    result = clinic.app.test_cli_runner().invoke(import_calendars_command)

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3, result.output  # the two URL sources, then the sum
    assert lines[0].startswith("ok") and f"#{good}" in lines[0] and "5 busy time(s)" in lines[0]
    assert lines[1].startswith("FAILED") and f"#{failing}" in lines[1]
    assert "Nothing was found at that address (HTTP 404)." in lines[1]
    assert lines[2] == "Imported 1 calendar(s), 1 failed."
    assert "s3cret" not in result.output and "/gone.ics" not in result.output
    assert busy_of(clinic, good) == FEED_BUSY
    assert busy_of(clinic, failing) == busy_of(clinic, uploaded) == OTHER_BUSY
    assert source_of(clinic, failing).last_error.startswith("Nothing was found")

    feeds.routes["/gone.ics?token=s3cret"] = (200, {}, FEED)
    again = clinic.app.test_cli_runner().invoke(import_calendars_command)
    assert again.exit_code == 0, again.output
    assert busy_of(clinic, failing) == FEED_BUSY
    assert source_of(clinic, failing).last_error == ""


# --- the pages -------------------------------------------------------------------------------


def test_a_therapist_connects_a_calendar_by_its_address_and_only_its_host_is_shown(clinic, feeds):
    feeds.routes["/private/feed.ics?token=s3cret"] = feeds.routes["/feed.ics"]
    url = feeds.url("/private/feed.ics?token=s3cret")
    anna = clinic.staff("anna")

    response = add_by_url(anna, MINE, url, name="My  own calendar")

    assert response.status_code == 302 and response.headers["Location"] == MINE
    page = text_of(anna.get(MINE))
    assert "Calendar “My own calendar” connected: 5 busy time(s) imported." in page
    assert "127.0.0.1" in page
    assert "s3cret" not in page and "/private/" not in page
    (source,) = sources_of(clinic, "anna")
    assert (source.name, source.url, source.event_count) == ("My own calendar", url, 5)
    assert busy_of(clinic, source.id) == FEED_BUSY
    ((action, subject, detail),) = audit_of(clinic)
    assert (action, subject) == ("calendar_source.added", source.id)
    assert detail["host"] == "127.0.0.1" and "s3cret" not in str(detail)


def test_no_database_lock_is_held_while_the_calendar_is_fetched(clinic, feeds):
    waited: list[float] = []

    def write_meanwhile(request: BaseHTTPRequestHandler) -> None:
        # Another request writes while the page waits for this answer. On SQLite a writing
        # request holds the one write lock: were it held now, this would wait for it.
        started = time.monotonic()
        with clinic.app.app_context():
            db.session.add(AuditEntry(action="test.write", subject_type="test", subject_id=None))
            db.session.commit()
        waited.append(time.monotonic() - started)
        request.send_response(200)
        request.send_header("Content-Length", str(len(FEED)))
        request.end_headers()
        request.wfile.write(FEED)

    feeds.routes["/writes.ics"] = write_meanwhile
    response = add_by_url(clinic.staff("anna"), MINE, feeds.url("/writes.ics"))
    assert response.status_code == 302, error_beside(text_of(response), "url-url")
    assert len(waited) == 1 and waited[0] < 0.5


def test_a_webcal_address_is_read_as_https(clinic, feeds):
    page = text_of(add_by_url(clinic.staff("anna"), MINE, "webcal://127.0.0.1:1/feed.ics"))
    # Fetched over https from a port where nothing listens: the scheme was accepted.
    assert "refused the connection" in error_beside(page, "url-url")
    assert 'value="https://127.0.0.1:1/feed.ics"' in page


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/calendar.ics", "Only http and https addresses are accepted."),
        ("not an address", "Only http and https addresses are accepted."),
        ("{feeds}/missing.ics", "Nothing was found at that address (HTTP 404)."),
        ("{feeds}/malformed.ics", "The calendar file is incomplete"),  # cut off
        ("{feeds}/slow.ics", "The address did not answer within 1 second."),
        ("http://127.0.0.1:{closed}/feed.ics", "127.0.0.1 refused the connection"),
    ],
)
def test_a_calendar_that_does_not_work_is_explained_and_not_kept(clinic, feeds, url, message):
    feeds.routes["/malformed.ics"] = (200, {}, MALFORMED)
    feeds.routes["/slow.ics"] = slow(feeds)
    url = url.format(feeds=f"http://127.0.0.1:{feeds.port}", closed=closed_port())
    anna = clinic.staff("anna")

    response = add_by_url(anna, MINE, url, name="Teaching")

    assert response.status_code == 200
    page = text_of(response)
    assert message in (error_beside(page, "url-url") or "")
    assert 'value="Teaching"' in page  # what was typed is kept
    assert sources_of(clinic, "anna") == []
    assert audit_of(clinic) == []


def test_a_private_address_is_refused_in_production_settings(clinic, feeds):
    clinic.app.config["CALENDAR_FETCH_ALLOW_PRIVATE"] = False
    anna = clinic.staff("anna")
    for url in (feeds.url("/feed.ics"), f"http://localhost:{feeds.port}/feed.ics"):
        page = text_of(add_by_url(anna, MINE, url))
        assert error_beside(page, "url-url") == PRIVATE
    assert feeds.requests == []
    assert sources_of(clinic, "anna") == []


def test_a_therapist_uploads_a_file_and_replaces_it_by_uploading_again(clinic):
    anna = clinic.staff("anna")

    response = upload(anna, MINE, FEED, name="Exported")

    assert response.status_code == 302
    assert "Calendar “Exported” uploaded: 5 busy time(s) imported." in text_of(anna.get(MINE))
    (source,) = sources_of(clinic, "anna")
    assert source.url is None
    assert busy_of(clinic, source.id) == FEED_BUSY

    assert replace(anna, MINE, source.id, OTHER).status_code == 302
    assert busy_of(clinic, source.id) == OTHER_BUSY
    assert source_of(clinic, source.id).event_count == 1

    response = replace(anna, MINE, source.id, MALFORMED)
    assert response.status_code == 200
    error = error_beside(text_of(response), f"replace-{source.id}-file")
    assert error and error.endswith("The busy times imported before are kept.")
    assert busy_of(clinic, source.id) == OTHER_BUSY
    assert source_of(clinic, source.id).last_error
    assert [a for a, _, _ in audit_of(clinic)] == [
        "calendar_source.added",
        "calendar_source.uploaded",
    ]
    assert "Uploaded file" in text_of(anna.get(MINE))


def test_a_malformed_upload_is_explained_and_not_kept(clinic):
    anna = clinic.staff("anna")
    response = upload(anna, MINE, MALFORMED, name="Broken")
    assert response.status_code == 200
    page = text_of(response)
    assert error_beside(page, "upload-file")
    assert 'value="Broken"' in page
    assert sources_of(clinic, "anna") == []


@pytest.mark.parametrize(
    "size",
    [
        4 * 1024 + 1,  # just over: read and measured by the form
        200 * 1024,  # far over: refused before the body is read
    ],
)
def test_an_upload_over_the_size_limit_is_refused(clinic, size):
    clinic.app.config["CALENDAR_FETCH_MAX_BYTES"] = 4 * 1024
    anna = clinic.staff("anna")
    response = upload(anna, MINE, FEED + b" " * (size - len(FEED)))
    assert response.status_code == 200
    assert error_beside(text_of(response), "upload-file") == "The file is larger than 4 KB."
    assert sources_of(clinic, "anna") == []


def test_an_upload_above_the_apps_request_limit_but_within_its_own_is_taken(clinic):
    clinic.app.config["MAX_CONTENT_LENGTH"] = 1024
    anna = clinic.staff("anna")
    assert len(FEED) > 1024
    assert upload(anna, MINE, FEED).status_code == 302
    assert len(sources_of(clinic, "anna")) == 1


def test_forms_without_the_csrf_token_are_refused(clinic, feeds):
    anna = clinic.staff("anna")
    anna.get(MINE)
    by_url = anna.post(MINE, data={"url-name": "X", "url-url": feeds.url("/feed.ics")})
    uploaded = anna.post(
        MINE + "/upload",
        data={"upload-name": "X", "upload-file": (BytesIO(FEED), "c.ics")},
        content_type="multipart/form-data",
    )
    # The app-wide check answers the first; the upload form checks its own token.
    assert by_url.status_code == 400
    assert "missing its security token" in text_of(by_url)
    assert "security token was missing or expired" in text_of(uploaded)
    assert sources_of(clinic, "anna") == []
    source_id = add_source(clinic, "anna", FEED, feeds.url("/feed.ics"))
    assert anna.post(f"{MINE}/{source_id}/delete").status_code == 400
    replaced = anna.post(
        f"{MINE}/{source_id}/upload",
        data={f"replace-{source_id}-file": (BytesIO(OTHER), "c.ics")},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 404  # a URL source is refreshed, not uploaded
    assert busy_of(clinic, source_id) == FEED_BUSY


def test_refresh_now_imports_again_or_explains_and_keeps_the_last_import(clinic, feeds):
    anna = clinic.staff("anna")
    add_by_url(anna, MINE, feeds.url("/feed.ics"))
    (source,) = sources_of(clinic, "anna")

    feeds.routes["/feed.ics"] = feeds.routes["/other.ics"]
    response = press(anna, MINE, source.id, "refresh")
    assert response.status_code == 302
    assert "Calendar “Private” refreshed: 1 busy time(s)." in text_of(anna.get(MINE))
    assert busy_of(clinic, source.id) == OTHER_BUSY

    del feeds.routes["/feed.ics"]
    press(anna, MINE, source.id, "refresh")
    page = text_of(anna.get(MINE))
    assert (
        "Calendar “Private” could not be refreshed: Nothing was found at that address "
        "(HTTP 404). The busy times imported before are kept."
    ) in page
    assert "The busy times from the last good import still count." in page
    assert busy_of(clinic, source.id) == OTHER_BUSY


def test_refreshing_an_uploaded_calendar_asks_for_the_file(clinic):
    anna = clinic.staff("anna")
    upload(anna, MINE, FEED)
    (source,) = sources_of(clinic, "anna")
    press(anna, MINE, source.id, "refresh")
    assert "uploading its file again" in text_of(anna.get(MINE))
    assert busy_of(clinic, source.id) == FEED_BUSY


def test_removing_a_calendar_frees_its_time(clinic):
    source_id = add_source(clinic, "anna", FEED)
    anna = clinic.staff("anna")
    assert local(TUESDAY, "10:00") not in free_starts(clinic, "anna")

    assert press(anna, MINE, source_id, "delete").status_code == 302

    assert "Calendar “Private” removed, with its busy times." in text_of(anna.get(MINE))
    assert sources_of(clinic, "anna") == []
    assert busy_of(clinic, source_id) == []
    assert local(TUESDAY, "10:00") in free_starts(clinic, "anna")
    ((action, subject, detail),) = audit_of(clinic)
    assert (action, subject, detail["name"]) == ("calendar_source.deleted", source_id, "Private")


def test_an_admin_manages_any_therapists_calendars(clinic, feeds):
    admin = clinic.staff("admin")
    page = admins(clinic, "anna")
    assert "External calendars of Anna" in text_of(admin.get(page))

    assert add_by_url(admin, page, feeds.url("/feed.ics")).status_code == 302
    assert upload(admin, page, OTHER, name="File").status_code == 302
    by_url, by_file = sources_of(clinic, "anna")
    assert replace(admin, page, by_file.id, FEED).status_code == 302
    assert press(admin, page, by_url.id, "refresh").status_code == 302
    assert busy_of(clinic, by_file.id) == busy_of(clinic, by_url.id) == FEED_BUSY
    assert press(admin, page, by_url.id, "delete").status_code == 302
    assert [s.id for s in sources_of(clinic, "anna")] == [by_file.id]
    with clinic.app.app_context():
        actors = set(
            db.session.scalars(
                select(AuditEntry.actor_id).where(AuditEntry.action.like("calendar_source.%"))
            )
        )
    assert actors == {user_id(clinic, "admin@lindring.example")}
    # Another therapist's source is not found under this therapist.
    bo_source = add_source(clinic, "bo", FEED)
    assert press(admin, page, bo_source, "delete").status_code == 404
    assert replace(admin, page, bo_source, OTHER).status_code == 404
    assert busy_of(clinic, bo_source) == FEED_BUSY
    assert admin.get("/admin/therapists/999999/calendar-sources").status_code == 404


def test_a_therapist_cannot_reach_another_therapists_calendars(clinic, feeds):
    anna_source = add_source(clinic, "anna", FEED, feeds.url("/feed.ics"), name="Anna's own")
    anna_file = add_source(clinic, "anna", FEED)
    bo = clinic.staff("bo")
    page = text_of(bo.get(MINE))
    assert "Anna's own" not in page and f'id="source-{anna_file}"' not in page
    for source_id, action in ((anna_source, "refresh"), (anna_source, "delete")):
        assert press(bo, MINE, source_id, action).status_code == 404
    assert replace(bo, MINE, anna_file, OTHER).status_code == 404
    assert bo.get(admins(clinic, "anna")).status_code == 403
    assert busy_of(clinic, anna_source) == busy_of(clinic, anna_file) == FEED_BUSY
    assert feeds.requests == []


def test_clients_and_anonymous_visitors_are_kept_out(clinic, ida: Person):
    source_id = add_source(clinic, "anna", FEED)
    anonymous = clinic.web()
    for path in (MINE, admins(clinic, "anna")):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert ida.web.get(path).status_code == 403
    for web, status in ((anonymous, 302), (ida.web, 403)):
        response = web.post(f"{MINE}/{source_id}/delete", data={"csrf_token": csrf_for(web)})
        assert response.status_code == status
    assert clinic.staff("admin").get(MINE).status_code == 403  # an admin is not a therapist
    assert busy_of(clinic, source_id) == FEED_BUSY


def test_the_availability_tabs_lead_to_the_calendars(clinic):
    anna = clinic.staff("anna")
    for page in ("/therapist/hours", "/therapist/time-off", MINE):
        assert f'href="{MINE}">External calendars' in anna.get(page).get_data(as_text=True)
    admin = clinic.staff("admin")
    tid = clinic.ids["anna"]
    page = admin.get(f"/admin/therapists/{tid}/time-off").get_data(as_text=True)
    assert f'href="{admins(clinic, "anna")}">External calendars' in page
    page = admin.get(admins(clinic, "anna")).get_data(as_text=True)
    assert f'href="/admin/therapists/{tid}/hours"' in page


def test_the_fetch_settings_have_safe_defaults():
    config = load_config({})
    assert config["CALENDAR_FETCH_TIMEOUT"] == 10
    assert config["CALENDAR_FETCH_MAX_BYTES"] == 2 * 1024 * 1024
    assert config["CALENDAR_FETCH_ALLOW_PRIVATE"] is False
    changed = load_config(
        {
            "CALENDAR_FETCH_TIMEOUT": "5",
            "CALENDAR_FETCH_MAX_BYTES": "1000",
            "CALENDAR_FETCH_ALLOW_PRIVATE": "true",
        }
    )
    assert (changed["CALENDAR_FETCH_TIMEOUT"], changed["CALENDAR_FETCH_MAX_BYTES"]) == (5, 1000)
    assert changed["CALENDAR_FETCH_ALLOW_PRIVATE"] is True
