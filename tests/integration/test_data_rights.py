"""The client's data rights: downloading all their data, and deleting their account.

The clock is pinned to Monday 22 March 2027, 07:00 in Copenhagen (tests/support.py). Zebulon
has three past sessions (completed with a note and a pre-visit check, a no-show, one he
cancelled with a reason), two upcoming ones booked through the site (today 14:00 with Anna,
inside the 24-hour cut-off, and Wednesday 10:00 with Bo), a reviewed screening with a free-text
answer, a waitlist entry with an offer, a calendar feed, an API token and an idempotency key.
Ottoline, another client, has the same kinds of things with values of her own: none of them
may appear in Zebulon's download, and none of them may be touched by his deletion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import MetaData, func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.auth.operations import issue_api_token
from clinic.booking.models import Booking, BookingStatus, IdempotencyKey
from clinic.calendars.models import CalendarFeed
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.screening.models import Decision, PreVisitCheck, Screening
from clinic.screening.operations import current_screening, decide
from clinic.treatment.models import TreatmentNote
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer
from tests.integration.test_booking import book, booked_id, params
from tests.support import (
    CPH,
    MONDAY,
    NOW,
    TEST_PASSWORD,
    Clinic,
    Mailbox,
    count_queries,
    csrf_token_from,
    local,
    login,
    post_form,
    screen,
)

KNEE = "my very particular knee"
ELBOW = "my quite peculiar elbow"


@dataclass
class Seeded:
    user_id: int
    web: object
    past: dict[str, int]  # completed, no_show, cancelled -> booking id
    upcoming: list[int]
    needles: tuple[str, ...]  # what must vanish with the account


def _past_booking(clinic: Clinic, client_id: int, therapist: str, day_offset: int, **values):
    """A session before today, written straight to the table (its time is long over)."""
    start = local(MONDAY - timedelta(days=day_offset), "10:00")
    technique = values.pop("technique", "sports-massage")
    booking = Booking(
        client_id=client_id,
        therapist_id=clinic.ids[therapist],
        technique_id=clinic.ids[technique],
        room_id=1,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        duration_minutes=60,
        price_minor=65000,
        created_at=start - timedelta(days=3),
        **values,
    )
    db.session.add(booking)
    db.session.flush()
    return booking


def seed_person(
    clinic: Clinic, make_user, *, name: str, email: str, phone: str, other: str, tag: str
) -> Seeded:
    """A client with every kind of data; `tag` makes their free texts their own."""
    user = make_user(email=email, name=name, phone=phone)
    screen(clinic.app, user.id, ("anticoagulants",), other, now=NOW - timedelta(days=30))
    app = clinic.app
    with app.app_context():
        admin = User.by_email("admin@lindring.example")
        screening = current_screening(user.id)
        decide(
            screening,
            admin=admin,
            decision=Decision.APPROVED,
            technique_ids=[o.technique_id for o in screening.undecided],
            now=NOW - timedelta(days=29),
            note=f"{tag} review note",
        )
        me = db.session.get(User, user.id)
        completed = _past_booking(clinic, user.id, "anna", 21, status=BookingStatus.COMPLETED)
        no_show = _past_booking(
            clinic, user.id, "bo", 14, status=BookingStatus.NO_SHOW, technique="classic-massage"
        )
        cancelled = _past_booking(
            clinic,
            user.id,
            "anna",
            7,
            status=BookingStatus.CANCELLED,
            cancel_reason=f"{tag}: {other} hurt again",
            cancelled_at=NOW - timedelta(days=9),
            cancelled_by_id=user.id,
        )
        db.session.add_all(
            [
                TreatmentNote(
                    booking_id=completed.id,
                    author_id=User.by_email("anna@lindring.example").id,
                    private_note=f"{tag} private: tender lower back",
                    aftercare=f"{tag} aftercare: stretch daily",
                ),
                PreVisitCheck(
                    booking_id=completed.id,
                    token_hash=f"{tag}-check".ljust(64, "0"),
                    expires_at=completed.starts_at,
                    answered_at=completed.starts_at - timedelta(hours=20),
                    answers={"infection": False, "injury": True, "symptoms": False},
                    outcome="clear",
                ),
            ]
        )
        entry = WaitlistEntry(
            client_id=user.id,
            technique_id=clinic.ids["sports-massage"],
            duration_minutes=60,
            therapist_id=clinic.ids["anna"],
            weekdays=[0, 2],
            day_parts=["morning"],
        )
        db.session.add(entry)
        db.session.flush()
        db.session.add(
            WaitlistOffer(
                entry_id=entry.id,
                therapist_id=clinic.ids["anna"],
                starts_at=local(MONDAY, "09:00"),
                duration_minutes=60,
                token_hash=f"{tag}-offer".ljust(64, "0"),
                expires_at=NOW - timedelta(hours=1),
                outcome="expired",
            )
        )
        db.session.add(CalendarFeed(user_id=user.id, token_hash=f"{tag}-feed".ljust(64, "0")))
        issue_api_token(me, now=NOW - timedelta(days=2), max_age=timedelta(days=30))
        db.session.add(
            IdempotencyKey(user_id=user.id, key=f"{tag}-key", status_code=201, body={"n": name})
        )
        db.session.commit()
        past = {"completed": completed.id, "no_show": no_show.id, "cancelled": cancelled.id}
    web = clinic.web()
    login(web, email)
    return Seeded(
        user.id,
        web,
        past,
        [],
        (name, *name.split(), email, phone, other, f"{tag} private", f"{tag} aftercare"),
    )


@pytest.fixture
def zebulon(clinic: Clinic, make_user, mailbox: Mailbox) -> Seeded:
    person = seed_person(
        clinic,
        make_user,
        name="Zebulon Quintavalle",
        email="zebulon.q@example.com",
        phone="+45 99 88 77 66",
        other=KNEE,
        tag="ZQ",
    )
    person.upcoming = [
        booked_id(book(person.web, params(clinic, "anna", local(MONDAY, "14:00")))),
        booked_id(
            book(
                person.web,
                params(clinic, "bo", local(MONDAY + timedelta(days=2), "10:00"), "classic-massage"),
            )
        ),
    ]
    return person


@pytest.fixture
def ottoline(clinic: Clinic, make_user, mailbox: Mailbox) -> Seeded:
    person = seed_person(
        clinic,
        make_user,
        name="Ottoline Brackenbury",
        email="ottoline.b@example.com",
        phone="+45 11 22 33 44",
        other=ELBOW,
        tag="OB",
    )
    person.upcoming = [
        booked_id(
            book(person.web, params(clinic, "anna", local(MONDAY + timedelta(days=1), "10:00")))
        )
    ]
    return person


def download(web) -> tuple[dict, object]:
    response = post_form(web, "/account/data", {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True)), response


# --- download my data ---------------------------------------------------------------------


def test_the_download_holds_everything_about_the_client(clinic: Clinic, zebulon, ottoline):
    data, response = download(zebulon.web)
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="lindring-data-2027-03-22.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"

    with clinic.app.app_context():
        created = db.session.get(User, zebulon.user_id).created_at
    assert data["profile"] == {
        "name": "Zebulon Quintavalle",
        "email": "zebulon.q@example.com",
        "phone": "+45 99 88 77 66",
        "role": "client",
        "created_at": created.astimezone(CPH).isoformat(timespec="seconds"),
    }
    [screening] = data["screenings"]
    answers = {a["question_id"]: a["answer"] for a in screening["answers"]}
    assert answers["other_conditions"] == KNEE and answers["anticoagulants"] is True
    assert answers["pregnancy"] is False
    assert all(a["question"] for a in screening["answers"])  # the question as it was asked
    assert screening["submitted_at"] == "2027-02-20T07:00:00+01:00"
    outcomes = {o["technique"]: o for o in screening["outcomes"]}
    assert set(outcomes) == {
        "Sports massage",
        "Trigger point therapy",
        "Myofascial release",
        "Deep tissue massage",
        "Classic massage",
    }
    assert outcomes["Classic massage"]["outcome"] == "needs_review"
    assert outcomes["Classic massage"]["decision"] == "approved"
    assert "other_conditions" in outcomes["Classic massage"]["because_of"]
    [review] = screening["reviews"]
    assert review["decision"] == "approved" and review["decided_at"] == "2027-02-21T07:00:00+01:00"
    assert review["note"] == "ZQ review note" and len(review["techniques"]) == 5
    assert "admin" not in json.dumps(review).lower()  # who decided is not in it
    [consent] = data["consents"]
    assert consent["consent_version"] == screening["consent_version"]
    assert consent["given_at"] == "2027-02-20T07:00:00+01:00"
    assert "health screening" in consent["consent_text"]

    bookings = {b["id"]: b for b in data["bookings"]}
    assert set(bookings) == set(zebulon.past.values()) | set(zebulon.upcoming)
    completed = bookings[zebulon.past["completed"]]
    assert completed["status"] == "completed" and completed["therapist"] == "Anna Holm"
    assert completed["technique"] == "Sports massage" and completed["room"]
    assert completed["starts_at"] == "2027-03-01T10:00:00+01:00"
    assert completed["ends_at"] == "2027-03-01T11:00:00+01:00"
    assert (completed["price_minor"], completed["currency"]) == (65000, "DKK")
    assert completed["pre_visit_check"]["answers"] == {
        "infection": False,
        "injury": True,
        "symptoms": False,
    }
    assert completed["treatment"]["aftercare"] == "ZQ aftercare: stretch daily"
    assert completed["treatment"]["therapist_note"] == "ZQ private: tender lower back"
    assert bookings[zebulon.past["no_show"]]["status"] == "no_show"
    assert bookings[zebulon.past["no_show"]]["therapist"].startswith("Bo ")
    cancelled = bookings[zebulon.past["cancelled"]]["cancellation"]
    assert cancelled == {
        "cancelled_at": "2027-03-13T07:00:00+01:00",
        "by": "you",
        "reason": f"ZQ: {KNEE} hurt again",
        "late": False,
    }
    today = bookings[zebulon.upcoming[0]]
    assert today["status"] == "confirmed" and today["starts_at"] == "2027-03-22T14:00:00+01:00"
    assert today["cancellation"] is None and today["pre_visit_check"] is None
    # Wednesday is still winter time; the token below expires in summer time (+02:00).
    assert bookings[zebulon.upcoming[1]]["starts_at"] == "2027-03-24T10:00:00+01:00"

    [entry] = data["waitlist"]
    assert (entry["technique"], entry["therapist"]) == ("Sports massage", "Anna Holm")
    assert (entry["weekdays"], entry["day_parts"]) == ([0, 2], ["morning"])
    [offer] = entry["offers"]
    assert offer["outcome"] == "expired" and offer["starts_at"] == "2027-03-22T09:00:00+01:00"
    assert data["calendar_feed"]["exists"] is True
    [token] = data["api_tokens"]
    assert token["expires_at"] == "2027-04-19T08:00:00+02:00"  # summer time by then

    text = response.get_data(as_text=True)
    for secret in ("token_hash", "ZQ-feed", "ZQ-check", "ZQ-offer", "password"):
        assert secret not in text


def test_the_download_holds_nothing_about_anyone_else(clinic: Clinic, zebulon, ottoline):
    _, response = download(zebulon.web)
    text = response.get_data(as_text=True)
    for value in (*ottoline.needles, "OB review note", "OB:"):
        assert value not in text, value
    data = json.loads(text)
    assert all(b["id"] not in ottoline.upcoming for b in data["bookings"])
    # And the other way round.
    _, hers = download(ottoline.web)
    for value in zebulon.needles:
        assert value not in hers.get_data(as_text=True), value


def test_the_download_page_explains_and_only_a_post_with_its_token_sends(clinic, zebulon):
    page = zebulon.web.get("/account/data")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "health screenings with every answer" in page.get_data(as_text=True)
    assert "Content-Disposition" not in page.headers
    refused = zebulon.web.post("/account/data", data={})
    assert refused.status_code == 400 and "Content-Disposition" not in refused.headers
    download(zebulon.web)
    with clinic.app.app_context():
        actions = db.session.execute(
            select(AuditEntry.action, AuditEntry.subject_id, AuditEntry.detail).where(
                AuditEntry.action == "account.exported"
            )
        ).all()
    assert actions == [("account.exported", zebulon.user_id, {})]


def test_the_download_takes_a_fixed_number_of_statements(clinic: Clinic, zebulon, make_user):
    few = seed_person(
        clinic,
        make_user,
        name="Few Rows",
        email="few@example.com",
        phone="+45 10 10 10 10",
        other="",
        tag="FR",
    )
    with count_queries(clinic.app) as small:
        download(few.web)
    with count_queries(clinic.app) as large:
        download(zebulon.web)  # two bookings more
    assert len(large) == len(small) <= 20


def test_staff_download_their_own_profile_only(clinic: Clinic, zebulon):
    anna = clinic.staff("anna")
    data, _ = download(anna)
    assert data["profile"]["email"] == "anna@lindring.example"
    assert data["bookings"] == [] and data["screenings"] == [] and data["waitlist"] == []
    assert "Zebulon" not in json.dumps(data)


# --- delete my account ----------------------------------------------------------------------


def delete_account(web, password: str = TEST_PASSWORD, confirm: bool = True):
    data = {"password": password}
    if confirm:
        data["confirm"] = "y"
    return post_form(web, "/account/delete", data)


def scan_database(needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a stored value contains a needle: all tables of
    the database itself, every column of every row, JSON and text alike."""
    meta = MetaData()
    meta.reflect(bind=db.engine)
    found = []
    with db.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    for needle in needles:
                        if needle.lower() in text.lower():
                            found.append((table.name, column, needle))
    return found


