"""Treatment notes, aftercare and plans: who writes, who reads, what the client gets, and
booking a plan as a series through the series page.

The clock is pinned to Monday 22 March 2027, 07:00 in Copenhagen, and the demo clinic is seeded
for that day. Ida's treated session is that Monday at 10:00 with Anna (sports massage, 60
minutes); the clock then moves to 11:05 and Anna marks it completed. Summer time starts on
Sunday 28 March, so a weekly plan's sessions are at 10:00 CEST (08:00 UTC).
"""

from __future__ import annotations

import html as htmllib
import json
import logging
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking import operations
from clinic.booking.models import Booking, BookingStatus
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.treatment.forms import SNIPPETS
from clinic.treatment.models import TreatmentNote
from clinic.treatment.views import SUBJECT_CHANGED, SUBJECT_FIRST
from tests.integration.test_booking import flashed, post_on_page
from tests.integration.test_series import rows, send
from tests.support import MONDAY, Clinic, Mailbox, Person, csrf_token_from, local, user_id

SECRET = "Left QL trigger points very tender; mentioned trouble sleeping"
AFTERCARE = "Stretch the back of your thighs gently every evening."
WEEKS = [MONDAY + timedelta(weeks=i) for i in range(1, 5)]  # 29 Mar, 5 Apr, 12 Apr, 19 Apr
# Anna on 5 April when 10:00-11:00 is taken: 11:15 would run into her lunch break at 12:00,
# so the nearest free start that day is 12:30 (as in test_series.py).
ALTERNATIVE = local(WEEKS[1], "12:30")


# --- making bookings and notes ----------------------------------------------------------------


def book_for(
    clinic: Clinic,
    client_id: int,
    therapist: str,
    start: datetime,
    technique: str = "sports-massage",
) -> int:
    """A booking through the booking operation itself, at the clinic's current time."""
    with clinic.app.app_context():
        booking = operations.book(
            db.session.get(User, client_id),
            operations.Request(technique, 60, clinic.ids[therapist], start),
            now=clinic.now(),
            timezone="Europe/Copenhagen",
        )
        db.session.commit()
        return booking.id


def treated(clinic: Clinic, person: Person, *, mark: bool = True) -> int:
    """The client's session on Monday at 10:00 with Anna; the clock moves past its start and
    Anna marks it completed (unless `mark` is False)."""
    booking_id = book_for(clinic, person.id, "anna", local(MONDAY, "10:00"))
    clinic.set_clock(local(MONDAY, "11:05"))
    if mark:
        anna = clinic.staff("anna")
        page = f"/bookings/{booking_id}"
        post_on_page(anna, page, f"{page}/mark", {"outcome": "completed"})
        assert stored_status(clinic, booking_id) is BookingStatus.COMPLETED
    return booking_id


def stored_status(clinic: Clinic, booking_id: int) -> BookingStatus:
    with clinic.app.app_context():
        return db.session.get(Booking, booking_id).status


def note_form(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "private_note": SECRET,
        "aftercare": AFTERCARE,
        "plan_option": "sports-massage/60",
        "plan_every": "weekly",
        "plan_count": 4,
    }
    form.update(overrides)
    return form


def write(web: FlaskClient, booking_id: int, **overrides: object):
    url = f"/bookings/{booking_id}/treatment"
    return post_on_page(web, url, url, note_form(**overrides))


def stored_note(clinic: Clinic, booking_id: int) -> TreatmentNote | None:
    with clinic.app.app_context():
        note = db.session.scalar(
            select(TreatmentNote).where(TreatmentNote.booking_id == booking_id)
        )
        if note is not None:
            db.session.expunge(note)
        return note


def reads(clinic: Clinic, actor_email: str) -> list[dict]:
    """The audited reads of treatment notes by this person, oldest first."""
    actor = user_id(clinic, actor_email)
    with clinic.app.app_context():
        return [
            {"note": e.subject_id, **e.detail}
            for e in db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "treatment.note_viewed", AuditEntry.actor_id == actor)
                .order_by(AuditEntry.id)
            )
        ]


