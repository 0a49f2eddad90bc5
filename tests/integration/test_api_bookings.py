"""The booking calls of the JSON API v1, on the demo clinic with the clock on a Monday."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus, IdempotencyKey, TimeClaim
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.scheduling.models import TimeOff, WorkingHours
from clinic.screening.operations import submit_screening
from tests.integration.test_api import all_no, assert_error, bearer, token_for
from tests.support import DEMO_PASSWORD, NOW, Clinic, count_queries

# The clock is at NOW, Monday 22 March 2027, 07:00 in Copenhagen (UTC+1): the two-hour notice
# ends at 09:00.
ADMIN = "admin@lindring.example"
# Anna: sports massage, Mon-Fri 09:00-12:00. Monday 09:00 is past the client's 24 h cut-off
# already; Wednesday 09:00 is well before it.
MONDAY_9 = "2027-03-22T09:00:00+01:00"
MONDAY_1030 = "2027-03-22T10:30:00+01:00"  # free after 09:00 and its buffer
WEDNESDAY_9 = "2027-03-24T09:00:00+01:00"


@pytest.fixture
def clinic(clinic: Clinic) -> Flask:
    """The app of the demo clinic seeded on MONDAY, with the clock at NOW (see conftest.py)."""
    return clinic.app


def therapist_id(app, first_name: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Therapist.id)
            .join(Therapist.user)
            .where(User.email == f"{first_name}@lindring.example")
        )


def screened(app, make_user, *yes: str, **user: Any) -> User:
    """A client whose screening answers yes to `yes` and no to everything else."""
    person = make_user(**user)
    with app.app_context():
        submit_screening(
            db.session.get(User, person.id),
            all_no(**dict.fromkeys(yes, True)),
            consent=True,
            now=NOW,
        )
        db.session.commit()
    return person


def body_for(app, start: str = MONDAY_9, therapist: str = "anna", **changes: Any) -> dict:
    body = {
        "technique": "sports-massage",
        "duration": 60,
        "therapist_id": therapist_id(app, therapist),
        "start": start,
    }
    body.update(changes)
    return body


def post_booking(client, token: str, body: Any, key: str | None = None) -> Any:
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/bookings", json=body, headers=headers)


def count(app, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def assert_nothing_booked(app) -> None:
    assert count(app, Booking) == 0
    assert count(app, TimeClaim) == 0
    assert count(app, OutboxMessage) == 0
    assert count(app, AuditEntry) == 0


def stored_booking(app, booking_id: int) -> Booking:
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        db.session.expunge(booking)
        return booking


@pytest.fixture
def ida(clinic, make_user) -> User:
    return screened(clinic, make_user, email="ida@example.com")


@pytest.fixture
def ida_token(client, ida) -> str:
    return token_for(client, ida.email)


# --- booking --------------------------------------------------------------------------------


def test_a_cleared_client_books_and_gets_the_booking_in_clinic_time(
    clinic, client, ida, ida_token, mailbox
):
    response = post_booking(client, ida_token, body_for(clinic))

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer == {
        "id": answer["id"],
        "status": "confirmed",
        "start": MONDAY_9,
        "end": "2027-03-22T10:00:00+01:00",
        "therapist_id": therapist_id(clinic, "anna"),
        "technique": "sports-massage",
    }
    booking = stored_booking(clinic, answer["id"])
    assert booking.client_id == ida.id
    assert booking.starts_at == datetime(2027, 3, 22, 8, 0, tzinfo=UTC)
    assert booking.status is BookingStatus.CONFIRMED
    # 60 minutes plus the 15-minute buffer in 5-minute blocks, for the therapist and the room.
    assert count(clinic, TimeClaim) == 2 * 15
    with clinic.app_context():
        assert db.session.scalar(select(AuditEntry.action)) == "booking.booked"
    # The confirmation reached the SMTP server, for the client and for Anna.
    [mail] = mailbox.to(ida.email)
    assert mail["Subject"] == "Your booking is confirmed"
    assert mailbox.to("anna@lindring.example")


def test_a_start_in_utc_is_the_same_instant_and_is_answered_in_clinic_time(
    clinic, client, ida_token
):
    response = post_booking(client, ida_token, body_for(clinic, start="2027-03-22T08:00:00Z"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["start"] == MONDAY_9


def test_a_client_whose_screening_needs_review_gets_a_pending_booking(
    clinic, client, make_user, mailbox
):
    person = screened(clinic, make_user, "pregnancy", email="mia@example.com")
    response = post_booking(client, token_for(client, person.email), body_for(clinic))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "pending"
    assert stored_booking(clinic, response.get_json()["id"]).status is BookingStatus.PENDING
    assert count(clinic, TimeClaim) == 30  # a pending booking holds its time too
    [mail] = mailbox.to(person.email)
    assert "review" in mail["Subject"]


def test_a_client_without_a_screening_is_sent_to_answer_it(clinic, client, make_user):
    person = make_user(email="new@example.com")
    response = post_booking(client, token_for(client, person.email), body_for(clinic))
    assert_error(response, 403, "screening_required")
    assert_nothing_booked(clinic)


def test_a_screening_that_says_not_now_blocks_the_booking(clinic, client, make_user):
    person = screened(clinic, make_user, "fever_infection", email="ill@example.com")
    response = post_booking(client, token_for(client, person.email), body_for(clinic))
    assert_error(response, 403, "screening_blocks")
    assert_nothing_booked(clinic)


@pytest.mark.parametrize("email", ["anna@lindring.example", ADMIN])
def test_only_clients_book(clinic, client, email):
    response = post_booking(client, token_for(client, email, DEMO_PASSWORD), body_for(clinic))
    assert_error(response, 403, "forbidden")
    assert_nothing_booked(clinic)


def test_booking_needs_a_token(clinic, client):
    response = client.post("/api/v1/bookings", json=body_for(clinic))
    assert_error(response, 401, "unauthorized")
    assert_nothing_booked(clinic)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"room": 2}, "room"),  # a field the call does not take
        ({"duration": "60"}, "duration"),  # a number as text
        ({"duration": True}, "duration"),  # a boolean is not a number of minutes
        ({"therapist_id": "anna"}, "therapist_id"),  # not an id
        ({"technique": 7}, "technique"),  # not a slug
        ({"start": "2027-03-22T09:00:00"}, "start"),  # no UTC offset: ambiguous
        ({"start": "Monday at nine"}, "start"),  # not ISO 8601
        ({"start": 1774166400}, "start"),  # a Unix time, not ISO 8601
        ({"start": "2027-03-22T09:05:00+01:00"}, "start"),  # not on the 15-minute grid
        ({"start": "2027-03-22T06:00:00+01:00"}, "start"),  # an hour ago
        ({"start": "2027-03-22T08:45:00+01:00"}, "start"),  # inside the two-hour notice
        ({"start": "2027-06-22T09:00:00+02:00"}, "start"),  # 92 days ahead: past the horizon
        ({"duration": 45}, "duration"),  # sports massage comes in 60 and 90 minutes
        ({"therapist": "bo"}, "therapist_id"),  # Bo is not certified for sports massage
        ({"therapist": "david", "technique": "trigger-point-therapy"}, "therapist_id"),  # expired
        ({"therapist_id": 999999}, "therapist_id"),  # no such therapist
        ({"technique": "hot-stones"}, "technique"),  # not a technique of ours
    ],
)
def test_bad_input_is_refused_with_the_field_and_stores_nothing(
    clinic, client, ida_token, changes, field
):
    therapist = changes.pop("therapist", "anna")
    response = post_booking(client, ida_token, body_for(clinic, therapist=therapist, **changes))

    answer = assert_error(response, 422, "invalid")
    assert field in answer["problems"], answer
    assert answer["problems"][field]
    assert_nothing_booked(clinic)
    assert count(clinic, IdempotencyKey) == 0


@pytest.mark.parametrize(
    "data",
    [
        "[]",  # a list, not an object
        "{not json",  # malformed
        "",  # no body at all
    ],
)
def test_a_body_that_is_not_an_object_is_refused(clinic, client, ida_token, data):
    response = client.post(
        "/api/v1/bookings", data=data, content_type="application/json", headers=bearer(ida_token)
    )
    assert_error(response, 422, "invalid")
    assert_nothing_booked(clinic)


def test_missing_fields_are_all_named(clinic, client, ida_token):
    answer = assert_error(post_booking(client, ida_token, {}), 422, "invalid")
    assert set(answer["problems"]) == {"technique", "duration", "therapist_id", "start"}


def test_a_taken_slot_is_409_and_the_winner_keeps_it(clinic, client, ida_token, make_user):
    assert post_booking(client, ida_token, body_for(clinic)).status_code == 201
    other = screened(clinic, make_user, email="other@example.com")

    response = post_booking(client, token_for(client, other.email), body_for(clinic))

    assert_error(response, 409, "slot_unavailable")
    with clinic.app_context():
        assert db.session.scalars(select(Booking.client_id)).all() == [
            db.session.scalar(select(User.id).where(User.email == "ida@example.com"))
        ]


def test_after_a_cancellation_the_same_slot_can_be_booked_again(
    clinic, client, ida_token, make_user
):
    first = post_booking(client, ida_token, body_for(clinic, start=WEDNESDAY_9)).get_json()
    cancelled = client.post(f"/api/v1/bookings/{first['id']}/cancel", headers=bearer(ida_token))
    assert cancelled.status_code == 200, cancelled.get_json()

    other = screened(clinic, make_user, email="other@example.com")
    response = post_booking(client, token_for(client, other.email), body_for(clinic, WEDNESDAY_9))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["start"] == WEDNESDAY_9
    assert count(clinic, Booking) == 2
    assert count(clinic, TimeClaim) == 30  # only the live booking holds time


# --- Idempotency-Key ------------------------------------------------------------------------


def test_the_same_key_twice_returns_the_first_answer_and_books_once(
    clinic, client, ida_token, mailbox
):
    first = post_booking(client, ida_token, body_for(clinic), key="retry-1")
    mails = len(mailbox.messages)
    # The same request with its fields in another order is the same request.
    reordered = dict(reversed(list(body_for(clinic).items())))
    again = post_booking(client, ida_token, reordered, key="retry-1")

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(clinic, Booking) == 1
    assert len(mailbox.messages) == mails  # no second confirmation
    with clinic.app_context():
        stored = db.session.scalar(select(IdempotencyKey))
        assert (stored.key, stored.status_code) == ("retry-1", 201)
        assert stored.booking_id == first.get_json()["id"]


def test_the_same_key_with_another_body_is_refused(clinic, client, ida_token):
    post_booking(client, ida_token, body_for(clinic), key="retry-1")
    response = post_booking(client, ida_token, body_for(clinic, start=MONDAY_1030), key="retry-1")
    assert_error(response, 422, "idempotency_key_reused")
    assert count(clinic, Booking) == 1


def test_the_same_key_after_a_409_answers_409_again(clinic, client, ida, ida_token, make_user):
    other = screened(clinic, make_user, email="other@example.com")
    other_token = token_for(client, other.email)
    winner = post_booking(client, other_token, body_for(clinic, start=WEDNESDAY_9)).get_json()

    first = post_booking(client, ida_token, body_for(clinic, start=WEDNESDAY_9), key="k")
    assert_error(first, 409, "slot_unavailable")
    # Even once the time is free again, the key stands for the first answer.
    client.post(f"/api/v1/bookings/{winner['id']}/cancel", headers=bearer(other_token))
    again = post_booking(client, ida_token, body_for(clinic, start=WEDNESDAY_9), key="k")

    assert again.status_code == 409
    assert again.get_json() == first.get_json()
    with clinic.app_context():
        assert db.session.scalars(select(Booking.client_id)).all() == [other.id]
        stored = db.session.get(IdempotencyKey, (ida.id, "k"))
        assert (stored.status_code, stored.booking_id) == (409, None)


def test_a_refused_bad_request_is_stored_under_its_key_and_nothing_else(clinic, client, ida_token):
    first = post_booking(client, ida_token, body_for(clinic, duration=45), key="k")
    again = post_booking(client, ida_token, body_for(clinic, duration=45), key="k")

    assert_error(first, 422, "invalid")
    assert (again.status_code, again.get_json()) == (422, first.get_json())
    assert count(clinic, IdempotencyKey) == 1
    assert count(clinic, Booking) == count(clinic, OutboxMessage) == 0


def test_keys_belong_to_their_user(clinic, client, ida_token, make_user):
    other = screened(clinic, make_user, email="other@example.com")
    mine = post_booking(client, ida_token, body_for(clinic), key="k")
    other_token = token_for(client, other.email)
    theirs = post_booking(client, other_token, body_for(clinic, MONDAY_1030), key="k")
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]


@pytest.mark.parametrize("key", ["x" * 101, " "])
def test_a_key_too_long_or_blank_is_refused(clinic, client, ida_token, key):
    response = post_booking(client, ida_token, body_for(clinic), key=key)
    answer = assert_error(response, 422, "invalid")
    assert "Idempotency-Key" in answer["problems"]
    assert_nothing_booked(clinic)
    assert count(clinic, IdempotencyKey) == 0


def test_a_key_of_100_characters_is_fine(clinic, client, ida_token):
    assert post_booking(client, ida_token, body_for(clinic), key="x" * 100).status_code == 201


@pytest.fixture
def mail_left_in_the_outbox(app_config):
    """E-mail is not sent after the request (it is not what the test is about)."""
    app_config["MAIL_DELIVER_AFTER_REQUEST"] = False


def test_concurrent_twins_with_one_key_book_once(mail_left_in_the_outbox, clinic, client, ida):
    """Requests sent at once with the same key all get the one booking's answer."""
    body = body_for(clinic)
    # A token each, so that nothing but the key's primary key keeps the twins apart.
    tokens = [token_for(client, ida.email) for _ in range(6)]
    barrier = threading.Barrier(len(tokens))
    answers: list[tuple[int, Any]] = []

    def send(token: str) -> None:
        with clinic.test_client() as own:
            barrier.wait()
            response = post_booking(own, token, body, key="twin")
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _ in answers] == [201] * 6, answers
    assert len({answer["id"] for _, answer in answers}) == 1
    assert count(clinic, Booking) == 1
    assert count(clinic, IdempotencyKey) == 1


