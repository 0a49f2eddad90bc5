"""Booking one session through the pages: confirm, refuse, cancel, mark, and who may do what.

The clock is pinned to Monday 22 March 2027, 07:00 in Copenhagen, and the demo clinic is seeded
for that day, so nothing here depends on the real date. Most bookings are for Tuesday 23 March at
10:00 with Anna: 27 hours ahead, so before the 24-hour cut-off until the clock is moved.
"""

from __future__ import annotations

import html as htmllib
import re
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking import operations
from clinic.booking.models import Booking, BookingStatus, IdempotencyKey, TimeClaim
from clinic.catalog.models import Room
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from tests.support import (
    CPH,
    MONDAY,
    NOW,
    Clinic,
    Mailbox,
    Person,
    audit_actions,
    claims_of,
    count_queries,
    csrf_token_from,
    load,
    local,
    user_id,
)

TUESDAY = MONDAY + timedelta(days=1)
TUE_10 = local(TUESDAY, "10:00")  # 09:00 UTC; the cut-off is Monday 09:00 UTC (10:00 CET)


# --- reading pages and the database --------------------------------------------------------


def params(
    clinic: Clinic,
    therapist: str = "anna",
    start: datetime | str = TUE_10,
    technique: str = "sports-massage",
    duration: int | str = 60,
) -> dict[str, object]:
    return {
        "technique": technique,
        "duration": duration,
        "therapist": clinic.ids.get(therapist, therapist),
        "start": start.isoformat() if isinstance(start, datetime) else start,
    }


TOKEN_RE = re.compile(r'name="request_token" type="hidden" value="([^"]+)"')


def request_token_from(page: str) -> str:
    match = TOKEN_RE.search(page)
    assert match, "the confirm page has no request token"
    return match.group(1)


def book(web: FlaskClient, query: dict[str, object], token: str | None = None):
    """Open the confirm page as a browser does, then press "Confirm booking"."""
    page = web.get("/book/confirm", query_string=query).get_data(as_text=True)
    data = {
        "csrf_token": csrf_token_from(page),
        "request_token": token or request_token_from(page),
    }
    return web.post("/book/confirm", query_string=query, data=data)