def aftercare_mail(mailbox: Mailbox, person: Person) -> list:
    """The client's aftercare e-mails (they also get one when the session is marked)."""
    subjects = (SUBJECT_FIRST, SUBJECT_CHANGED)
    return [m for m in mailbox.to(person.email) if m["Subject"] in subjects]


def page_text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


@pytest.fixture
def noted(clinic: Clinic, ida: Person, mailbox: Mailbox, caplog: pytest.LogCaptureFixture) -> int:
    """Ida's completed session with Anna, with a note, aftercare and a weekly plan of 4.

    Every log record from here on is kept, to show that the note is in none of them.
    """
    caplog.set_level(logging.DEBUG)
    booking_id = treated(clinic, ida)
    response = write(clinic.staff("anna"), booking_id)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/bookings/{booking_id}"
    return booking_id


# --- writing and reading -----------------------------------------------------------------------


def test_the_therapist_writes_note_aftercare_and_plan(clinic: Clinic, ida: Person, mailbox):
    booking_id = treated(clinic, ida)
    anna = clinic.staff("anna")
    booking_page = page_text(anna.get(f"/bookings/{booking_id}"))
    assert "Write the treatment note" in booking_page
    form = anna.get(f"/bookings/{booking_id}/treatment")
    assert form.status_code == 200
    assert form.headers["Cache-Control"] == "no-store"
    assert 'value="sports-massage/60"' in form.get_data(as_text=True)
    # Anna is not certified for classic massage: it is not offered as a plan.
    assert 'value="classic-massage/60"' not in form.get_data(as_text=True)

    response = write(anna, booking_id, plan_every="biweekly", plan_count=6)
    assert "The client has been sent the aftercare by e-mail." in flashed(anna, response)
    note = stored_note(clinic, booking_id)
    assert (note.private_note, note.aftercare) == (SECRET, AFTERCARE)
    assert note.plan_technique_id == clinic.ids["sports-massage"]
    assert (note.plan_duration_minutes, note.plan_every, note.plan_count) == (60, "biweekly", 6)
    assert note.author_id == user_id(clinic, "anna@lindring.example")
    assert note.plan_series_id is None

    shown = page_text(anna.get(f"/bookings/{booking_id}"))
    assert SECRET in shown and AFTERCARE in shown
    assert "6 sessions of Sports massage, 60 minutes, every 2 weeks" in shown
    assert "Edit the treatment note" in shown
    # Edited again later: the same note, with what was written in the form.
    again = page_text(anna.get(f"/bookings/{booking_id}/treatment"))
    assert SECRET in again and '<option selected value="biweekly">' in again


def test_the_client_sees_aftercare_and_plan_but_never_the_note(
    clinic: Clinic, ida: Person, noted: int, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
):
    page = page_text(ida.web.get(f"/bookings/{noted}"))
    assert AFTERCARE in page
    assert "4 sessions of Sports massage, 60 minutes, every week" in page
    assert "Book this plan" in page
    assert SECRET not in page

    [mail] = aftercare_mail(mailbox, ida)
    assert mail["Subject"] == SUBJECT_FIRST
    for part in (Mailbox.body(mail), Mailbox.html(mail)):
        assert AFTERCARE in part
        assert "4 sessions of Sports massage, 60 minutes, every week" in part
        assert f"/bookings/{noted}" in part
    assert SECRET not in mail.as_string()
    assert all(SECRET not in m.as_string() for m in mailbox.messages)

    for web in (ida.web, clinic.staff("anna")):
        ics = web.get(f"/bookings/{noted}.ics")
        assert ics.status_code == 200
        assert SECRET not in ics.get_data(as_text=True)
    assert ida.web.get(f"/bookings/{noted}/treatment").status_code == 403
    assert SECRET not in ida.web.get("/my/bookings").get_data(as_text=True)

    with clinic.app.app_context():
        outbox = db.session.scalars(select(OutboxMessage)).all()
        assert outbox and all(
            SECRET not in f"{m.body_text}{m.body_html}{m.attachment_text}" for m in outbox
        )
        audit = db.session.scalars(select(AuditEntry)).all()
        assert all(SECRET not in json.dumps(e.detail) for e in audit)
    assert SECRET not in caplog.text