# --- listing --------------------------------------------------------------------------------


@pytest.fixture
def three_bookings(clinic, client, ida_token, make_user) -> dict[str, Any]:
    """Ida with Anna on Monday and Wednesday, Ole with Bo on Monday."""
    ole = screened(clinic, make_user, email="ole@example.com")
    ole_token = token_for(client, ole.email)
    made = {
        "ida_monday": post_booking(client, ida_token, body_for(clinic, MONDAY_9)),
        "ida_wednesday": post_booking(client, ida_token, body_for(clinic, WEDNESDAY_9)),
        "ole_monday": post_booking(
            client,
            ole_token,
            body_for(clinic, MONDAY_9, "bo", technique="classic-massage", duration=30),
        ),
    }
    assert all(r.status_code == 201 for r in made.values()), [r.get_json() for r in made.values()]
    return {name: r.get_json()["id"] for name, r in made.items()} | {"ole_token": ole_token}


def listed(client, token: str, **params: Any) -> list[dict]:
    response = client.get("/api/v1/bookings", query_string=params, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_client_lists_only_their_own_bookings_in_order(client, ida_token, three_bookings):
    rows = listed(client, ida_token)
    mine = [three_bookings["ida_monday"], three_bookings["ida_wednesday"]]
    assert [r["id"] for r in rows] == mine
    assert rows[0] == {
        "id": three_bookings["ida_monday"],
        "status": "confirmed",
        "start": MONDAY_9,
        "end": "2027-03-22T10:00:00+01:00",
        "therapist_id": rows[0]["therapist_id"],
        "technique": "sports-massage",
        "room": "Room 1",
        "price_minor": rows[0]["price_minor"],
        "currency": "DKK",
        "cancellation_cutoff_hours": 24,
        "cancellable_until": "2027-03-21T09:00:00+01:00",
    }
    assert rows[0]["price_minor"] > 0


def test_a_therapist_lists_their_sessions_and_an_admin_all(client, three_bookings):
    anna = token_for(client, "anna@lindring.example", DEMO_PASSWORD)
    bo = token_for(client, "bo@lindring.example", DEMO_PASSWORD)
    admin = token_for(client, ADMIN, DEMO_PASSWORD)

    assert [r["id"] for r in listed(client, anna)] == [
        three_bookings["ida_monday"],
        three_bookings["ida_wednesday"],
    ]
    assert [r["id"] for r in listed(client, bo)] == [three_bookings["ole_monday"]]
    assert {r["id"] for r in listed(client, admin)} == {
        three_bookings["ida_monday"],
        three_bookings["ida_wednesday"],
        three_bookings["ole_monday"],
    }
    # Two sessions at the same time in two rooms: Monday 09:00 needs Room 1 and Room 2.
    assert {r["room"] for r in listed(client, admin) if r["start"] == MONDAY_9} == {
        "Room 1",
        "Room 2",
    }


def test_the_list_filters_by_status_and_date_and_limits(client, ida_token, three_bookings):
    admin = token_for(client, ADMIN, DEMO_PASSWORD)
    assert (
        cancel(client, three_bookings["ida_monday"], admin, reason="Room closed").status_code == 200
    )

    assert [r["id"] for r in listed(client, ida_token, status="cancelled")] == [
        three_bookings["ida_monday"]
    ]
    assert [r["id"] for r in listed(client, ida_token, status="confirmed")] == [
        three_bookings["ida_wednesday"]
    ]
    assert [r["id"] for r in listed(client, ida_token, **{"from": "2027-03-23"})] == [
        three_bookings["ida_wednesday"]
    ]
    assert len(listed(client, admin, limit=2)) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "booked"}, "status"),  # not a status
        ({"limit": "0"}, "limit"),  # nothing at all
        ({"limit": "5000"}, "limit"),  # more than a page
        ({"limit": "many"}, "limit"),  # not a number
        ({"limit": "²"}, "limit"),  # a digit to Unicode, not to int()
        ({"from": "22/03/2027"}, "from"),  # not ISO 8601
    ],
)
def test_bad_list_parameters_are_named(client, ida_token, params, field):
    response = client.get("/api/v1/bookings", query_string=params, headers=bearer(ida_token))
    assert field in assert_error(response, 422, "invalid_parameters")["problems"]