def snapshot(clinic: Clinic, user_id: int) -> dict:
    with clinic.app.app_context():
        user = db.session.get(User, user_id)
        return {
            "user": (user.name, user.email, user.phone, user.active, user.erased_at),
            "screenings": db.session.scalar(
                select(func.count()).where(Screening.client_id == user_id)
            ),
            "statuses": sorted(
                s.value
                for s in db.session.scalars(
                    select(Booking.status).where(Booking.client_id == user_id)
                )
            ),
            "outbox": db.session.scalar(select(func.count()).select_from(OutboxMessage)),
            "audit": db.session.scalar(select(func.count()).select_from(AuditEntry)),
        }


def test_deleting_the_account_leaves_no_trace_of_the_person(
    clinic: Clinic, zebulon, ottoline, mailbox: Mailbox
):
    with clinic.app.app_context():
        assert scan_database(zebulon.needles)  # the scan does find him before
    page = zebulon.web.get("/account/delete").get_data(as_text=True)
    assert "Your upcoming 2 sessions are cancelled" in page
    assert "Sports massage with Anna Holm, 22 March 2027, 14:00 CET" in page
    mailbox.messages.clear()

    response = delete_account(zebulon.web)
    assert response.status_code == 302 and response.headers["Location"] == "/account/deleted"
    done = zebulon.web.get("/account/deleted").get_data(as_text=True)
    assert "Your account is deleted" in done
    assert zebulon.web.get("/account").status_code == 302  # logged out
    assert zebulon.web.get("/account/deleted").status_code == 302  # shown once

    with clinic.app.app_context():
        leftovers = scan_database(zebulon.needles)
        assert leftovers == [], leftovers
        user = db.session.get(User, zebulon.user_id)
        assert (user.name, user.email, user.phone) == (
            "Deleted client",
            f"erased-{zebulon.user_id}@invalid",
            "",
        )
        assert not user.active and user.erased_at == NOW
        for model in (Screening, WaitlistEntry, CalendarFeed, IdempotencyKey):
            column = model.client_id if hasattr(model, "client_id") else model.user_id
            assert db.session.scalar(select(func.count()).where(column == zebulon.user_id)) == 0
        mine = select(Booking.id).where(Booking.client_id == zebulon.user_id)
        assert (
            db.session.scalar(select(func.count()).where(PreVisitCheck.booking_id.in_(mine))) == 0
        )
        note = db.session.scalar(select(TreatmentNote).where(TreatmentNote.booking_id.in_(mine)))
        assert (note.private_note, note.aftercare) == ("", "")
        # Past sessions stay for the statistics, with their statuses; upcoming ones are cancelled.
        statuses = dict(
            db.session.execute(
                select(Booking.status, func.count())
                .where(Booking.client_id == zebulon.user_id)
                .group_by(Booking.status)
            ).all()
        )
        assert statuses == {
            BookingStatus.COMPLETED: 1,
            BookingStatus.NO_SHOW: 1,
            BookingStatus.CANCELLED: 3,
        }
        for booking_id in zebulon.upcoming:
            booking = db.session.get(Booking, booking_id)
            assert booking.cancel_reason == "The client deleted their account."
            assert booking.cancelled_by_id == zebulon.user_id and not booking.late_cancellation
        [erased] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "account.erased")
        )
        assert (erased.subject_type, erased.subject_id) == ("user", zebulon.user_id)
        assert erased.detail["cancelled"] == 2 and erased.detail["screenings"] == 1

        # Ottoline is untouched.
        assert scan_database((ottoline.needles[0], ELBOW, "OB private"))
        assert current_screening(ottoline.user_id) is not None
        assert db.session.get(Booking, ottoline.upcoming[0]).status is BookingStatus.CONFIRMED

    # The therapists heard, without the name; the erased client got nothing.
    subjects = sorted((m["To"], m["Subject"]) for m in mailbox.messages)
    assert subjects == [
        ("anna@lindring.example", "A session was cancelled"),
        ("bo@lindring.example", "A session was cancelled"),
    ]
    for message in mailbox.messages:
        body = Mailbox.body(message) + Mailbox.html(message) + message.as_string()
        assert "Zebulon" not in body and "Quintavalle" not in body
        assert "The client deleted their account." in Mailbox.body(message)