def test_another_client_finds_nothing(clinic: Clinic, noted: int, make_client):
    jon = make_client("jon@example.com")
    assert jon.web.get(f"/bookings/{noted}").status_code == 404
    assert jon.web.get(f"/bookings/{noted}/treatment").status_code == 403
    assert jon.web.get(f"/bookings/{noted}/plan").status_code == 404
    token = csrf_token_from(jon.web.get("/my/bookings").get_data(as_text=True))
    response = jon.web.post(
        f"/bookings/{noted}/treatment", data={**note_form(), "csrf_token": token}
    )
    assert response.status_code == 403


def test_a_therapist_who_never_treated_the_client_gets_404(clinic: Clinic, noted: int):
    bo = clinic.staff("bo")
    assert bo.get(f"/bookings/{noted}/treatment").status_code == 404
    assert bo.get(f"/bookings/{noted}").status_code == 404
    for page in ("/therapist/sessions", "/therapist/calendar", "/therapist/calendar/day"):
        assert SECRET not in bo.get(page).get_data(as_text=True)
    token = csrf_token_from(bo.get("/therapist/sessions").get_data(as_text=True))
    response = bo.post(f"/bookings/{noted}/treatment", data={**note_form(), "csrf_token": token})
    assert response.status_code == 404
    assert stored_note(clinic, noted).private_note == SECRET
    assert reads(clinic, "bo@lindring.example") == []


def test_a_therapist_who_treats_the_client_too_may_read_but_not_edit(
    clinic: Clinic, ida: Person, noted: int
):
    bo = clinic.staff("bo")
    tuesday = local(MONDAY + timedelta(days=1), "10:00")
    bo_session = book_for(clinic, ida.id, "bo", tuesday, "classic-massage")

    # Bo prepares his session: his booking page points to the client's earlier note ...
    own_page = page_text(bo.get(f"/bookings/{bo_session}"))
    assert "1 earlier note for this client" in own_page
    assert "You can write the treatment note once the session has started." in own_page
    # ... which his session's note page shows, among the earlier notes.
    own_note_page = bo.get(f"/bookings/{bo_session}/treatment")
    assert own_note_page.status_code == 200
    assert SECRET in page_text(own_note_page)
    # Anna's session's note: readable, not writable.
    response = bo.get(f"/bookings/{noted}/treatment")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = page_text(response)
    assert SECRET in text and 'name="private_note"' not in text
    assert "Only the session's therapist and the clinic write its treatment note." in text
    token = csrf_token_from(text)
    changed = {**note_form(private_note="Overwritten by Bo"), "csrf_token": token}
    assert bo.post(f"/bookings/{noted}/treatment", data=changed).status_code == 403
    assert stored_note(clinic, noted).private_note == SECRET

    assert [(r["booking_id"], r["client_id"]) for r in reads(clinic, "bo@lindring.example")] == [
        (noted, ida.id),
        (noted, ida.id),
    ]
    # Once Bo's only session with the client is cancelled, he no longer treats her.
    with clinic.app.app_context():
        db.session.get(Booking, bo_session).status = BookingStatus.CANCELLED
        db.session.commit()
    assert bo.get(f"/bookings/{noted}/treatment").status_code == 404


def test_admins_read_it_and_every_staff_read_is_audit_logged(
    clinic: Clinic, ida: Person, noted: int
):
    anna, admin = clinic.staff("anna"), clinic.staff("admin")
    before = len(reads(clinic, "anna@lindring.example"))
    assert SECRET in page_text(anna.get(f"/bookings/{noted}"))
    assert SECRET in page_text(anna.get(f"/bookings/{noted}/treatment"))
    assert len(reads(clinic, "anna@lindring.example")) == before + 2

    assert SECRET in page_text(admin.get(f"/bookings/{noted}"))
    assert SECRET in page_text(admin.get(f"/bookings/{noted}/treatment"))
    logged = reads(clinic, "admin@lindring.example")
    assert [(r["booking_id"], r["client_id"], r["path"]) for r in logged] == [
        (noted, ida.id, f"/bookings/{noted}"),
        (noted, ida.id, f"/bookings/{noted}/treatment"),
    ]
    # The client's own reading of the aftercare is no staff read.
    ida.web.get(f"/bookings/{noted}")
    assert reads(clinic, ida.email) == []