def test_listing_needs_a_token(clinic, client):
    assert_error(client.get("/api/v1/bookings"), 401, "unauthorized")


def test_the_list_takes_the_same_number_of_queries_for_one_or_many(
    clinic, client, ida_token, three_bookings
):
    admin = token_for(client, ADMIN, DEMO_PASSWORD)
    listed(client, admin)  # the token's first use writes it; with the clock still, later ones not
    with count_queries(clinic) as few:
        assert len(listed(client, admin)) == 3
    for hhmm in ("10:15", "13:00"):  # after 09:00 and its buffer; after lunch
        start = f"2027-03-24T{hhmm}:00+01:00"
        assert post_booking(client, ida_token, body_for(clinic, start)).status_code == 201
    more = three_bookings["ole_token"]
    for hhmm in ("09:00", "14:00"):
        booked = post_booking(
            client,
            more,
            body_for(clinic, f"2027-03-24T{hhmm}:00+01:00", "bo", technique="classic-massage"),
        )
        assert booked.status_code == 201, booked.get_json()
    with count_queries(clinic) as many:
        assert len(listed(client, admin)) == 7
    assert len(many) == len(few), many
    assert len(many) <= 4  # the token, the bookings, their techniques, their rooms


# --- cancelling -----------------------------------------------------------------------------