def test_the_deleted_client_cannot_log_in_and_the_address_is_free_again(clinic, zebulon):
    delete_account(zebulon.web)
    web = clinic.web()
    refused = post_form(
        web, "/login", {"email": "zebulon.q@example.com", "password": TEST_PASSWORD}
    )
    assert refused.status_code == 200 and "not right" in refused.get_data(as_text=True)
    erased = post_form(
        web, "/login", {"email": f"erased-{zebulon.user_id}@invalid", "password": TEST_PASSWORD}
    )
    assert erased.status_code == 200
    again = post_form(
        web,
        "/register",
        {
            "name": "Zebulon Again",
            "email": "zebulon.q@example.com",
            "phone": "+45 99 88 77 66",
            "password": TEST_PASSWORD,
            "confirm": TEST_PASSWORD,
        },
    )
    assert again.status_code == 302


def test_an_api_token_of_the_deleted_client_stops_working(clinic, zebulon):
    response = clinic.web().post(
        "/api/v1/tokens", json={"email": "zebulon.q@example.com", "password": TEST_PASSWORD}
    )
    token = response.get_json()["token"]
    api = clinic.web()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/bookings", headers=headers).status_code == 200
    delete_account(zebulon.web)
    assert api.get("/api/v1/bookings", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        # the wrong password
        ("not my password at all", True, "That is not your password. Nothing was deleted."),
        # the box left unticked
        (TEST_PASSWORD, False, "Tick the box to confirm"),
        # no password
        ("", True, "Enter your password."),
    ],
)
def test_a_refused_deletion_changes_nothing(clinic, zebulon, password, confirm, message):
    before = snapshot(clinic, zebulon.user_id)
    response = delete_account(zebulon.web, password, confirm)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "invalid-feedback" in page
    if not confirm:
        assert 'name="confirm"' in page and "checked" not in page.split('name="confirm"')[1][:80]
    assert snapshot(clinic, zebulon.user_id) == before
    assert zebulon.web.get("/account").status_code == 200  # still logged in