def booked_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.fullmatch(r"/bookings/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def post_on_page(web: FlaskClient, page: str, url: str, data: dict[str, object] | None = None):
    """POST a form of `page` with that page's CSRF token."""
    token = csrf_token_from(web.get(page).get_data(as_text=True))
    return web.post(url, data={**(data or {}), "csrf_token": token})


def csrf_for(web: FlaskClient) -> str:
    """A valid CSRF token for this browser: the log-out form's, or the log-in form's."""
    page = web.get("/").get_data(as_text=True)
    if 'name="csrf_token"' not in page:
        page = web.get("/login").get_data(as_text=True)
    return csrf_token_from(page)


def flashed(web: FlaskClient, response) -> str:
    """The page a redirect leads to, with its flash messages."""
    assert response.status_code == 302, response.get_data(as_text=True)
    return web.get(response.headers["Location"]).get_data(as_text=True)


def offered(web: FlaskClient, clinic: Clinic, therapist: str, start: datetime) -> bool:
    """Whether /book offers this time with this therapist (sports massage, 60 minutes)."""
    page = web.get(
        "/book",
        query_string={
            "technique": "sports-massage",
            "duration": 60,
            "therapist": clinic.ids[therapist],
            "start": start.astimezone(CPH).date().isoformat(),
        },
    ).get_data(as_text=True)
    for href in re.findall(r'href="(/book/confirm\?[^"]+)"', page):
        query = parse_qs(urlsplit(htmllib.unescape(href)).query)
        if int(query["therapist"][0]) == clinic.ids[therapist] and (
            datetime.fromisoformat(query["start"][0]) == start
        ):
            return True
    return False


def stored(clinic: Clinic) -> dict[str, int]:
    """What a booking attempt can leave behind."""
    with clinic.app.app_context():

        def count(model, *where) -> int:
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

        return {
            "bookings": count(Booking),
            "claims": count(TimeClaim),
            "tokens": count(IdempotencyKey),
            "e-mails": count(OutboxMessage),
            "audit": count(AuditEntry, AuditEntry.action.like("booking.%")),
        }


NOTHING = {"bookings": 0, "claims": 0, "tokens": 0, "e-mails": 0, "audit": 0}


# --- booking: the happy paths ---------------------------------------------------------------


def test_a_cleared_client_books_and_gets_a_confirmed_session_with_a_room(
    clinic: Clinic, make_client, mailbox: Mailbox
):
    # Varicose veins and an oil allergy only make a note for the therapist: still confirmed.
    ida = make_client("ida@example.com", yes=("varicose_veins", "skin_allergy"))
    query = params(clinic)
    assert offered(ida.web, clinic, "anna", TUE_10)

    page = ida.web.get("/book/confirm", query_string=query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Sports massage, 60 minutes" in html
    assert "Anna Holm" in html
    assert "Tuesday 23 March 2027, 10:00\u201311:00 CET" in html
    assert "Room</dt>" in html and "Assigned when you confirm" in html
    assert "DKK 650" in html
    assert "Free cancellation or rescheduling until 24 hours before the session" in html
    assert "Confirm booking" in html
    assert stored(clinic) == NOTHING  # looking books nothing

    response = book(ida.web, query)
    booking_id = booked_id(response)
    shown = flashed(ida.web, response)
    assert "Your booking is confirmed" in shown
    assert "status-confirmed" in shown and ">Confirmed<" in shown
    assert "Room 1" in shown and "DKK 650" in shown
    assert "(22 March 2027, 10:00 CET)" in shown  # the cut-off, in clinic time

    booking = load(clinic, booking_id)
    assert booking.status is BookingStatus.CONFIRMED
    assert booking.client_id == ida.user.id
    assert booking.therapist_id == clinic.ids["anna"]
    assert (booking.starts_at, booking.ends_at) == (TUE_10, TUE_10 + timedelta(minutes=60))
    assert booking.price_minor == 650_00  # the technique's price for 60 minutes
    assert booking.buffer_minutes == 15 and booking.cancellation_cutoff_hours == 24
    with clinic.app.app_context():
        room = db.session.get(Room, booking.room_id)
        assert room is not None and room.name == "Room 1"

    claims = claims_of(clinic, booking_id)
    blocks = [TUE_10 + timedelta(minutes=5 * i) for i in range(15)]  # (60 + 15) / 5
    assert claims == [("room", booking.room_id, b) for b in blocks] + [
        ("therapist", booking.therapist_id, b) for b in blocks
    ]

    to_ida = mailbox.to("ida@example.com")
    to_anna = mailbox.to("anna@lindring.example")
    assert [m["Subject"] for m in to_ida] == ["Your booking is confirmed"]
    assert [m["Subject"] for m in to_anna] == ["New session booked"]
    ida_body, anna_body = Mailbox.body(to_ida[0]), Mailbox.body(to_anna[0])
    assert "Sports massage, 60 minutes" in ida_body and "23 March 2027, 10:00 CET" in ida_body
    assert f"/bookings/{booking_id}" in ida_body and "DKK 650" in ida_body
    assert "Client: Ida" in anna_body and "DKK" not in anna_body
    for body in (ida_body, anna_body):
        for health in ("varicose", "Varicose", "allerg", "Allerg", "screening"):
            assert health not in body

    assert audit_actions(clinic, booking_id) == [("booking.booked", ida.user.id)]
    assert not offered(ida.web, clinic, "anna", TUE_10)
    assert offered(ida.web, clinic, "david", TUE_10)  # another therapist, another room


def test_a_screening_that_needs_review_holds_the_time_until_an_admin_confirms(
    clinic: Clinic, make_client, mailbox: Mailbox
):
    eva = make_client("eva@example.com", yes=("pregnancy",))
    query = params(clinic)
    page = eva.web.get("/book/confirm", query_string=query).get_data(as_text=True)
    assert "needs a review by our staff" in page and "Confirm booking" in page

    response = book(eva.web, query)
    booking_id = booked_id(response)
    shown = flashed(eva.web, response)
    assert "We hold this time for you and confirm it after a review" in shown
    assert "status-pending" in shown and ">Pending<" in shown
    assert "Confirm this booking" not in shown  # that is the clinic's button
    assert load(clinic, booking_id).status is BookingStatus.PENDING
    assert len(claims_of(clinic, booking_id)) == 30  # a held time is taken
    assert not offered(eva.web, clinic, "anna", TUE_10)
    held = mailbox.to("eva@example.com")
    assert [m["Subject"] for m in held] == ["Your booking is held: we confirm it after a review"]
    assert [m["Subject"] for m in mailbox.to("anna@lindring.example")] == [
        "New session held (pending review)"
    ]
    assert all("pregnan" not in Mailbox.body(m).lower() for m in mailbox.messages)

    # The client cannot confirm it herself.
    refused = post_on_page(eva.web, f"/bookings/{booking_id}", f"/bookings/{booking_id}/confirm")
    assert refused.status_code == 403
    assert load(clinic, booking_id).status is BookingStatus.PENDING

    admin = clinic.staff("admin")
    page = admin.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Confirm this booking" in page
    mailbox.messages.clear()
    response = post_on_page(admin, f"/bookings/{booking_id}", f"/bookings/{booking_id}/confirm")
    assert "The booking is confirmed; the client has been told." in flashed(admin, response)
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED
    assert [m["Subject"] for m in mailbox.to("eva@example.com")] == ["Your booking is confirmed"]
    assert "now confirmed" in Mailbox.body(mailbox.to("eva@example.com")[0])
    admin_id = user_id(clinic, "admin@lindring.example")
    assert audit_actions(clinic, booking_id) == [
        ("booking.booked_pending", eva.user.id),
        ("booking.confirmed", admin_id),
    ]
    assert len(claims_of(clinic, booking_id)) == 30

    # Confirming twice changes nothing more.
    again = post_on_page(admin, f"/bookings/{booking_id}", f"/bookings/{booking_id}/confirm")
    assert "changed meanwhile; it is now confirmed" in flashed(admin, again)
    assert len(audit_actions(clinic, booking_id)) == 2


def test_each_session_at_one_time_gets_its_own_room_until_none_is_left(clinic: Clinic, make_client):
    people = [make_client(f"c{n}@example.com") for n in range(4)]
    rooms = set()
    for person, therapist in zip(people[:3], ("anna", "clara", "david"), strict=True):
        rooms.add(load(clinic, booked_id(book(person.web, params(clinic, therapist)))).room_id)
    assert len(rooms) == 3
    # Bo is free at 10:00, but all three rooms are taken: the confirm page says so at once,
    # and a form sent anyway (an old tab) is refused.
    query = params(clinic, "bo", technique="classic-massage")
    page = people[3].web.get("/book/confirm", query_string=query)
    assert page.status_code == 409
    assert "Choose another time" in page.get_data(as_text=True)
    assert "Confirm booking" not in page.get_data(as_text=True)
    last = book(people[3].web, query, token="an-old-tab-token-0123456789")
    assert last.status_code == 409
    assert stored(clinic)["bookings"] == 3


# --- booking: refusals that store nothing ---------------------------------------------------


@pytest.mark.parametrize(
    ("how", "message", "link"),
    [
        # never answered
        ({"screened": False}, "Please answer the health screening first.", "/screening/new"),
        # answered a year and a day ago: expired
        (
            {"screened_at": NOW - timedelta(days=366)},
            "Your health screening has expired. Please answer it again.",
            "/screening/new",
        ),
        # a fever now: not_now for every technique
        (
            {"yes": ("fever_infection",)},
            "Your health screening does not allow sports massage now.",
            'href="/screening"',
        ),
    ],
)
def test_the_screening_gate_refuses_with_a_way_forward(
    clinic: Clinic, make_client, mailbox: Mailbox, how, message, link
):
    person = make_client("nils@example.com", **how)
    query = params(clinic)
    page = person.web.get("/book/confirm", query_string=query).get_data(as_text=True)
    assert "Confirm booking" not in page  # no button that cannot work
    assert link in page

    # A form sent anyway (an old tab, a crafted request) is refused the same way.
    token = secrets.token_urlsafe(24)
    response = person.web.post(
        "/book/confirm",
        query_string=query,
        data={"csrf_token": csrf_token_from(page), "request_token": token},
    )
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert message in html and link in html
    assert stored(clinic) == NOTHING
    assert mailbox.messages == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        # 10:05 is not on the 15-minute grid
        ({"start": local(TUESDAY, "10:05")}, "Sessions start every 15 minutes"),
        # earlier this morning
        ({"start": local(MONDAY, "06:00")}, "That time has passed."),
        # in an hour: inside the 2-hour notice
        ({"start": local(MONDAY, "08:00")}, "Please book at least 2 hours ahead."),
        # 91 days ahead
        ({"start": local(MONDAY + timedelta(days=91), "10:00")}, "up to 90 days ahead"),
        # sports massage comes in 60 and 90 minutes
        ({"duration": 45}, "Sports massage comes in 60, 90 minutes."),
        # David's trigger point certificate has expired
        (
            {"therapist": "david", "technique": "trigger-point-therapy"},
            "That therapist does not offer this technique on that day.",
        ),
        # Bo does not do sports massage at all
        ({"therapist": "bo"}, "That therapist does not offer this technique on that day."),
        # no such therapist
        ({"therapist": "99999"}, "That therapist does not offer this technique on that day."),
        # no such technique
        ({"technique": "reiki"}, "We do not offer that technique."),
    ],
)
def test_a_request_that_can_never_be_booked_is_refused_and_stores_nothing(
    clinic: Clinic, ida: Person, mailbox: Mailbox, query, message
):
    response = ida.web.post(
        "/book/confirm",
        query_string=params(clinic, **query),
        data={"csrf_token": csrf_for(ida.web), "request_token": secrets.token_urlsafe(24)},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert "Choose another time" in html
    assert stored(clinic) == NOTHING
    assert mailbox.messages == []


@pytest.mark.parametrize(
    "query",
    [
        {"start": "tomorrow at ten"},  # not a time
        {"start": ""},  # missing
        {"start": "2027-03-23T25:00:00+01:00"},  # no such hour
        {"duration": "an hour"},  # not a number
        {"therapist": "anna-holm"},  # not an id
    ],
)
def test_a_malformed_request_goes_back_to_the_search(clinic: Clinic, ida: Person, query):
    full = {**params(clinic), **query}
    data = {"csrf_token": csrf_for(ida.web), "request_token": secrets.token_urlsafe(24)}
    for method in ("GET", "POST"):
        response = ida.web.open(
            "/book/confirm",
            method=method,
            query_string=full,
            data=data if method == "POST" else None,
        )
        assert response.status_code == 302 and response.headers["Location"] == "/book"
        assert "That time could not be read" in flashed(ida.web, response)
    assert stored(clinic) == NOTHING


def test_a_replayed_form_books_once_and_lands_on_the_same_booking(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    query = params(clinic)
    page = ida.web.get("/book/confirm", query_string=query).get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page), "request_token": request_token_from(page)}
    first = ida.web.post("/book/confirm", query_string=query, data=data)
    booking_id = booked_id(first)
    mails = len(mailbox.messages)

    second = ida.web.post("/book/confirm", query_string=query, data=data)
    assert booked_id(second) == booking_id
    assert "You had already sent this booking; here it is." in flashed(ida.web, second)
    counts = stored(clinic)
    assert (counts["bookings"], counts["tokens"], counts["claims"]) == (1, 1, 30)
    assert len(mailbox.messages) == mails