@pytest.fixture
def wednesday(clinic, client, ida_token) -> int:
    """Ida's session with Anna on Wednesday, two days ahead: before her cut-off."""
    response = post_booking(client, ida_token, body_for(clinic, start=WEDNESDAY_9))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def cancel(client, booking_id: int, token: str | None, **body: Any) -> Any:
    headers = bearer(token) if token else {}
    return client.post(f"/api/v1/bookings/{booking_id}/cancel", json=body or None, headers=headers)


def token_of(client, make_user, who: str) -> str:
    if who == "other_client":
        return token_for(client, make_user(email="eve@example.com").email)
    return token_for(client, f"{who}@lindring.example", DEMO_PASSWORD)


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("other_client", {}, 404, "not_found"),  # someone else's booking does not exist
        ("bo", {"reason": "Ill"}, 404, "not_found"),  # a therapist of other sessions
        ("anna", {}, 422, "invalid"),  # the session's therapist must say why
        ("anna", {"reason": "   "}, 422, "invalid"),  # ... and blanks do not count
        ("anna", {"reason": "Ill today"}, 200, None),  # with a reason she may
        ("admin", {}, 422, "invalid"),  # the clinic too owes the client a reason
        ("admin", {"reason": "Room closed for repairs"}, 200, None),  # the clinic may
    ],
)
def test_who_may_cancel_a_booking(clinic, client, make_user, wednesday, who, body, status, code):
    response = cancel(client, wednesday, token_of(client, make_user, who), **body)

    assert response.status_code == status, response.get_json()
    booking = stored_booking(clinic, wednesday)
    if status == 200:
        assert response.get_json()["status"] == "cancelled"
        assert response.get_json()["id"] == wednesday
        assert booking.status is BookingStatus.CANCELLED
        assert booking.cancel_reason == body.get("reason", "")
        assert count(clinic, TimeClaim) == 0
    else:
        assert response.get_json()["error"] == code
        assert booking.status is BookingStatus.CONFIRMED
        assert count(clinic, TimeClaim) == 30
    if code == "invalid":
        assert "reason" in response.get_json()["problems"]


