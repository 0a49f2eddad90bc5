"""Changing bookings after the fact: moving them, letting held ones expire, deciding held ones
with the screening review, and the staff's lists.

The clock is pinned to Monday 22 March 2027, 07:00 in Copenhagen (CET), and the demo clinic is
seeded for that day. Most bookings are Anna's sports massage on Tuesday 23 March at 10:00:
27 hours ahead, so before the 24-hour cut-off until the clock is moved.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic.auth.models import User
from clinic.booking import changes, operations
from clinic.booking.availability import search_slots
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import Technique
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.scheduling.slots import Slot
from tests.support import (
    CPH,
    DEMO_PASSWORD,
    MONDAY,
    NOW,
    Clinic,
    Mailbox,
    Person,
    audit_actions,
    claims_of,
    count_queries,
    csrf_token_from,
    invitation,
    load,
    local,
    login,
    user_id,
)

TZ = "Europe/Copenhagen"
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
TUE_10 = local(TUESDAY, "10:00")  # the client's cut-off: Monday 10:00 CET
WED_14 = local(WEDNESDAY, "14:00")
AFTER_CUTOFF = local(MONDAY, "10:30")


def book(
    clinic: Clinic,
    person: Person,
    start: datetime = TUE_10,
    therapist: str = "anna",
    technique: str = "sports-massage",
    *,
    now: datetime = NOW,
) -> int:
    """Book through the operation (the booking pages have their own tests); no e-mail."""
    with clinic.app.app_context():
        booking = operations.book(
            db.session.get(User, person.id),
            operations.Request(technique, 60, clinic.ids[therapist], start),
            now=now,
            timezone=TZ,
        )
        db.session.commit()
        return booking.id


def blocks(start: datetime, minutes: int = 60 + 15) -> list[datetime]:
    return [start + timedelta(minutes=5 * i) for i in range(minutes // 5)]


def is_free(clinic: Clinic, start: datetime, therapist: str = "anna") -> bool:
    """What the real slot search says about a 60-minute sports massage at `start`."""
    with clinic.app.app_context():
        technique = db.session.get(Technique, clinic.ids["sports-massage"])
        day = start.astimezone(CPH).date()
        found = search_slots(
            technique=technique,
            duration_minutes=60,
            first_day=day,
            last_day=day,
            now=clinic.now(),
            timezone=TZ,
            therapist_id=clinic.ids[therapist],
        )
        return any(s.start == start for s in found.slots)


def move(web: FlaskClient, booking_id: int, start: datetime | str, therapist_id: int):
    """Pick a time on the reschedule page and press "Move the booking here"."""
    iso = start.isoformat() if isinstance(start, datetime) else start
    page = web.get(
        f"/bookings/{booking_id}/reschedule", query_string={"start": iso, "to": therapist_id}
    )
    token = csrf_token_from(page.get_data(as_text=True))
    return web.post(
        f"/bookings/{booking_id}/reschedule",
        data={"csrf_token": token, "start": iso, "therapist": therapist_id},
    )


def offered_on(page: str) -> set[str]:
    """The start instants a reschedule page offers."""
    return set(re.findall(r'<time datetime="([^"]+)"', page))


def subjects(mailbox: Mailbox, address: str) -> list[str]:
    return [m["Subject"] for m in mailbox.to(address)]


# --- moving a booking -----------------------------------------------------------------------


def test_the_client_moves_a_booking_keeping_its_identity(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = book(clinic, ida)
    before = load(clinic, booking_id)
    assert is_free(clinic, WED_14) and not is_free(clinic, TUE_10)

    shown = ida.web.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert f'href="/bookings/{booking_id}/reschedule"' in shown and "Move to another time" in shown
    page = ida.web.get(f"/bookings/{booking_id}/reschedule")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Move sports massage to another time" in html
    assert WED_14.isoformat() in offered_on(html)
    assert TUE_10.isoformat() not in offered_on(html)  # where it is now

    response = move(ida.web, booking_id, WED_14, clinic.ids["anna"])
    assert response.status_code == 302
    assert response.headers["Location"] == f"/bookings/{booking_id}"
    assert "The booking has moved" in ida.web.get(response.headers["Location"]).get_data(
        as_text=True
    )

    after = load(clinic, booking_id)
    assert after.id == before.id and after.client_id == ida.id
    assert (after.starts_at, after.ends_at) == (WED_14, WED_14 + timedelta(minutes=60))
    assert after.therapist_id == clinic.ids["anna"]
    assert after.status is BookingStatus.CONFIRMED
    assert after.price_minor == before.price_minor
    assert after.sequence == before.sequence + 1
    assert claims_of(clinic, booking_id) == [("room", after.room_id, b) for b in blocks(WED_14)] + [
        ("therapist", after.therapist_id, b) for b in blocks(WED_14)
    ]
    assert is_free(clinic, TUE_10)  # the old time is free again
    assert not is_free(clinic, WED_14)
    with clinic.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 1

    [to_ida] = mailbox.to(ida.email)
    assert to_ida["Subject"] == "Your booking has moved"
    assert "24 March 2027, 14:00 CET" in Mailbox.body(to_ida)
    assert "from 23 March 2027, 10:00 CET" in Mailbox.body(to_ida)  # where it was
    assert f"/bookings/{booking_id}" in Mailbox.body(to_ida)
    assert subjects(mailbox, "anna@lindring.example") == ["A session has moved"]
    assert audit_actions(clinic, booking_id) == [("booking.rescheduled", ida.id)]


def test_a_booking_can_move_into_part_of_its_own_old_time(clinic: Clinic, ida: Person):
    # The booking's own row and claims must not stand in its way: 10:00 -> 10:30 overlaps.
    booking_id = book(clinic, ida)
    later = TUE_10 + timedelta(minutes=30)
    assert not is_free(clinic, later)  # to everybody else it is taken

    response = move(ida.web, booking_id, later, clinic.ids["anna"])
    assert response.status_code == 302, response.get_data(as_text=True)
    after = load(clinic, booking_id)
    assert after.starts_at == later
    assert [b for k, _, b in claims_of(clinic, booking_id) if k == "therapist"] == blocks(later)


def test_after_the_cut_off_the_client_is_told_why_and_nothing_moves(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = book(clinic, ida)
    before = load(clinic, booking_id)
    clinic.set_clock(AFTER_CUTOFF)  # 23.5 hours before the session
    why = "Changes are possible until 24 hours before the session. Please call the clinic."

    page = ida.web.get(f"/bookings/{booking_id}/reschedule")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert why in html
    assert offered_on(html) == set() and "Move the booking here" not in html
    assert "Move to another time" not in ida.web.get(f"/bookings/{booking_id}").get_data(
        as_text=True
    )

    refused = move(ida.web, booking_id, WED_14, clinic.ids["anna"])
    assert refused.status_code == 409
    assert why in refused.get_data(as_text=True)
    after = load(clinic, booking_id)
    assert (after.starts_at, after.sequence) == (before.starts_at, before.sequence)
    assert [b for k, _, b in claims_of(clinic, booking_id) if k == "therapist"] == blocks(TUE_10)
    assert mailbox.messages == [] and audit_actions(clinic, booking_id) == []


@pytest.mark.parametrize(
    "who",
    [
        "other_client",  # another client: the booking does not exist for them
        "bo",  # a therapist who is not the booking's
    ],
)
def test_someone_elses_booking_is_not_found(clinic: Clinic, ida: Person, make_client, who):
    booking_id = book(clinic, ida)
    web = make_client("bea@example.com").web if who == "other_client" else clinic.staff(who)
    assert web.get(f"/bookings/{booking_id}/reschedule").status_code == 404
    token = csrf_token_from(web.get("/").get_data(as_text=True))
    response = web.post(
        f"/bookings/{booking_id}/reschedule",
        data={"csrf_token": token, "start": WED_14.isoformat(), "therapist": clinic.ids["anna"]},
    )
    assert response.status_code == 404
    assert load(clinic, booking_id).starts_at == TUE_10


@pytest.mark.parametrize(
    ("with_token", "fields", "message"),
    [
        # no CSRF token: refused before the view runs
        (False, {"start": WED_14.isoformat()}, "missing its security token"),
        # a token, but no time chosen
        (True, {"start": ""}, "The form was incomplete or had expired"),
    ],
)
def test_an_incomplete_form_moves_nothing(clinic: Clinic, ida: Person, with_token, fields, message):
    booking_id = book(clinic, ida)
    data = {"therapist": clinic.ids["anna"], **fields}
    if with_token:
        data["csrf_token"] = csrf_token_from(ida.web.get("/").get_data(as_text=True))
    response = ida.web.post(f"/bookings/{booking_id}/reschedule", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert load(clinic, booking_id).starts_at == TUE_10


def test_anonymous_visitors_are_sent_to_log_in(clinic: Clinic, ida: Person):
    booking_id = book(clinic, ida)
    response = clinic.web().get(f"/bookings/{booking_id}/reschedule")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "stale_search",
    [
        False,  # the other booking committed before our search: the search refuses
        True,  # it committed between our search and our insert: only the database can tell
    ],
)
def test_losing_the_new_time_to_another_booking_gives_409_and_changes_nothing(
    clinic: Clinic, ida: Person, make_client, monkeypatch, mailbox: Mailbox, stale_search
):
    booking_id = book(clinic, ida)
    before = load(clinic, booking_id)
    old_claims = claims_of(clinic, booking_id)
    rival = book(clinic, make_client("bea@example.com"), WED_14)
    rival_claims = claims_of(clinic, rival)
    if stale_search:
        real = changes.search_slots

        def stale(**kwargs):
            # What the search would have said a moment earlier, before the rival's commit.
            found = real(**kwargs)
            ghost = Slot(WED_14, clinic.ids["anna"], WED_14 + timedelta(minutes=60))
            return replace(found, slots=[*found.slots, ghost])

        monkeypatch.setattr("clinic.booking.changes.search_slots", stale)

    response = move(ida.web, booking_id, WED_14, clinic.ids["anna"])
    assert response.status_code == 409
    assert "that time has just been taken" in response.get_data(as_text=True)
    assert "Move the booking here" not in response.get_data(as_text=True)  # not offered again

    after = load(clinic, booking_id)
    assert (after.starts_at, after.therapist_id, after.room_id) == (
        before.starts_at,
        before.therapist_id,
        before.room_id,
    )
    assert (after.status, after.sequence) == (before.status, before.sequence)
    assert claims_of(clinic, booking_id) == old_claims
    assert claims_of(clinic, rival) == rival_claims
    assert load(clinic, rival).starts_at == WED_14
    assert mailbox.messages == [] and audit_actions(clinic, booking_id) == []


@pytest.mark.parametrize(
    ("start", "therapist", "status", "message"),
    [
        # off the 15-minute grid
        (local(WEDNESDAY, "14:05"), "anna", 422, "Sessions start every 15 minutes"),
        # inside the two-hour notice
        (local(MONDAY, "08:00"), "anna", 422, "Please book at least 2 hours ahead."),
        # beyond the 90-day horizon
        (local(MONDAY + timedelta(days=95), "10:00"), "anna", 422, "up to 90 days ahead"),
        # where it is already
        (TUE_10, "anna", 422, "That is the booking's time already."),
        # Bo is not certified for sports massage
        (WED_14, "bo", 422, "That therapist does not offer this technique on that day."),
        # Anna does not work on Saturdays
        (local(MONDAY + timedelta(days=5), "10:00"), "anna", 409, "just been taken"),
        # no time zone
        ("2027-03-24T14:00:00", "anna", 422, "Give the time with its UTC offset."),
        # not a time at all
        ("next tuesday", "anna", 422, "That time could not be read."),
    ],
)
def test_a_time_that_cannot_be_had_is_refused_with_the_reason(
    clinic: Clinic, ida: Person, mailbox: Mailbox, start, therapist, status, message
):
    booking_id = book(clinic, ida)
    before = load(clinic, booking_id)
    response = move(ida.web, booking_id, start, clinic.ids[therapist])
    assert response.status_code == status
    assert message in unescape(response.get_data(as_text=True))
    after = load(clinic, booking_id)
    assert (after.starts_at, after.therapist_id, after.sequence) == (
        before.starts_at,
        before.therapist_id,
        before.sequence,
    )
    assert len(claims_of(clinic, booking_id)) == 30
    assert mailbox.messages == []


def test_the_therapist_moves_their_own_session_even_after_the_cut_off(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = book(clinic, ida)
    clinic.set_clock(AFTER_CUTOFF)
    anna = clinic.staff("anna")
    page = anna.get(f"/bookings/{booking_id}/reschedule").get_data(as_text=True)
    assert WED_14.isoformat() in offered_on(page)
    assert "Any therapist" not in page  # she moves it within her own calendar

    # ... and not to a colleague's.
    refused = move(anna, booking_id, WED_14, clinic.ids["clara"])
    assert refused.status_code == 403
    assert "only within your own calendar" in refused.get_data(as_text=True)
    assert load(clinic, booking_id).starts_at == TUE_10

    response = move(anna, booking_id, WED_14, clinic.ids["anna"])
    assert response.status_code == 302
    assert load(clinic, booking_id).starts_at == WED_14
    assert subjects(mailbox, ida.email) == ["Your booking has moved"]
    anna_id = user_id(clinic, "anna@lindring.example")
    assert audit_actions(clinic, booking_id) == [("booking.rescheduled", anna_id)]


def test_the_admin_moves_a_session_to_another_therapist(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = book(clinic, ida)
    admin = clinic.staff("admin")
    page = admin.get(f"/bookings/{booking_id}/reschedule", query_string={"therapist": "any"})
    html = page.get_data(as_text=True)
    # Everyone certified for sports massage.
    assert "Clara Nørgaard" in html and "David Skov" in html

    response = move(admin, booking_id, TUE_10, clinic.ids["clara"])  # same time, Clara
    assert response.status_code == 302, response.get_data(as_text=True)
    after = load(clinic, booking_id)
    assert (after.starts_at, after.therapist_id) == (TUE_10, clinic.ids["clara"])
    assert is_free(clinic, TUE_10, "anna")
    assert subjects(mailbox, "clara@lindring.example") == ["A session has moved"]
    assert subjects(mailbox, ida.email) == ["Your booking has moved"]
    # Anna, whose calendar it left, is told as well.
    assert subjects(mailbox, "anna@lindring.example") == ["A session moved to another therapist"]
    [to_anna] = mailbox.to("anna@lindring.example")
    assert "Clara Nørgaard" in Mailbox.body(to_anna)
    # Her calendar drops the event: a CANCEL of the same UID, at the new SEQUENCE.
    [to_clara] = mailbox.to("clara@lindring.example")
    _, clara_invite, _ = invitation(to_clara)
    method, anna_cancel, parsed = invitation(to_anna)
    [kept], [dropped] = clara_invite.walk("VEVENT"), anna_cancel.walk("VEVENT")
    assert method == "CANCEL" and dropped["STATUS"] == "CANCELLED"
    assert str(dropped["UID"]) == str(kept["UID"]) and dropped["SEQUENCE"] == kept["SEQUENCE"] == 1
    assert str(dropped["ATTENDEE"]).lower() == "mailto:anna@lindring.example"
    assert parsed.vevent.status.value == "CANCELLED"


def test_a_cancelled_booking_cannot_be_moved(clinic: Clinic, ida: Person):
    booking_id = book(clinic, ida)
    with clinic.app.app_context():
        changes.cancel(
            db.session.get(Booking, booking_id),
            by=db.session.get(User, ida.id),
            reason="",
            now=NOW,
        )
        db.session.commit()
    admin = clinic.staff("admin")
    page = admin.get(f"/bookings/{booking_id}/reschedule").get_data(as_text=True)
    assert "This booking is cancelled." in page
    response = move(admin, booking_id, WED_14, clinic.ids["anna"])
    assert response.status_code == 403
    assert load(clinic, booking_id).status is BookingStatus.CANCELLED
    assert claims_of(clinic, booking_id) == []


# --- pending bookings nobody decided --------------------------------------------------------


def expire(clinic: Clinic) -> str:
    result = clinic.app.test_cli_runner().invoke(args=["expire-pending"])
    assert result.exit_code == 0, result.output
    return result.output


def test_pending_bookings_expire_24_hours_before_they_start(clinic: Clinic, make_client):
    clinic.app.config["PUBLIC_URL"] = "https://booking.clinic.example"
    eva = make_client("eva@example.com", yes=("pregnancy",))
    soon = book(clinic, eva)  # Tuesday 10:00, pending
    later = book(clinic, eva, local(THURSDAY, "10:00"))  # pending, not due yet
    ida = make_client("ida@example.com")
    confirmed = book(clinic, ida, TUE_10, "david")  # confirmed: never expires
    assert {load(clinic, i).status for i in (soon, later)} == {BookingStatus.PENDING}

    assert "Expired 0 pending booking(s)" in expire(clinic)  # 27 hours ahead: not yet
    assert load(clinic, soon).status is BookingStatus.PENDING

    clinic.set_clock(AFTER_CUTOFF)
    assert not is_free(clinic, TUE_10)
    assert "Expired 1 pending booking(s)" in expire(clinic)
    gone = load(clinic, soon)
    assert gone.status is BookingStatus.CANCELLED
    assert gone.cancel_reason == "held too long without a decision"
    assert gone.cancelled_at == AFTER_CUTOFF and gone.cancelled_by_id is None
    assert claims_of(clinic, soon) == []
    assert is_free(clinic, TUE_10)  # the slot is free again
    assert load(clinic, later).status is BookingStatus.PENDING
    assert load(clinic, confirmed).status is BookingStatus.CONFIRMED
    assert audit_actions(clinic, soon) == [("booking.expired", None)]
    with clinic.app.app_context():
        queued = db.session.scalars(select(OutboxMessage)).all()
        assert [(m.to_address, m.subject) for m in queued] == [
            ("eva@example.com", "Your held booking has expired")
        ]
        # Written by cron, outside any request: the link uses PUBLIC_URL.
        assert f"{clinic.app.config['PUBLIC_URL']}/bookings/{soon}" in queued[0].body_text

    assert "Expired 0 pending booking(s)" in expire(clinic)  # once only


# --- pending bookings decided with the screening review -------------------------------------


def book_on_pages(clinic: Clinic, person: Person, technique: str, therapist: str, start) -> int:
    query = {
        "technique": technique,
        "duration": 60,
        "therapist": clinic.ids[therapist],
        "start": start.isoformat(),
    }
    page = person.web.get("/book/confirm", query_string=query).get_data(as_text=True)
    token = re.search(r'name="request_token" type="hidden" value="([^"]+)"', page).group(1)
    response = person.web.post(
        "/book/confirm",
        query_string=query,
        data={"csrf_token": csrf_token_from(page), "request_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def screening_of(clinic: Clinic, person: Person) -> int:
    from clinic.screening.operations import current_screening

    with clinic.app.app_context():
        return current_screening(person.id).id


def review(clinic: Clinic, screening_id: int, kind: str, slugs: list[str], **fields) -> None:
    admin = clinic.staff("admin")
    page = admin.get(f"/admin/screenings/{screening_id}").get_data(as_text=True)
    data = {f"{kind}-{name}": value for name, value in fields.items()}
    data[f"{kind}-techniques"] = [clinic.ids[s] for s in slugs]
    data[f"{kind}-csrf_token"] = csrf_token_from(page)
    response = admin.post(f"/admin/screenings/{screening_id}/{kind}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


REASON = "Not during pregnancy; please ask your midwife first."


@pytest.mark.parametrize(
    ("yes", "kind", "fields", "status", "subject"),
    [
        # pregnancy needs a review; the admin approves
        (("pregnancy",), "approve", {}, BookingStatus.CONFIRMED, "Your booking is confirmed"),
        # a disc herniation needs a medical clearance; the admin records it
        (
            ("disc_herniation",),
            "clear",
            {"clearance_issued_by": "Dr. Hansen", "clearance_date": "2027-03-20"},
            BookingStatus.CONFIRMED,
            "Your booking is confirmed",
        ),
        # the admin rejects: the held time is let go, with the reason
        (
            ("pregnancy",),
            "reject",
            {"reason": REASON},
            BookingStatus.CANCELLED,
            "Your booking is cancelled",
        ),
    ],
)
def test_the_screening_review_decides_the_held_bookings(
    clinic: Clinic, make_client, mailbox: Mailbox, yes, kind, fields, status, subject
):
    eva = make_client("eva@example.com", yes=yes)
    held = book_on_pages(clinic, eva, "sports-massage", "anna", TUE_10)
    other = book_on_pages(clinic, eva, "classic-massage", "bo", WED_14)  # not decided now
    assert load(clinic, held).status is BookingStatus.PENDING
    assert load(clinic, other).status is BookingStatus.PENDING
    mailbox.messages.clear()

    review(clinic, screening_of(clinic, eva), kind, ["sports-massage"], **fields)

    decided = load(clinic, held)
    assert decided.status is status
    assert load(clinic, other).status is BookingStatus.PENDING
    admin_id = user_id(clinic, "admin@lindring.example")
    event = "booking.confirmed" if status is BookingStatus.CONFIRMED else "booking.cancelled"
    assert audit_actions(clinic, held)[-1] == (event, admin_id)
    to_eva = subjects(mailbox, eva.email)
    assert subject in to_eva and len(to_eva) == 2  # the screening notice and this
    body = Mailbox.body(next(m for m in mailbox.to(eva.email) if m["Subject"] == subject))
    assert "23 March 2027, 10:00 CET" in body
    if status is BookingStatus.CANCELLED:
        assert decided.cancel_reason == REASON and decided.cancelled_by_id == admin_id
        assert REASON in body
        assert claims_of(clinic, held) == [] and is_free(clinic, TUE_10)
    else:
        assert len(claims_of(clinic, held)) == 30 and not is_free(clinic, TUE_10)
        assert subjects(mailbox, "anna@lindring.example") == ["A held session is confirmed"]


def test_a_review_leaves_bookings_that_are_not_pending_alone(
    clinic: Clinic, make_client, mailbox: Mailbox
):
    eva = make_client("eva@example.com", yes=("pregnancy",))
    held = book(clinic, eva)
    with clinic.app.app_context():  # the client cancelled it herself meanwhile
        changes.cancel(
            db.session.get(Booking, held), by=db.session.get(User, eva.id), reason="", now=NOW
        )
        db.session.commit()
    review(clinic, screening_of(clinic, eva), "approve", ["sports-massage"])
    assert load(clinic, held).status is BookingStatus.CANCELLED
    assert subjects(mailbox, eva.email) == ["Your health screening has been reviewed"]
    assert audit_actions(clinic, held) == []  # the review wrote nothing about it


# --- the staff's lists ----------------------------------------------------------------------


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-booking="(\d+)"', html)]


def test_a_therapist_sees_their_own_sessions(clinic: Clinic, ida: Person, make_client):
    eva = make_client("eva@example.com", yes=("pregnancy",))
    last_week = NOW - timedelta(days=7)
    past = book(clinic, ida, local(MONDAY - timedelta(days=6), "10:00"), now=last_week)
    upcoming = book(clinic, ida)
    held = book(clinic, eva, WED_14)
    bos = book(clinic, ida, TUE_10, "bo", "classic-massage")

    page = clinic.staff("anna").get("/therapist/sessions")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert row_ids(html) == [upcoming, held, past]  # upcoming soonest first, then the past
    assert bos not in row_ids(html)
    upcoming_part, past_part = html.split("The last 30 days")
    assert "Ida" in upcoming_part and "Eva" in upcoming_part
    assert "Sports massage, 60 min" in upcoming_part and "Room 1" in upcoming_part
    assert ">Pending<" in upcoming_part and ">Confirmed<" in upcoming_part
    assert f'href="/bookings/{held}"' in upcoming_part
    assert f'href="/bookings/{past}"' in past_part


def test_the_therapists_list_takes_a_fixed_number_of_queries(
    clinic: Clinic, ida: Person, make_client
):
    anna = clinic.staff("anna")
    book(clinic, ida)
    with count_queries(clinic.app) as few:
        assert anna.get("/therapist/sessions").status_code == 200
    for n, hhmm in enumerate(("09:00", "12:30", "15:00")):
        book(clinic, make_client(f"c{n}@example.com"), local(WEDNESDAY, hhmm))
    with count_queries(clinic.app) as many:
        html = anna.get("/therapist/sessions").get_data(as_text=True)
    assert len(row_ids(html)) == 4
    assert len(many) == len(few)


def test_the_admin_list_shows_pending_first_and_filters(clinic: Clinic, ida: Person, make_client):
    eva = make_client("eva@example.com", yes=("pregnancy",))
    tuesday = book(clinic, ida)
    thursday = book(clinic, ida, local(THURSDAY, "10:00"))
    held_late = book(clinic, eva, local(THURSDAY, "14:00"))
    held_soon = book(clinic, eva, WED_14)
    admin = clinic.staff("admin")

    html = admin.get("/admin/bookings").get_data(as_text=True)
    # Pending first, the soonest first; then the rest, the newest first.
    assert row_ids(html) == [held_soon, held_late, thursday, tuesday]
    assert "4 bookings" in html and "Eva" in html and "Anna Holm" in html

    confirmed = admin.get("/admin/bookings", query_string={"status": "confirmed"})
    assert row_ids(confirmed.get_data(as_text=True)) == [thursday, tuesday]
    on_thursday = admin.get("/admin/bookings", query_string={"day": THURSDAY.isoformat()})
    assert row_ids(on_thursday.get_data(as_text=True)) == [held_late, thursday]
    both = admin.get(
        "/admin/bookings", query_string={"status": "pending", "day": WEDNESDAY.isoformat()}
    )
    assert row_ids(both.get_data(as_text=True)) == [held_soon]

    odd = admin.get("/admin/bookings", query_string={"status": "lost", "day": "someday"})
    odd_html = odd.get_data(as_text=True)
    assert odd.status_code == 200 and len(row_ids(odd_html)) == 4
    assert "Unknown status" in odd_html and "could not be read" in odd_html

    dashboard = admin.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/bookings?status=pending"' in dashboard
    pending_card = r'id="pending-heading">Bookings pending <span class="badge text-bg-warning">2<'
    assert re.search(pending_card, dashboard)


def test_the_admin_list_is_paged_with_a_fixed_number_of_queries(
    clinic: Clinic, ida: Person, monkeypatch
):
    monkeypatch.setattr("clinic.booking.staff_views.ADMIN_PAGE_SIZE", 2)
    admin = clinic.staff("admin")
    book(clinic, ida)
    with count_queries(clinic.app) as few:
        assert admin.get("/admin/bookings").status_code == 200
    made = [book(clinic, ida, local(WEDNESDAY, h)) for h in ("09:00", "12:30", "15:00")]
    with count_queries(clinic.app) as many:
        first = admin.get("/admin/bookings").get_data(as_text=True)
    assert len(many) == len(few)
    assert row_ids(first) == [made[2], made[1]] and "Page 1 of 2" in first
    second = admin.get("/admin/bookings", query_string={"page": 2}).get_data(as_text=True)
    assert len(row_ids(second)) == 2 and made[0] in row_ids(second)


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        ("/therapist/sessions", "client", 403),  # clients have "My bookings"
        ("/therapist/sessions", "admin", 403),  # the admin has the full list
        ("/admin/bookings", "client", 403),
        ("/admin/bookings", "anna", 403),  # therapists see only their own sessions
        ("/admin/bookings", "anonymous", 302),  # to the login page
        ("/therapist/sessions", "anonymous", 302),
    ],
)
def test_the_lists_are_for_their_people_only(clinic: Clinic, path, who, status):
    web = clinic.web()
    if who != "anonymous":
        login(web, f"{who}@lindring.example", DEMO_PASSWORD)
    assert web.get(path).status_code == status


def test_the_move_page_offers_to_confirm_only_a_time_it_lists_as_free(clinic: Clinic, ida: Person):
    booking_id = book(clinic, ida)
    anna = clinic.ids["anna"]
    assert not is_free(clinic, TUE_10)
    free = WED_14.isoformat()
    page = ida.web.get(
        f"/bookings/{booking_id}/reschedule", query_string={"start": free, "to": anna}
    ).get_data(as_text=True)
    assert "Move the booking here" in page  # a listed time is offered
    taken = TUE_10.isoformat()  # the booking's own time, not on the list
    made_up = (TUE_10 + timedelta(minutes=7)).isoformat()  # off the grid
    naive = WED_14.astimezone(CPH).replace(tzinfo=None).isoformat()  # no offset
    for start in (taken, made_up, naive):
        page = ida.web.get(
            f"/bookings/{booking_id}/reschedule", query_string={"start": start, "to": anna}
        ).get_data(as_text=True)
        assert "That time is not free now" in page
        assert "Move the booking here" not in page
