"""The screening in the app: the form, the result, re-screening, expiry, and the admins' review."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.screening.consent import CONSENT_VERSION
from clinic.screening.models import Decision, Screening, ScreeningOutcome, ScreeningReview
from clinic.screening.rules import questions
from tests.support import Mailbox, count_queries, csrf_token_from, login, post_form

DEEP = ("sports-massage", "trigger-point-therapy", "deep-tissue-massage")
GENTLE = ("myofascial-release", "classic-massage")


def form_data(yes: tuple[str, ...] = (), other: str = "", consent: bool = True) -> dict:
    data = {q.id: ("yes" if q.id in yes else "no") for q in questions() if q.kind == "yes_no"}
    data["other_conditions"] = other
    if consent:
        data["consent"] = "y"
    return data


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def screenings_of(app, user) -> list[Screening]:
    with app.app_context():
        found = db.session.scalars(select(Screening).where(Screening.client_id == user.id)).all()
        db.session.expunge_all()
        return list(found)


@pytest.fixture
def ida(app, demo, make_user, client):
    """A logged-in client, Ida, in the demo clinic."""
    user = make_user(email="ida@example.com", name="Ida Berg")
    login(client, "ida@example.com")
    return user


def screen(client, **kwargs):
    return post_form(client, "/screening/new", form_data(**kwargs))


def outcomes_of(app, screening_id: int) -> dict[str, tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.scalars(
            select(ScreeningOutcome).where(ScreeningOutcome.screening_id == screening_id)
        )
        return {
            r.technique.slug: (r.outcome.value, r.decision.value if r.decision else None)
            for r in rows
        }


def latest_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(Screening.id)))


# --- the client's side ----------------------------------------------------------------------


def test_a_clean_screening_clears_every_technique(app, client, ida):
    before = utcnow()
    response = screen(client)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count("You can book it now") == 5
    [screening] = screenings_of(app, ida)
    assert screening.consent_version == CONSENT_VERSION
    assert before <= screening.consented_at <= utcnow()
    assert screening.valid_until - screening.submitted_at == timedelta(days=365)
    assert screening.answers["pregnancy"] is False and screening.version == 1
    assert set(outcomes_of(app, latest_id(app)).values()) == {("clear", None)}


def test_disc_herniation_waits_for_a_medical_clearance(app, client, ida, mailbox):
    screen(client, yes=("disc_herniation",))
    page = client.get("/screening").get_data(as_text=True)
    assert page.count("we confirm after a medical clearance") == 5
    assert "a note from your doctor" in page
    assert set(outcomes_of(app, latest_id(app)).values()) == {("needs_clearance", None)}
    assert mailbox.messages == []  # not urgent: nobody is alerted


def test_blood_thinners_need_a_review_for_deep_pressure_only(app, client, ida):
    screen(client, yes=("anticoagulants",))
    result = outcomes_of(app, latest_id(app))
    assert {result[s] for s in DEEP} == {("needs_review", None)}
    assert {result[s] for s in GENTLE} == {("caution", None)}


def test_a_red_flag_shows_urgent_advice_alerts_admins_and_offers_no_booking(
    app, client, ida, mailbox
):
    screen(client, yes=("rf_bladder_bowel",))
    page = client.get("/screening").get_data(as_text=True)
    assert "Please contact a doctor today" in page and "112" in page
    assert page.index("Please contact a doctor today") < page.index("<table")
    assert page.count("Not until you have seen a doctor") == 5
    main = page[page.index('<main id="main"') :]
    assert "/book" not in main and "/techniques/" not in main  # no way on to booking
    [alert] = mailbox.to("admin@lindring.example")
    body = Mailbox.body(alert)
    assert "Urgent" in alert["Subject"]
    assert f"/admin/screenings/{latest_id(app)}" in body
    assert "bladder" not in body.lower() and "Ida" not in body  # no health data in e-mail


def test_free_text_needs_a_review_and_is_kept(app, client, ida):
    screen(client, other="Pacemaker since 2019")
    [screening] = screenings_of(app, ida)
    assert screening.answers["other_conditions"] == "Pacemaker since 2019"
    assert set(outcomes_of(app, latest_id(app)).values()) == {("needs_review", None)}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"consent": None}, "consent", "Please agree"),  # no consent
        ({"pregnancy": None}, "pregnancy", "Answer yes or no"),  # a question left out
        ({"pregnancy": "maybe"}, "pregnancy", "Not a valid choice"),  # not yes or no
        ({"other_conditions": "x" * 2001}, "other_conditions", "At most 2000"),  # too long
    ],
)
def test_bad_input_is_refused_beside_the_field_and_nothing_is_stored(
    app, client, ida, change, field, message
):
    data = form_data(yes=("varicose_veins",))
    for key, value in change.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    response = post_form(client, "/screening/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="{field}-error"' in html and message in html
    assert screenings_of(app, ida) == []
    # What was answered is kept: the "yes" to varicose veins is still checked.
    assert re.search(r'<input checked[^>]*id="varicose_veins-0"[^>]*value="yes"', html)
    assert not re.search(r'<input checked[^>]*id="varicose_veins-1"', html)


def test_the_form_without_csrf_token_stores_nothing(app, client, ida):
    assert client.post("/screening/new", data=form_data()).status_code == 400
    assert screenings_of(app, ida) == []


def test_answering_again_replaces_the_screening_and_leaves_the_queue(app, client, ida):
    screen(client, yes=("pregnancy",))
    first = latest_id(app)
    screen(client)
    second = latest_id(app)
    assert second != first
    with app.app_context():
        old = db.session.get(Screening, first)
        assert old.superseded_at is not None
        assert db.session.get(Screening, second).superseded_at is None
    page = client.get("/screening").get_data(as_text=True)
    assert page.count("You can book it now") == 5
    admin = login_admin(app)
    assert "Ida Berg" not in admin.get("/admin/screenings/").get_data(as_text=True)


def test_an_expired_screening_asks_to_answer_again(app, client, ida, monkeypatch):
    screen(client)
    later = utcnow() + timedelta(days=366)
    monkeypatch.setattr("clinic.clock.utcnow", lambda: later)
    page = client.get("/screening").get_data(as_text=True)
    assert "Your screening has expired" in page and "/screening/new" in page


def test_a_client_without_screening_is_invited_to_answer(client, ida):
    page = client.get("/screening").get_data(as_text=True)
    assert "Answer the screening" in page and 'href="/screening/new"' in page


# --- the admins' review -----------------------------------------------------------------------


def login_admin(app):
    admin = app.test_client()
    login(admin, "admin@lindring.example", "demo-password")
    return admin


def decide(admin, screening_id: int, kind: str, data: dict):
    page = admin.get(f"/admin/screenings/{screening_id}").get_data(as_text=True)
    return admin.post(
        f"/admin/screenings/{screening_id}/{kind}",
        data={
            **data,
            f"{kind}-csrf_token": csrf_token_from(page),
            "csrf_token": csrf_token_from(page),
        },
    )


def technique_ids(app, *slugs: str) -> list[int]:
    from clinic.catalog.models import Technique

    with app.app_context():
        found = dict(db.session.execute(select(Technique.slug, Technique.id)).all())
    return [found[s] for s in slugs]


def test_the_queue_lists_what_needs_a_human_oldest_first(app, demo, make_user):
    names = []
    for n, yes in enumerate([("pregnancy",), (), ("disc_herniation",), ("varicose_veins",)]):
        make_user(email=f"c{n}@example.com", name=f"Client {n}")
        c = app.test_client()
        login(c, f"c{n}@example.com")
        post_form(c, "/screening/new", form_data(yes=yes))
        names.append(f"Client {n}")
    page = login_admin(app).get("/admin/screenings/").get_data(as_text=True)
    # Clear and caution-only screenings need nobody.
    assert "Client 1" not in page and "Client 3" not in page
    assert page.index("Client 0") < page.index("Client 2")
    assert "medical clearance" in page and "2 waiting" in page


def test_the_queue_shows_fifty_a_page_oldest_first(app, demo):
    from clinic.auth.operations import create_user
    from clinic.screening.operations import submit_screening

    answers = {q.id: (False if q.kind == "yes_no" else "") for q in questions()}
    answers["pregnancy"] = True  # waits for a review
    with app.app_context():
        for n in range(55):
            user = create_user(email=f"q{n}@example.com", name=f"Queued {n:02d}", password="x" * 12)
            submit_screening(user, answers, consent=True, now=utcnow() - timedelta(hours=60 - n))
        db.session.commit()
    admin = login_admin(app)

    def names(page: str) -> list[str]:
        return re.findall(r"<td>(Queued \d\d)</td>", page)

    with count_queries(app) as first_statements:
        first = admin.get("/admin/screenings/").get_data(as_text=True)
    second = admin.get("/admin/screenings/?page=2").get_data(as_text=True)
    assert names(first) == [f"Queued {n:02d}" for n in range(50)]
    assert names(second) == [f"Queued {n:02d}" for n in range(50, 55)]
    assert "55 waiting" in first and "55 waiting" in second
    assert "Page 1 of 2" in first and "page=2" in first and "Page 2 of 2" in second
    # A page past the end shows the last; the statements do not grow with the queue.
    assert names(admin.get("/admin/screenings/?page=9").get_data(as_text=True)) == names(second)
    assert len(first_statements) <= 10, first_statements


def test_the_review_page_shows_exactly_the_triggering_answers(app, client, ida):
    screen(client, yes=("osteoporosis", "varicose_veins"), other="Sore left hip")
    html = login_admin(app).get(f"/admin/screenings/{latest_id(app)}").get_data(as_text=True)
    shown = set()
    for q in questions():
        if f'data-question="{q.id}"' in html:
            shown.add(q.id)
    assert shown == {"osteoporosis", "varicose_veins", "other_conditions"}
    assert "Sore left hip" in html and "Ida Berg" in html


def test_approve_for_some_techniques_then_reject_the_rest(app, client, ida, mailbox):
    screen(client, yes=("anticoagulants",))
    sid = latest_id(app)
    admin = login_admin(app)
    sports, deep_tissue = technique_ids(app, "sports-massage", "deep-tissue-massage")

    response = decide(admin, sid, "approve", {"approve-techniques": [sports, deep_tissue]})
    assert response.status_code == 302
    result = outcomes_of(app, sid)
    assert result["sports-massage"] == ("needs_review", "approved")
    assert result["trigger-point-therapy"] == ("needs_review", None)
    assert result["classic-massage"] == ("caution", None)  # nothing to decide there
    [notice] = mailbox.to("ida@example.com")
    assert f"/screening/{sid}" in Mailbox.body(notice)
    assert "anticoagul" not in Mailbox.body(notice).lower()

    (trigger,) = technique_ids(app, "trigger-point-therapy")
    decide(
        admin,
        sid,
        "reject",
        {"reject-techniques": [trigger], "reject-reason": "Please try sports massage instead."},
    )
    assert outcomes_of(app, sid)["trigger-point-therapy"] == ("needs_review", "rejected")

    page = client.get("/screening").get_data(as_text=True)
    assert page.count("approved by the clinic") == 2
    assert "Not possible after review" in page and "Please try sports massage instead." in page
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        reviews = db.session.scalars(select(ScreeningReview).order_by(ScreeningReview.id)).all()
        assert [r.decision for r in reviews] == [Decision.APPROVED, Decision.REJECTED]
        assert all(r.admin.email == "admin@lindring.example" for r in reviews)
    assert "screening.approved" in actions and "screening.rejected" in actions


def test_a_medical_clearance_is_recorded_with_who_and_when(app, client, ida):
    screen(client, yes=("nerve_compression",))
    sid = latest_id(app)
    ids = technique_ids(app, *DEEP, *GENTLE)
    admin = login_admin(app)
    issued = date.today() - timedelta(days=3)  # noqa: DTZ011
    response = decide(
        admin,
        sid,
        "clear",
        {
            "clear-techniques": ids,
            "clear-clearance_issued_by": "Dr. Hansen, Nørrebro",
            "clear-clearance_date": issued.isoformat(),
            "clear-note": "Letter scanned to the file.",
        },
    )
    assert response.status_code == 302
    assert set(outcomes_of(app, sid).values()) == {("needs_clearance", "cleared")}
    with app.app_context():
        review = db.session.scalar(select(ScreeningReview))
        assert (review.clearance_issued_by, review.clearance_date) == (
            "Dr. Hansen, Nørrebro",
            issued,
        )
    assert "medical clearance recorded" in client.get("/screening").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"clear-clearance_date": "2020-01-01"}, "Who issued the clearance?"),  # no issuer
        ({"clear-clearance_issued_by": "Dr. H"}, "When was it issued?"),  # no date
        (
            {"clear-clearance_issued_by": "Dr. H", "clear-clearance_date": "2999-01-01"},
            "cannot be in the future",
        ),
        (
            {"clear-clearance_issued_by": "Dr. H", "clear-clearance_date": "soon"},
            "Not a valid date",
        ),
    ],
)
def test_a_clearance_without_its_details_is_refused(app, client, ida, data, message):
    screen(client, yes=("blood_clot",))
    sid = latest_id(app)
    (sports,) = technique_ids(app, "sports-massage")
    response = decide(login_admin(app), sid, "clear", {"clear-techniques": [sports], **data})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert count(app, ScreeningReview) == 0
    assert set(outcomes_of(app, sid).values()) == {("needs_clearance", None)}


def test_approving_what_needs_a_clearance_is_refused(app, client, ida):
    screen(client, yes=("osteoporosis",))  # deep: clearance, gentle: review
    sid = latest_id(app)
    (sports,) = technique_ids(app, "sports-massage")
    response = decide(login_admin(app), sid, "approve", {"approve-techniques": [sports]})
    assert "is not a valid choice" in response.get_data(as_text=True)
    assert count(app, ScreeningReview) == 0


def test_a_rejection_needs_a_reason(app, client, ida):
    screen(client, yes=("pregnancy",))
    sid = latest_id(app)
    ids = technique_ids(app, *DEEP)
    response = decide(login_admin(app), sid, "reject", {"reject-techniques": ids})
    assert "Say why, for the client." in response.get_data(as_text=True)
    assert count(app, ScreeningReview) == 0


def test_deciding_an_already_decided_screening_changes_nothing(app, client, ida, mailbox):
    screen(client, yes=("pregnancy",))
    sid = latest_id(app)
    ids = technique_ids(app, *DEEP, *GENTLE)
    admin = login_admin(app)
    decide(admin, sid, "approve", {"approve-techniques": ids})
    again = decide(admin, sid, "reject", {"reject-techniques": ids, "reject-reason": "No."})
    assert again.status_code == 302
    assert "nothing left to decide" in admin.get(again.headers["Location"]).get_data(as_text=True)
    assert count(app, ScreeningReview) == 1
    assert set(outcomes_of(app, sid).values()) == {("needs_review", "approved")}
    assert len(mailbox.to("ida@example.com")) == 1


def test_a_decision_without_csrf_token_changes_nothing(app, client, ida):
    screen(client, yes=("pregnancy",))
    sid = latest_id(app)
    admin = login_admin(app)
    response = admin.post(
        f"/admin/screenings/{sid}/approve",
        data={"approve-techniques": technique_ids(app, "sports-massage")},
    )
    assert response.status_code == 400
    assert count(app, ScreeningReview) == 0


def test_a_client_cannot_decide(app, client, ida):
    screen(client, yes=("pregnancy",))
    sid = latest_id(app)
    page = client.get("/screening").get_data(as_text=True)
    response = client.post(
        f"/admin/screenings/{sid}/approve",
        data={
            "approve-techniques": technique_ids(app, "sports-massage"),
            "approve-csrf_token": csrf_token_from(page),
        },
    )
    assert response.status_code == 403
    assert count(app, ScreeningReview) == 0


def test_every_staff_view_is_audited_and_the_clients_own_is_not(app, client, ida):
    screen(client, yes=("pregnancy",))
    sid = latest_id(app)
    client.get(f"/screening/{sid}")
    assert count(app, AuditEntry) == 0
    admin = login_admin(app)
    admin.get(f"/admin/screenings/{sid}")
    admin.get(f"/screening/{sid}")
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.action, e.subject_id) for e in entries] == [("screening.viewed", sid)] * 2
        admin_id = db.session.scalar(select(User.id).where(User.email == "admin@lindring.example"))
        assert {e.actor_id for e in entries} == {admin_id}
        assert all(e.ip == "127.0.0.1" and e.detail["client_id"] == ida.id for e in entries)


def test_the_queue_page_runs_a_fixed_number_of_queries(app, demo, make_user):
    admin = login_admin(app)

    def add_clients(start: int, n: int) -> None:
        for i in range(start, start + n):
            make_user(email=f"q{i}@example.com")
            c = app.test_client()
            login(c, f"q{i}@example.com")
            post_form(c, "/screening/new", form_data(yes=("pregnancy",)))

    add_clients(0, 2)
    with count_queries(app) as few:
        admin.get("/admin/screenings/")
    add_clients(2, 8)
    with count_queries(app) as many:
        page = admin.get("/admin/screenings/").get_data(as_text=True)
    assert "10 waiting" in page
    assert len(many) == len(few) <= 8


def test_a_therapist_gets_only_the_notes_for_the_sessions_technique(app, client, ida):
    from clinic.catalog.models import Technique
    from clinic.screening.operations import current_screening, notes_for_session

    screen(client, yes=("anticoagulants", "varicose_veins", "pregnancy"))
    with app.app_context():
        screening = current_screening(ida.id)
        classic = db.session.scalar(select(Technique).where(Technique.slug == "classic-massage"))
        notes = notes_for_session(screening, classic)
    assert notes.outcome.value == "needs_review" and notes.decision is None
    assert any("blood thinners" in n for n in notes.notes)
    assert any("side-lying" in n for n in notes.notes)
    # Only notes: no question texts, no "no" answers, nothing about conditions not present.
    assert not any("?" in n for n in notes.notes)
    assert not any("herniation" in n.lower() for n in notes.notes)


def test_the_database_keeps_one_current_screening_per_client(app, ida):
    from sqlalchemy.exc import IntegrityError

    from clinic.screening.rules import Outcome

    now = utcnow()

    def current_row() -> Screening:
        return Screening(
            client_id=ida.id,
            version=1,
            answers={},
            consent_version=CONSENT_VERSION,
            consented_at=now,
            submitted_at=now,
            valid_until=now + timedelta(days=365),
            overall=Outcome.CLEAR,
        )

    with app.app_context():
        db.session.add(current_row())
        db.session.commit()
        db.session.add(current_row())
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert len(screenings_of(app, ida)) == 1


def test_the_therapist_sees_notes_for_the_session_and_the_look_is_logged(app, client, ida):
    from clinic.catalog.models import Therapist
    from tests.integration.test_access import make_booking_row

    screen(client, yes=("anticoagulants", "pregnancy"), other="Sore left hip")
    with app.app_context():
        anna = db.session.scalar(
            select(Therapist).join(Therapist.user).where(User.email == "anna@lindring.example")
        )
        booking_id = make_booking_row(ida.id, anna.id)
    therapist = app.test_client()
    login(therapist, "anna@lindring.example", "demo-password")
    page = therapist.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Screening notes for this session" in page
    assert "blood thinners" in page and "Sore left hip" in page and "side-lying" in page
    # Notes, not the questionnaire: no question text, nothing about what was answered no.
    assert "Do you take blood-thinning medicine?" not in page
    assert "herniation" not in page.lower()
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "screening.notes_viewed")
        )
        assert entry is not None and entry.detail["booking_id"] == booking_id
    own = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Screening notes for this session" not in own  # the client sees their own screening