def test_the_client_cancels_before_the_cut_off_and_is_told_by_e_mail(
    clinic, client, ida, ida_token, wednesday, mailbox
):
    response = cancel(client, wednesday, ida_token, reason="Away")

    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "cancelled"
    assert set(answer) == {
        "id",
        "status",
        "start",
        "end",
        "therapist_id",
        "technique",
        "room",
        "price_minor",
        "currency",
        "cancellation_cutoff_hours",
        "cancellable_until",
    }
    assert [m["Subject"] for m in mailbox.to(ida.email)][-1] == "Your booking is cancelled"
    with clinic.app_context():
        assert db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all() == [
            "booking.booked",
            "booking.cancelled",
        ]


def test_after_the_cut_off_the_client_is_told_too_late(
    clinic, client, ida_token, wednesday, monkeypatch
):
    # Tuesday 10:00 in Copenhagen: 23 hours before the session.
    monkeypatch.setattr("clinic.clock.utcnow", lambda: datetime(2027, 3, 23, 9, 0, tzinfo=UTC))
    assert_error(cancel(client, wednesday, ida_token), 409, "too_late")
    assert stored_booking(clinic, wednesday).status is BookingStatus.CONFIRMED

    # The clinic still may.
    admin = token_for(client, ADMIN, DEMO_PASSWORD)
    assert cancel(client, wednesday, admin, reason="Called in to say so").status_code == 200