# --- what may be written, and when ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"plan_count": 13}, "plan_count", "A plan has 2 to 12 sessions."),
        ({"plan_count": 1}, "plan_count", "A plan has 2 to 12 sessions."),
        ({"plan_count": "many"}, "plan_count", "A plan has 2 to 12 sessions."),
        # unknown technique
        ({"plan_option": "reiki/60"}, "plan_option", "a technique and length you are certified"),
        # a technique Anna is not certified for, and a length sports massage does not come in
        ({"plan_option": "classic-massage/60"}, "plan_option", "you are certified for"),
        ({"plan_option": "sports-massage/45"}, "plan_option", "you are certified for"),
        ({"plan_every": "daily"}, "plan_every", "every week, every 2 weeks or every month"),
        # nothing at all
        (
            {"private_note": "", "aftercare": " ", "plan_option": ""},
            "private_note",
            "Write a note, some aftercare advice or propose a plan.",
        ),
    ],
)
def test_a_bad_form_is_refused_and_keeps_what_was_typed(
    clinic: Clinic, ida: Person, mailbox: Mailbox, change, field, message
):
    booking_id = treated(clinic, ida)
    typed = {"aftercare": "Walk 20 minutes a day & rest."} | change
    response = write(clinic.staff("anna"), booking_id, **typed)
    assert response.status_code == 422
    text = page_text(response)
    assert message in text
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    if typed["aftercare"].strip():
        assert "Walk 20 minutes a day & rest." in text
    if "private_note" not in change:
        assert SECRET in text
    assert stored_note(clinic, booking_id) is None
    assert aftercare_mail(mailbox, ida) == []


def test_no_plan_stores_no_plan(clinic: Clinic, ida: Person, mailbox: Mailbox):
    booking_id = treated(clinic, ida)
    write(clinic.staff("anna"), booking_id, plan_option="", plan_count=99)
    note = stored_note(clinic, booking_id)
    assert note is not None and not note.has_plan and note.plan_count is None
    page = page_text(ida.web.get(f"/bookings/{booking_id}"))
    assert AFTERCARE in page and "Book this plan" not in page
    assert ida.web.get(f"/bookings/{booking_id}/plan").status_code == 404


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        # before the session starts
        ("upcoming", "once the session has started"),
        ("no_show", "a session that is no-show"),
        ("cancelled", "a session that is cancelled"),
    ],
)
def test_no_note_before_a_session_or_for_one_that_did_not_happen(
    clinic: Clinic, ida: Person, setup: str, message: str
):
    if setup == "upcoming":
        booking_id = book_for(clinic, ida.id, "anna", local(MONDAY + timedelta(days=1), "10:00"))
    else:
        booking_id = treated(clinic, ida, mark=False)
        with clinic.app.app_context():
            db.session.get(Booking, booking_id).status = BookingStatus(setup)
            db.session.commit()
    admin = clinic.staff("admin")
    # Nothing to write and nothing written: the booking page has no treatment section.
    booking_page = admin.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert booking_page.count('id="treatment-heading"') == 0
    page = admin.get(f"/bookings/{booking_id}/treatment")
    assert page.status_code == 200
    assert message in page_text(page)
    assert 'name="private_note"' not in page.get_data(as_text=True)
    assert write(admin, booking_id).status_code == 403
    assert stored_note(clinic, booking_id) is None


def test_a_started_session_not_yet_marked_can_have_its_note(clinic: Clinic, ida: Person, mailbox):
    booking_id = treated(clinic, ida, mark=False)
    assert stored_status(clinic, booking_id) is BookingStatus.CONFIRMED
    assert write(clinic.staff("anna"), booking_id).status_code == 302
    assert stored_note(clinic, booking_id).private_note == SECRET