def test_every_confirm_page_gets_a_fresh_token(clinic: Clinic, ida: Person):
    query = params(clinic)
    tokens = {
        request_token_from(ida.web.get("/book/confirm", query_string=query).get_data(as_text=True))
        for _ in range(3)
    }
    assert len(tokens) == 3


def test_a_post_without_the_csrf_token_is_refused(clinic: Clinic, ida: Person):
    query = params(clinic)
    page = ida.web.get("/book/confirm", query_string=query).get_data(as_text=True)
    response = ida.web.post(
        "/book/confirm", query_string=query, data={"request_token": request_token_from(page)}
    )
    assert response.status_code == 400
    assert stored(clinic) == NOTHING


def test_a_post_without_the_request_token_books_nothing(clinic: Clinic, ida: Person):
    query = params(clinic)
    response = ida.web.post(
        "/book/confirm", query_string=query, data={"csrf_token": csrf_for(ida.web)}
    )
    assert response.status_code != 302  # no booking page to go to
    assert stored(clinic) == NOTHING


def test_a_time_taken_meanwhile_gets_409_and_a_way_back(
    clinic: Clinic, make_client, mailbox: Mailbox
):
    ida, jon = make_client("ida@example.com"), make_client("jon@example.com")
    query = params(clinic)
    page = ida.web.get("/book/confirm", query_string=query).get_data(as_text=True)
    jons = booked_id(book(jon.web, query))  # Jon is quicker
    mailbox.messages.clear()

    response = ida.web.post(
        "/book/confirm",
        query_string=query,
        data={"csrf_token": csrf_token_from(page), "request_token": request_token_from(page)},
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "that time has just been taken" in html and "Choose another time" in html
    assert stored(clinic)["bookings"] == 1 and stored(clinic)["tokens"] == 1
    assert load(clinic, jons).client_id == jon.user.id
    assert mailbox.messages == []


def test_only_clients_book(clinic: Clinic):
    anna = clinic.staff("anna")
    assert anna.get("/book/confirm", query_string=params(clinic)).status_code == 403
    anonymous = clinic.web().get("/book/confirm", query_string=params(clinic))
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


# --- cancelling -----------------------------------------------------------------------------


def test_the_client_cancels_before_the_cut_off_and_can_book_the_time_again(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    page = ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Cancel booking" in page
    mailbox.messages.clear()

    response = post_on_page(ida.web, f"/bookings/{booking_id}", f"/bookings/{booking_id}/cancel")
    shown = flashed(ida.web, response)
    assert "The booking is cancelled. An e-mail confirms it." in shown
    assert ">Cancelled<" in shown and "Cancel booking" not in shown
    booking = load(clinic, booking_id)
    assert booking.status is BookingStatus.CANCELLED
    assert booking.cancelled_by_id == ida.user.id and booking.cancelled_at == NOW
    assert booking.sequence == 1  # the client's calendar must follow
    assert claims_of(clinic, booking_id) == []
    assert [m["Subject"] for m in mailbox.to("ida@example.com")] == ["Your booking is cancelled"]
    assert [m["Subject"] for m in mailbox.to("anna@lindring.example")] == [
        "A session was cancelled"
    ]
    assert audit_actions(clinic, booking_id)[-1] == ("booking.cancelled", ida.user.id)
    assert offered(ida.web, clinic, "anna", TUE_10)

    again = booked_id(book(ida.web, params(clinic)))
    assert again != booking_id
    assert load(clinic, again).status is BookingStatus.CONFIRMED
    assert len(claims_of(clinic, again)) == 30

    # Cancelling the cancelled one again is refused.
    response = post_on_page(ida.web, f"/bookings/{again}", f"/bookings/{booking_id}/cancel")
    assert "This booking is cancelled." in flashed(ida.web, response)


def test_after_the_cut_off_the_client_is_told_why_and_cannot_cancel(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(TUE_10 - timedelta(hours=23, minutes=30))  # half an hour past the cut-off
    mailbox.messages.clear()
    before = stored(clinic)

    page = ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Changes are possible until 24 hours before the session. Please call the clinic." in (
        page
    )
    assert "Cancel booking" not in page

    response = post_on_page(ida.web, f"/bookings/{booking_id}", f"/bookings/{booking_id}/cancel")
    assert "Changes are possible until 24 hours before the session" in flashed(ida.web, response)
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED
    assert len(claims_of(clinic, booking_id)) == 30
    assert stored(clinic) == before and mailbox.messages == []


def test_the_therapist_cancels_with_a_reason_the_client_sees(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    anna = clinic.staff("anna")
    # After the client's cut-off: the therapist may still cancel.
    clinic.set_clock(TUE_10 - timedelta(hours=2))
    mailbox.messages.clear()
    response = post_on_page(
        anna,
        f"/bookings/{booking_id}",
        f"/bookings/{booking_id}/cancel",
        {"reason": "Anna is ill today; we are sorry."},
    )
    assert "The booking is cancelled" in flashed(anna, response)
    booking = load(clinic, booking_id)
    assert booking.status is BookingStatus.CANCELLED
    assert booking.cancel_reason == "Anna is ill today; we are sorry."
    assert claims_of(clinic, booking_id) == []
    page = ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Anna is ill today; we are sorry." in page
    assert "Reason: Anna is ill today" in Mailbox.body(mailbox.to("ida@example.com")[0])
    anna_id = user_id(clinic, "anna@lindring.example")
    assert audit_actions(clinic, booking_id)[-1] == ("booking.cancelled", anna_id)


def test_the_therapist_must_say_why(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = booked_id(book(ida.web, params(clinic)))
    anna = clinic.staff("anna")
    mailbox.messages.clear()
    before = stored(clinic)
    response = post_on_page(
        anna, f"/bookings/{booking_id}", f"/bookings/{booking_id}/cancel", {"reason": "   "}
    )
    assert "Tell the client why the session is cancelled." in flashed(anna, response)
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED
    assert stored(clinic) == before and mailbox.messages == []


def test_another_client_cannot_cancel(clinic: Clinic, make_client):
    ida, jon = make_client("ida@example.com"), make_client("jon@example.com")
    booking_id = booked_id(book(ida.web, params(clinic)))
    response = jon.web.post(
        f"/bookings/{booking_id}/cancel", data={"csrf_token": csrf_for(jon.web)}
    )
    assert response.status_code == 404
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED


def test_the_admin_cancels_any_booking_even_after_the_cut_off(clinic: Clinic, ida: Person):
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(TUE_10 - timedelta(hours=1))
    admin = clinic.staff("admin")
    refused = post_on_page(admin, f"/bookings/{booking_id}", f"/bookings/{booking_id}/cancel")
    assert "Tell the client why" in flashed(admin, refused)  # the client is owed a reason
    response = post_on_page(
        admin,
        f"/bookings/{booking_id}",
        f"/bookings/{booking_id}/cancel",
        {"reason": "Anna is ill today."},
    )
    assert "The booking is cancelled" in flashed(admin, response)
    booking = load(clinic, booking_id)
    assert booking.status is BookingStatus.CANCELLED
    assert booking.cancelled_by_id == user_id(clinic, "admin@lindring.example")
    assert claims_of(clinic, booking_id) == []


# --- marking sessions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "label", "status"),
    [
        ("completed", "Completed", BookingStatus.COMPLETED),
        ("no_show", "No-show", BookingStatus.NO_SHOW),
    ],
)
def test_the_therapist_marks_a_session_that_has_started(
    clinic: Clinic, ida: Person, outcome, label, status
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(TUE_10 + timedelta(minutes=70))
    anna = clinic.staff("anna")
    page = anna.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "After the session" in page
    response = post_on_page(
        anna, f"/bookings/{booking_id}", f"/bookings/{booking_id}/mark", {"outcome": outcome}
    )
    shown = flashed(anna, response)
    assert f"Marked {label.lower()}." in shown and f">{label}<" in shown
    assert load(clinic, booking_id).status is status
    anna_id = user_id(clinic, "anna@lindring.example")
    assert audit_actions(clinic, booking_id)[-1] == (f"booking.{outcome}", anna_id)
    assert f">{label}<" in ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)

    # Once marked, it stays marked.
    again = post_on_page(
        anna, f"/bookings/{booking_id}", f"/bookings/{booking_id}/mark", {"outcome": "completed"}
    )
    assert "Only confirmed sessions can be marked" in flashed(anna, again)
    assert load(clinic, booking_id).status is status


def test_a_session_cannot_be_marked_before_it_starts(clinic: Clinic, ida: Person):
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(TUE_10 - timedelta(minutes=5))
    anna = clinic.staff("anna")
    assert "After the session" not in anna.get(f"/bookings/{booking_id}").get_data(as_text=True)
    response = post_on_page(
        anna, f"/bookings/{booking_id}", f"/bookings/{booking_id}/mark", {"outcome": "completed"}
    )
    assert "A session can be marked once it has started." in flashed(anna, response)
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED


def test_another_therapist_cannot_mark_nor_see_it(clinic: Clinic, ida: Person):
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(TUE_10 + timedelta(minutes=70))
    bo = clinic.staff("bo")
    response = bo.post(
        f"/bookings/{booking_id}/mark", data={"csrf_token": csrf_for(bo), "outcome": "no_show"}
    )
    assert response.status_code == 404
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED


def test_a_client_cannot_mark_their_own_session(clinic: Clinic, ida: Person):
    booking_id = booked_id(book(ida.web, params(clinic)))
    clinic.set_clock(TUE_10 + timedelta(minutes=70))
    page = ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "After the session" not in page
    response = post_on_page(
        ida.web, f"/bookings/{booking_id}", f"/bookings/{booking_id}/mark", {"outcome": "completed"}
    )
    assert response.status_code == 403 and "Not for you" in response.get_data(as_text=True)
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED
    assert [a for a, _ in audit_actions(clinic, booking_id)] == ["booking.booked"]


# --- my bookings ----------------------------------------------------------------------------


def section(page: str, heading: str, next_heading: str | None) -> str:
    start = page.index(heading)
    return page[start : page.index(next_heading) if next_heading else len(page)]


def test_my_bookings_lists_upcoming_and_past_with_their_status(clinic: Clinic, ida: Person):
    empty = ida.web.get("/my/bookings").get_data(as_text=True)
    assert "Nothing booked yet." in empty

    tuesday = booked_id(book(ida.web, params(clinic)))
    wednesday = booked_id(book(ida.web, params(clinic, start=local(date(2027, 3, 24), "10:00"))))
    thursday = booked_id(book(ida.web, params(clinic, start=local(date(2027, 3, 25), "10:00"))))
    post_on_page(ida.web, f"/bookings/{thursday}", f"/bookings/{thursday}/cancel")
    clinic.set_clock(TUE_10 + timedelta(hours=2))  # Tuesday's session is over
    anna = clinic.staff("anna")
    post_on_page(
        anna, f"/bookings/{tuesday}", f"/bookings/{tuesday}/mark", {"outcome": "completed"}
    )

    page = ida.web.get("/my/bookings").get_data(as_text=True)
    upcoming = section(page, ">Upcoming<", ">Past and cancelled<")
    past = section(page, ">Past and cancelled<", None)
    assert f'data-booking="{wednesday}"' in upcoming
    assert "24 March 2027, 10:00 CET" in upcoming and "Confirmed" in upcoming
    assert "Sports massage, 60 min" in upcoming and "Anna Holm" in upcoming
    assert f'data-booking="{tuesday}"' in past and "Completed" in past
    assert f'data-booking="{thursday}"' in past and "Cancelled" in past
    assert f'data-booking="{tuesday}"' not in upcoming
    assert f'data-booking="{thursday}"' not in upcoming
    assert f'href="/bookings/{wednesday}"' in upcoming


def test_my_bookings_pages_the_past_newest_first_in_a_fixed_number_of_statements(
    clinic: Clinic, ida: Person
):
    starts = []
    day = TUESDAY + timedelta(days=1)
    while len(starts) < 45:
        if day.weekday() < 5:
            starts += [local(day, "13:00"), local(day, "15:00")]
        day += timedelta(days=1)
    booked = {book_directly(clinic, ida.user.id, "anna", start): start for start in starts[:45]}
    clinic.set_clock(max(booked.values()) + timedelta(days=1))  # all of them are over
    newest_first = sorted(booked, key=lambda b: booked[b], reverse=True)

    def listed(page: str) -> list[int]:
        return [int(b) for b in re.findall(r'data-booking="(\d+)"', page)]

    pages = []
    for number in (1, 2, 3):
        with count_queries(clinic.app) as statements:
            page = ida.web.get(f"/my/bookings?page={number}").get_data(as_text=True)
        pages.append((page, statements))
    assert [listed(page) for page, _ in pages] == [
        newest_first[:20],
        newest_first[20:40],
        newest_first[40:],
    ]
    assert all("Nothing booked yet." in page for page, _ in pages)
    link = 'href="/my/bookings?sort=starts_at&amp;order=desc&amp;page=2#past">'
    assert "Page 1 of 3" in pages[0][0] and f"{link}Next" in pages[0][0]
    assert "Previous" not in pages[0][0]
    assert f"{link}Previous" in pages[2][0] and "Next<" not in pages[2][0]
    # The same statements for every page, however long the history.
    assert len(pages[0][1]) == len(pages[2][1]) <= 6, pages[0][1]
    assert listed(ida.web.get("/my/bookings?page=abc").get_data(as_text=True)) == listed(
        pages[0][0]
    )


def test_my_bookings_shows_only_mine(clinic: Clinic, make_client):
    ida, jon = make_client("ida@example.com"), make_client("jon@example.com")
    booking_id = booked_id(book(ida.web, params(clinic)))
    assert f'data-booking="{booking_id}"' not in jon.web.get("/my/bookings").get_data(as_text=True)
    assert clinic.staff("anna").get("/my/bookings").status_code == 403


def book_directly(clinic: Clinic, client_id: int, therapist: str, start: datetime) -> int:
    """A confirmed booking through the operation itself (faster than the pages)."""
    with clinic.app.app_context():
        booking = operations.book(
            db.session.get(User, client_id),
            operations.Request("sports-massage", 60, clinic.ids[therapist], start),
            now=NOW,
            timezone="Europe/Copenhagen",
        )
        db.session.commit()
        return booking.id


def test_my_bookings_and_a_booking_page_take_a_fixed_number_of_queries(clinic: Clinic, ida: Person):
    first = book_directly(clinic, ida.user.id, "anna", TUE_10)

    def measure() -> tuple[list[str], list[str]]:
        with count_queries(clinic.app) as mine:
            assert ida.web.get("/my/bookings").status_code == 200
        with count_queries(clinic.app) as one:
            assert ida.web.get(f"/bookings/{first}").status_code == 200
        return mine, one

    few_mine, few_one = measure()
    for n in range(1, 9):
        day = TUESDAY + timedelta(days=n)
        if day.weekday() < 5:
            book_directly(clinic, ida.user.id, "david" if n % 2 else "anna", local(day, "13:00"))
    assert stored(clinic)["bookings"] >= 6
    many_mine, many_one = measure()
    assert len(many_mine) == len(few_mine) <= 8, many_mine
    # The booking page also reads the pre-visit check and the treatment note: one each.
    assert len(many_one) == len(few_one) <= 10, many_one


def test_booking_takes_a_fixed_number_of_statements_e_mail_included(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    def booking_statements(start: datetime) -> list[str]:
        query = params(clinic, start=start)
        page = ida.web.get("/book/confirm", query_string=query).get_data(as_text=True)
        data = {"csrf_token": csrf_token_from(page), "request_token": request_token_from(page)}
        with count_queries(clinic.app) as statements:
            booked_id(ida.web.post("/book/confirm", query_string=query, data=data))
        return statements

    first = booking_statements(TUE_10)
    for n in range(1, 8):
        day = TUESDAY + timedelta(days=n)
        if day.weekday() < 5:
            book_directly(clinic, ida.user.id, "david" if n % 2 else "anna", local(day, "13:00"))
    later = booking_statements(local(TUESDAY, "14:00"))
    assert len(later) == len(first) <= 30, "\n".join(s[:120] for s in later)
    # Checking, storing, two e-mails queued and sent: the screening is read once, not twice.
    assert sum(s.lstrip().startswith("SELECT screening.") for s in later) == 1
    assert len(mailbox.messages) == 4  # to the client and to the therapist, each time


# --- who may open or change a booking -------------------------------------------------------


@pytest.fixture
def cast(clinic: Clinic, make_client) -> Iterator[tuple[int, dict[str, FlaskClient]]]:
    """Ida's booking with Anna, and everyone who might look at it."""
    ida, jon = make_client("ida@example.com"), make_client("jon@example.com")
    booking_id = booked_id(book(ida.web, params(clinic)))
    yield (
        booking_id,
        {
            "anonymous": clinic.web(),
            "client A (owner)": ida.web,
            "client B": jon.web,
            "therapist X (anna)": clinic.staff("anna"),
            "therapist Y (bo)": clinic.staff("bo"),
            "admin": clinic.staff("admin"),
        },
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),  # to the login page
        ("client A (owner)", 200),
        ("client B", 404),  # someone else's booking does not exist for them
        ("therapist X (anna)", 200),
        ("therapist Y (bo)", 404),
        ("admin", 200),
    ],
)
def test_who_sees_a_booking(cast, who, status):
    booking_id, people = cast
    response = people[who].get(f"/bookings/{booking_id}")
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")
    if status == 200:
        html = response.get_data(as_text=True)
        assert "Sports massage" in html and "Anna Holm" in html
        # Staff see who the client is; the client sees the booking without that line.
        assert ("Client: Ida" in html) is (who != "client A (owner)")


@pytest.mark.parametrize("action", ["cancel", "mark", "confirm"])
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),  # to the login page
        ("client B", 404),
        ("therapist Y (bo)", 404),
    ],
)
def test_who_may_not_change_a_booking(clinic: Clinic, cast, mailbox: Mailbox, action, who, status):
    booking_id, people = cast
    clinic.set_clock(TUE_10 + timedelta(minutes=70))  # late enough to mark
    web = people[who]
    mailbox.messages.clear()
    before = stored(clinic)
    response = web.post(
        f"/bookings/{booking_id}/{action}",
        data={"csrf_token": csrf_for(web), "outcome": "completed", "reason": "Because."},
    )
    # Marking is for staff and confirming for admins: a client is refused by role (403).
    by_role = (action == "confirm" and who != "anonymous") or (
        action == "mark" and who == "client B"
    )
    assert response.status_code == (403 if by_role else status)
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED
    assert stored(clinic) == before and mailbox.messages == []