def test_a_missing_booking_and_someone_elses_answer_alike(client, make_user, wednesday):
    eve = token_of(client, make_user, "other_client")
    theirs = cancel(client, wednesday, eve)
    missing = cancel(client, 999999, eve)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == missing.get_json()


def test_cancelling_twice_is_a_conflict(client, ida_token, wednesday):
    assert cancel(client, wednesday, ida_token).status_code == 200
    assert_error(cancel(client, wednesday, ida_token), 409, "conflict")
    admin = token_for(client, ADMIN, DEMO_PASSWORD)
    assert_error(cancel(client, wednesday, admin), 409, "conflict")


@pytest.mark.parametrize(
    "data",
    [
        '{"reason": 5}',  # not a text
        '{"why": "x"}',  # not a field of this call
        '["x"]',  # not an object
    ],
)
def test_a_bad_cancel_body_is_refused(clinic, client, ida_token, wednesday, data):
    response = client.post(
        f"/api/v1/bookings/{wednesday}/cancel",
        data=data,
        content_type="application/json",
        headers=bearer(ida_token),
    )
    assert_error(response, 422, "invalid")
    assert stored_booking(clinic, wednesday).status is BookingStatus.CONFIRMED


def test_cancelling_needs_a_token(client, wednesday):
    assert_error(cancel(client, wednesday, None), 401, "unauthorized")