def test_a_starting_point_is_added_to_the_advice_without_saving(clinic: Clinic, ida: Person):
    booking_id = treated(clinic, ida)
    response = write(clinic.staff("anna"), booking_id, aftercare="Rest tonight.", add="heat")
    assert response.status_code == 200
    text = page_text(response)
    assert f"Rest tonight.\n{SNIPPETS['heat'][1]}</textarea>" in text
    assert SECRET in text  # the rest of the form is kept too
    assert stored_note(clinic, booking_id) is None


def test_changing_the_aftercare_sends_an_update_and_the_private_note_alone_sends_nothing(
    clinic: Clinic, ida: Person, noted: int, mailbox: Mailbox
):
    anna = clinic.staff("anna")
    assert len(aftercare_mail(mailbox, ida)) == 1
    write(anna, noted, private_note="Second thoughts, still private.")
    assert len(aftercare_mail(mailbox, ida)) == 1
    write(anna, noted, private_note="Second thoughts", aftercare="Heat for 15 minutes at night.")
    [_, update] = aftercare_mail(mailbox, ida)
    assert update["Subject"] == SUBJECT_CHANGED
    assert "Heat for 15 minutes at night." in Mailbox.body(update)
    assert "Second thoughts" not in update.as_string()
    assert AFTERCARE not in Mailbox.body(update)


# --- booking the plan ---------------------------------------------------------------------------


def follow_plan(ida: Person, booking_id: int) -> tuple[str, dict[str, list[str]]]:
    response = ida.web.get(f"/bookings/{booking_id}/plan")
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith("/book/series?")
    return location, parse_qs(urlsplit(location).query)


def test_booking_the_plan_goes_through_the_series_page_and_is_remembered(
    clinic: Clinic, ida: Person, noted: int, make_client, mailbox: Mailbox
):
    other = make_client("jon@example.com")
    book_for(clinic, other.id, "anna", local(WEEKS[1], "10:00"))  # 5 April is taken

    url, query = follow_plan(ida, noted)
    assert query["technique"] == ["sports-massage"] and query["duration"] == ["60"]
    assert query["therapist"] == [str(clinic.ids["anna"])]
    assert (query["every"], query["count"]) == (["weekly"], ["4"])
    # The same weekday and wall-clock time one week later (summer time by then).
    assert datetime.fromisoformat(query["start"][0]) == local(WEEKS[0], "10:00")

    page = ida.web.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "The plan Anna" in html and "proposed after your session" in html
    plan = rows(html)
    assert [plan[day].state for day in WEEKS] == ["free", "taken", "free", "free"]
    assert plan[WEEKS[1]].pick == ALTERNATIVE  # the nearest free time, as for a hand-made series
    assert "Nearest free time that day: 12:30" in plan[WEEKS[1]].text

    picks = [plan[day].pick for day in WEEKS]
    response = send(ida.web, url, picks, html)
    assert response.status_code == 302 and response.headers["Location"] == "/my/bookings"
    with clinic.app.app_context():
        booked = db.session.scalars(
            select(Booking)
            .where(Booking.client_id == ida.id, Booking.id != noted)
            .order_by(Booking.starts_at)
        ).all()
        assert [b.starts_at for b in booked] == [local(WEEKS[0], "10:00"), ALTERNATIVE] + [
            local(day, "10:00") for day in WEEKS[2:]
        ]
        assert {b.series_id for b in booked} == {booked[0].id}
        series_id = booked[0].id
    assert stored_note(clinic, noted).plan_series_id == series_id
    page = page_text(ida.web.get(f"/bookings/{noted}"))
    assert "You have booked this plan." in page and "Book this plan" not in page
    anna_view = page_text(clinic.staff("anna").get(f"/bookings/{noted}"))
    assert "booked by the client" in anna_view