def test_a_deletion_without_the_csrf_token_changes_nothing(clinic, zebulon):
    before = snapshot(clinic, zebulon.user_id)
    response = zebulon.web.post("/account/delete", data={"password": TEST_PASSWORD, "confirm": "y"})
    assert response.status_code in (400, 422)
    assert snapshot(clinic, zebulon.user_id) == before


def test_another_client_deletes_only_their_own_account(clinic, zebulon, ottoline):
    before = snapshot(clinic, zebulon.user_id)
    # Ottoline's form is about Ottoline, whatever she sends: his password does nothing.
    response = delete_account(ottoline.web, TEST_PASSWORD)
    assert response.status_code == 302
    after = snapshot(clinic, zebulon.user_id)
    assert after["user"] == before["user"] and after["screenings"] == before["screenings"]
    assert after["statuses"] == before["statuses"]
    assert zebulon.web.get("/account").status_code == 200


@pytest.mark.parametrize("who", ["anna", "admin"])
def test_staff_are_told_to_ask_the_clinic(clinic: Clinic, who):
    web = clinic.staff(who)
    page = web.get("/account/delete")
    assert page.status_code == 200
    assert "please ask an administrator" in page.get_data(as_text=True).lower()
    assert 'name="password"' not in page.get_data(as_text=True)
    html = web.get("/account").get_data(as_text=True)
    response = web.post(
        "/account/delete",
        data={"password": "demo-password", "confirm": "y", "csrf_token": csrf_token_from(html)},
    )
    assert response.status_code == 403
    with clinic.app.app_context():
        assert User.by_email(f"{who}@lindring.example").active