def test_a_pending_booking_can_be_cancelled_by_its_client(clinic, client, make_user):
    person = screened(clinic, make_user, "pregnancy", email="mia@example.com")
    token = token_for(client, person.email)
    booked = post_booking(client, token, body_for(clinic, start=WEDNESDAY_9)).get_json()
    assert booked["status"] == "pending"
    assert cancel(client, booked["id"], token).get_json()["status"] == "cancelled"


def test_too_late_is_measured_from_the_start(clinic, client, ida_token):
    """A Monday session booked on Monday is already inside the 24 h cut-off."""
    booked = post_booking(client, ida_token, body_for(clinic)).get_json()
    assert_error(cancel(client, booked["id"], ida_token), 409, "too_late")
    assert NOW + timedelta(hours=24) > datetime.fromisoformat(booked["start"])


def test_the_free_times_follow_each_change_at_once(clinic, client, ida_token):
    # The slot engine remembers recent searches; each change below must show in the very next
    # answer all the same (booking, cancelling, time off, working hours).
    anna = therapist_id(clinic, "anna")
    wednesday = ("2027-03-24T09:00:00+01:00", "2027-03-24T11:00:00+01:00")

    def offered() -> set[str]:
        answer = client.get(
            "/api/v1/slots",
            query_string={
                "technique": "sports-massage",
                "duration": 60,
                "from": "2027-03-24",
                "to": "2027-03-24",
                "therapist": anna,
            },
        )
        assert answer.status_code == 200, answer.get_json()
        return {s["start"] for s in answer.get_json()["slots"]}

    assert set(wednesday) <= offered() and offered() == offered()
    booked = post_booking(client, ida_token, body_for(clinic, start=wednesday[0])).get_json()
    assert wednesday[0] not in offered() and wednesday[1] in offered()
    cancel = client.post(f"/api/v1/bookings/{booked['id']}/cancel", headers=bearer(ida_token))
    assert cancel.status_code == 200 and wednesday[0] in offered()

    with clinic.app_context():
        db.session.add(
            TimeOff(
                therapist_id=anna,
                starts_at=datetime(2027, 3, 24, 9, 30, tzinfo=UTC),  # 10:30-11:30 in Copenhagen
                ends_at=datetime(2027, 3, 24, 10, 30, tzinfo=UTC),
            )
        )
        db.session.commit()
    assert wednesday[0] in offered() and wednesday[1] not in offered()

    with clinic.app_context():
        for hours in db.session.scalars(
            select(WorkingHours).where(WorkingHours.therapist_id == anna)
        ):
            db.session.delete(hours)
        db.session.commit()
    assert offered() == set()