@pytest.mark.parametrize("who", ["client A (owner)", "therapist X (anna)"])
def test_only_admins_confirm_pending_bookings(clinic: Clinic, cast, who):
    booking_id, people = cast
    web = people[who]
    response = web.post(f"/bookings/{booking_id}/confirm", data={"csrf_token": csrf_for(web)})
    assert response.status_code == 403
    assert load(clinic, booking_id).status is BookingStatus.CONFIRMED


def test_the_booking_pages_refuse_get_on_changes(cast):
    booking_id, people = cast
    for action in ("cancel", "mark", "confirm"):
        assert people["admin"].get(f"/bookings/{booking_id}/{action}").status_code == 405


@pytest.mark.parametrize(
    ("therapist", "start"),
    [
        ("clara", None),  # Clara works Tuesday to Saturday; this is a Monday
        ("anna", "20:00"),  # Anna's day ends at 17:00
    ],
)
def test_a_time_the_therapist_never_works_is_not_offered_rather_than_taken(
    clinic: Clinic, make_client, therapist, start
):
    ida = make_client("ida@example.com")
    when = local(MONDAY, "10:00") if start is None else local(TUE_10.astimezone(CPH).date(), start)
    page = ida.web.get("/book/confirm", query_string=params(clinic, therapist, when))
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "The therapist does not work at that time." in html
    assert "just been taken" not in html and "Confirm booking" not in html
    assert stored(clinic)["bookings"] == 0