def test_the_account_page_links_to_both(clinic: Clinic, zebulon):
    page = zebulon.web.get("/account").get_data(as_text=True)
    assert 'href="/account/data"' in page and 'href="/account/delete"' in page


def test_mail_to_others_keeps_its_text_but_loses_the_address(clinic: Clinic, zebulon, make_user):
    """A message not about his sessions that quotes his address keeps going, without it."""
    with clinic.app.app_context():
        db.session.add(
            OutboxMessage(
                to_address="someone@example.com",
                subject="Forwarded",
                body_text="Ask zebulon.q@example.com or Zebulon Quintavalle about it.",
            )
        )
        db.session.commit()
    delete_account(zebulon.web)
    with clinic.app.app_context():
        kept = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_address == "someone@example.com")
        )
        assert kept.body_text == (
            "Ask a client who deleted their account or a client who deleted their account about it."
        )


def test_reports_still_count_the_past_sessions_of_an_erased_client(clinic: Clinic, zebulon):
    from datetime import date
    from zoneinfo import ZoneInfo

    from clinic.admin.periods import Period
    from clinic.admin.reports import bookings_per_week

    def march_totals() -> list:
        with clinic.app.app_context():
            report = bookings_per_week(
                Period(date(2027, 3, 1), date(2027, 3, 21)), ZoneInfo(CPH.key)
            )
            return list(report.tables[0].totals)

    before = march_totals()
    assert before[-1] == 2  # the completed session and the no-show; the cancelled one is not
    delete_account(zebulon.web)
    assert march_totals() == before