def test_a_plan_date_taken_before_confirming_books_nothing(
    clinic: Clinic, ida: Person, noted: int, make_client
):
    url, _ = follow_plan(ida, noted)
    html = ida.web.get(url).get_data(as_text=True)
    picks = [rows(html)[day].pick for day in WEEKS]
    other = make_client("jon@example.com")
    book_for(clinic, other.id, "anna", local(WEEKS[2], "10:00"))  # taken meanwhile

    response = send(ida.web, url, picks, html)
    assert response.status_code == 409
    text = page_text(response)
    assert "Just taken." in text and "Nothing was booked." in text
    assert rows(response.get_data(as_text=True))[WEEKS[2]].state == "taken"
    with clinic.app.app_context():
        mine = db.session.scalars(select(Booking).where(Booking.client_id == ida.id)).all()
        assert [b.id for b in mine] == [noted]
    assert stored_note(clinic, noted).plan_series_id is None


def test_the_first_date_is_the_first_free_time_after_one_interval(
    clinic: Clinic, ida: Person, noted: int, make_client
):
    other = make_client("jon@example.com")
    book_for(clinic, other.id, "anna", local(WEEKS[0], "10:00"))
    _, query = follow_plan(ida, noted)
    # 10:00-11:00 is taken; 11:15 would run into Anna's lunch break: 12:30 is next.
    assert datetime.fromisoformat(query["start"][0]) == local(WEEKS[0], "12:30")


def test_a_plan_written_long_after_the_session_starts_far_enough_ahead(
    clinic: Clinic, ida: Person, noted: int
):
    clinic.set_clock(local(WEEKS[1], "09:00"))  # two weeks on: 29 March has passed
    _, query = follow_plan(ida, noted)
    assert datetime.fromisoformat(query["start"][0]) == local(WEEKS[2], "10:00")


def test_only_the_client_books_their_plan(clinic: Clinic, ida: Person, noted: int, make_client):
    assert clinic.staff("anna").get(f"/bookings/{noted}/plan").status_code == 403
    assert clinic.staff("admin").get(f"/bookings/{noted}/plan").status_code == 403
    jon = make_client("jon@example.com")
    assert jon.web.get(f"/bookings/{noted}/plan").status_code == 404

    # Another client who puts Ida's plan id in a series link books a series of their own,
    # and Ida's plan stays unbooked.
    url, _ = follow_plan(ida, noted)
    html = jon.web.get(url).get_data(as_text=True)
    assert "The plan Anna" not in html
    picks = [p.pick for p in rows(html).values() if p.pick]
    assert send(jon.web, url, picks, html).status_code == 302
    assert stored_note(clinic, noted).plan_series_id is None


def test_a_series_page_without_a_plan_is_unchanged(clinic: Clinic, ida: Person):
    start = local(WEEKS[0], "10:00").isoformat()
    query = {
        "technique": "sports-massage",
        "duration": 60,
        "therapist": clinic.ids["anna"],
        "start": start,
    }
    page = ida.web.get("/book/series", query_string=query).get_data(as_text=True)
    assert 'name="plan"' not in page and "The plan" not in page
    assert re.search(r'<option selected value="weekly">', page)


@pytest.mark.parametrize("plan", ["abc", "-1", "0", "99999999999999999999"])
def test_a_made_up_plan_id_books_a_plain_series(clinic: Clinic, ida: Person, plan: str):
    query = {
        "technique": "sports-massage",
        "duration": 60,
        "therapist": clinic.ids["anna"],
        "start": local(WEEKS[0], "10:00").isoformat(),
        "every": "weekly",
        "count": 2,
        "plan": plan,
    }
    url = "/book/series?" + urlencode(query)
    html = ida.web.get(url).get_data(as_text=True)
    assert "The plan" not in html
    picks = [row.pick for row in rows(html).values()]
    response = send(ida.web, url, picks, html)
    assert response.status_code == 302 and response.headers["Location"] == "/my/bookings"
    with clinic.app.app_context():
        assert len(db.session.scalars(select(Booking)).all()) == 2


def test_an_id_too_large_for_the_database_is_not_found(clinic: Clinic, ida: Person):
    huge = 2**31
    assert clinic.staff("anna").get(f"/bookings/{huge}/treatment").status_code == 404
    assert ida.web.get(f"/bookings/{huge}/plan").status_code == 404
