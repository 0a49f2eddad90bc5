"""The JSON API v1: bearer tokens and the health screening, against a real database."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import ApiToken, User
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.screening.models import Screening
from clinic.screening.operations import current_screening
from clinic.screening.rules import CURRENT_VERSION, questions
from tests.support import TEST_PASSWORD, login

DEMO_PASSWORD = "demo-password"
ADMIN = "admin@lindring.example"
DEMO_CLIENT = "client@lindring.example"
DEEP = ("sports-massage", "trigger-point-therapy", "deep-tissue-massage")
GENTLE = ("myofascial-release", "classic-massage")
ZONE = ZoneInfo("Europe/Copenhagen")


def token_for(client, email: str, password: str = TEST_PASSWORD) -> str:
    response = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def all_no(**changes: Any) -> dict[str, Any]:
    """Answers with every yes/no question answered no, then `changes` applied."""
    answers: dict[str, Any] = {q.id: False for q in questions() if q.kind == "yes_no"}
    answers.update(changes)
    return answers


def post_screening(client, token: str, answers: Any, **body: Any) -> Any:
    return client.post(
        "/api/v1/screenings",
        json={"answers": answers, "consent": True, **body},
        headers=bearer(token),
    )


def count(app, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.fixture
def client_token(client, make_user) -> str:
    """A token of a fresh client who has never answered the screening."""
    user = make_user(email="ida@example.com")
    return token_for(client, user.email)


# --- tokens ---------------------------------------------------------------------------------


def test_a_token_is_issued_with_a_local_expiry_and_authenticates(app, client, make_user):
    user = make_user(email="ida@example.com")
    before = utcnow()
    response = client.post(
        "/api/v1/tokens", json={"email": "Ida@Example.com", "password": TEST_PASSWORD}
    )

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    assert len(body["token"]) >= 43  # 32 random bytes, URL-safe base64
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == ZONE.utcoffset(expires.replace(tzinfo=None))
    assert (
        timedelta(days=30) - timedelta(seconds=1)
        <= expires - before
        <= timedelta(days=30, minutes=1)
    )

    # With the token the API knows the caller (a 404 for a screening that does not exist) ...
    answer = client.get("/api/v1/screenings/999999", headers=bearer(body["token"]))
    assert_error(answer, 404, "not_found")
    # ... without it, it does not.
    assert_error(client.get("/api/v1/screenings/999999"), 401, "unauthorized")
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.user_id == user.id
        assert row.last_used_at is not None


def test_only_the_hash_of_a_token_is_stored(app, client, make_user):
    make_user(email="ida@example.com")
    token = token_for(client, "ida@example.com")
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash != token
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr(db.session.execute(select(ApiToken.__table__)).all()), (
            "the token itself is in the table"
        )


def test_wrong_password_unknown_email_and_inactive_account_look_alike(app, client, make_user):
    make_user(email="ida@example.com")
    inactive = make_user(email="gone@example.com")
    with app.app_context():
        db.session.get(User, inactive.id).active = False
        db.session.commit()

    attempts = [
        {"email": "ida@example.com", "password": "not the password at all"},  # wrong password
        {"email": "nobody@example.com", "password": TEST_PASSWORD},  # unknown e-mail
        {"email": "gone@example.com", "password": TEST_PASSWORD},  # right, but inactive
    ]
    responses = [client.post("/api/v1/tokens", json=a) for a in attempts]
    for response in responses:
        assert_error(response, 401, "invalid_credentials")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert len({r.get_data() for r in responses}) == 1
    assert count(app, ApiToken) == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("{not json", "invalid_json"),  # malformed JSON
        ("", "invalid_json"),  # no body at all
        ("null", "invalid_json"),  # JSON, but no object
        ('["ida@example.com", "secret"]', "invalid_json"),  # a list, not an object
        ('"ida@example.com"', "invalid_json"),  # a string, not an object
        ("{}", "invalid_fields"),  # both fields missing
        ('{"email": "ida@example.com"}', "invalid_fields"),  # password missing
        ('{"email": ["ida@example.com"], "password": "x"}', "invalid_fields"),  # not a string
        ('{"email": "ida@example.com", "password": 12345}', "invalid_fields"),  # not a string
    ],
)
def test_malformed_token_requests_get_422(app, client, make_user, data, code):
    make_user(email="ida@example.com")
    response = client.post("/api/v1/tokens", data=data, content_type="application/json")
    body = assert_error(response, 422, code)
    if code == "invalid_fields":
        assert set(body["problems"]) <= {"email", "password"} and body["problems"]
    assert count(app, ApiToken) == 0


def test_an_expired_token_is_refused(app, client, client_token, monkeypatch):
    with app.app_context():
        expires_at = db.session.scalar(select(ApiToken.expires_at))

    monkeypatch.setattr("clinic.clock.utcnow", lambda: expires_at - timedelta(seconds=1))
    assert client.get("/api/v1/screenings/1", headers=bearer(client_token)).status_code == 404

    monkeypatch.setattr("clinic.clock.utcnow", lambda: expires_at + timedelta(seconds=1))
    response = client.get("/api/v1/screenings/1", headers=bearer(client_token))
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_token_is_refused(app, client, client_token):
    response = client.delete("/api/v1/tokens/current", headers=bearer(client_token))
    assert response.status_code == 204
    assert response.get_data() == b""
    with app.app_context():
        assert db.session.scalar(select(ApiToken.revoked_at)) is not None

    assert_error(
        client.get("/api/v1/screenings/1", headers=bearer(client_token)), 401, "unauthorized"
    )
    response = client.delete("/api/v1/tokens/current", headers=bearer(client_token))
    assert_error(response, 401, "unauthorized")


def test_revoking_one_token_leaves_the_others_working(client, make_user):
    make_user(email="ida@example.com")
    first, second = token_for(client, "ida@example.com"), token_for(client, "ida@example.com")
    assert first != second
    assert client.delete("/api/v1/tokens/current", headers=bearer(first)).status_code == 204
    assert client.get("/api/v1/screenings/1", headers=bearer(second)).status_code == 404


def test_a_deactivated_account_loses_its_tokens(app, client, make_user):
    user = make_user(email="ida@example.com")
    token = token_for(client, user.email)
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert_error(client.get("/api/v1/screenings/1", headers=bearer(token)), 401, "unauthorized")


@pytest.mark.parametrize(
    "header",
    [
        None,  # nothing sent
        "Bearer",  # scheme without a token
        "Bearer not-a-token-we-issued",  # a guess
        "Basic aWRhQGV4YW1wbGUuY29tOnNlY3JldA==",  # another scheme
        "Bearer " + "x" * 500,  # far longer than any token of ours
    ],
)
def test_calls_without_a_usable_token_get_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/screenings", json={}, headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_session_cookie_does_not_authenticate_the_api(app, client, demo):
    login(client, DEMO_CLIENT, DEMO_PASSWORD)
    assert client.get("/screening").status_code == 200  # the browser session works ...
    with app.app_context():
        own = current_screening(db.session.scalar(select(User.id).where(User.email == DEMO_CLIENT)))
        own_id = own.id

    # ... but not for the API.
    assert_error(client.get(f"/api/v1/screenings/{own_id}"), 401, "unauthorized")
    before = count(app, Screening)
    response = client.post("/api/v1/screenings", json={"answers": all_no(), "consent": True})
    assert_error(response, 401, "unauthorized")
    assert count(app, Screening) == before


# --- screening ------------------------------------------------------------------------------


def test_questions_are_the_current_questionnaire_in_order(client):
    response = client.get("/api/v1/screening/questions")
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == CURRENT_VERSION
    assert body["questions"] == [
        {"id": q.id, "text": q.text, "kind": q.kind} for q in questions(CURRENT_VERSION)
    ]
    assert {q["kind"] for q in body["questions"]} == {"yes_no", "text"}


@pytest.mark.parametrize(
    ("changes", "status", "expected"),
    [
        ({}, "clear", dict.fromkeys(DEEP + GENTLE, "clear")),  # all no
        (  # a diagnosed disc herniation needs a doctor's clearance for any technique
            {"disc_herniation": True},
            "needs_clearance",
            dict.fromkeys(DEEP + GENTLE, "needs_clearance"),
        ),
        (  # blood thinners: deep pressure is reviewed, gentle work goes ahead with care
            {"anticoagulants": True},
            "needs_review",
            {**dict.fromkeys(DEEP, "needs_review"), **dict.fromkeys(GENTLE, "caution")},
        ),
        (  # anything written in the free text is read by staff
            {"other_conditions": "Tennis elbow"},
            "needs_review",
            dict.fromkeys(DEEP + GENTLE, "needs_review"),
        ),
    ],
)
def test_a_screening_gives_an_outcome_per_technique(
    app, client, demo, client_token, changes, status, expected, mailbox
):
    response = post_screening(client, client_token, all_no(**changes))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == status
    assert body["outcomes"] == expected
    valid_until = datetime.fromisoformat(body["valid_until"])
    assert valid_until.utcoffset() == ZONE.utcoffset(valid_until.replace(tzinfo=None))
    with app.app_context():
        stored = db.session.get(Screening, body["id"])
        assert stored.overall.value == status
        assert {o.technique.slug: o.outcome.value for o in stored.outcomes} == expected
        assert stored.consent_version and stored.consented_at is not None
        assert abs(stored.valid_until - valid_until) < timedelta(seconds=1)
    assert mailbox.messages == []  # only urgent screenings alert the admins


def test_a_red_flag_is_urgent_and_alerts_the_admin_without_health_data(
    app, client, demo, client_token, mailbox
):
    secret = "Wrote about a private matter"
    answers = all_no(rf_saddle_numbness=True, anticoagulants=True, other_conditions=secret)
    response = post_screening(client, client_token, answers)

    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "urgent"
    assert body["outcomes"] == dict.fromkeys(DEEP + GENTLE, "urgent")

    alerts = mailbox.to(ADMIN)
    assert len(alerts) == 1
    mail = alerts[0]["Subject"] + "\n" + mailbox.body(alerts[0])
    assert f"/admin/screenings/{body['id']}" in mail
    for q in questions():
        assert q.text not in mail
        assert q.id not in mail
    for word in ("numb", "saddle", "blood", "thinner", secret):
        assert word.lower() not in mail.lower()
    assert "ida@example.com" not in mail


BAD_SCREENINGS = [
    # (body, error code, the question or field the problem is reported for)
    ({"answers": all_no()}, "consent_required", None),  # no consent
    ({"answers": all_no(), "consent": False}, "consent_required", None),  # refused
    ({"answers": all_no(), "consent": "yes"}, "consent_required", None),  # a string, not true
    ({"answers": all_no(), "consent": 1}, "consent_required", None),  # a number, not true
    (
        {"answers": all_no(favourite_colour=True), "consent": True},
        "invalid_answers",
        "favourite_colour",
    ),
    ({"answers": all_no(pregnancy="yes"), "consent": True}, "invalid_answers", "pregnancy"),
    (
        {"answers": all_no(other_conditions=True), "consent": True},
        "invalid_answers",
        "other_conditions",
    ),
    (  # a missing answer is not a "no"
        {"answers": {k: v for k, v in all_no().items() if k != "rf_trauma"}, "consent": True},
        "invalid_answers",
        "rf_trauma",
    ),
    ({"answers": [False] * 22, "consent": True}, "invalid_answers", "answers"),  # a list
    ({"consent": True}, "invalid_answers", "answers"),  # no answers at all
    (  # a screening for someone else
        {"answers": all_no(), "consent": True, "client_id": 1},
        "unknown_field",
        "client_id",
    ),
]


@pytest.mark.parametrize(("body", "code", "problem"), BAD_SCREENINGS)
def test_bad_screenings_get_422_and_store_nothing(app, client, demo, body, code, problem, mailbox):
    token = token_for(client, DEMO_CLIENT, DEMO_PASSWORD)
    with app.app_context():
        before = current_screening(
            db.session.scalar(select(User.id).where(User.email == DEMO_CLIENT))
        )
        before_id = before.id
    count_before = count(app, Screening)

    response = client.post("/api/v1/screenings", json=body, headers=bearer(token))

    answer = assert_error(response, 422, code)
    if problem:
        assert problem in answer["problems"]
    assert count(app, Screening) == count_before
    with app.app_context():
        still = db.session.get(Screening, before_id)
        assert still.superseded_at is None  # the earlier screening still counts
    assert mailbox.messages == []


@pytest.mark.parametrize(
    "data",
    ["{broken", "[]", "null"],  # malformed JSON, a list, no object
)
def test_a_screening_body_that_is_not_an_object_gets_422(app, client, demo, client_token, data):
    response = client.post(
        "/api/v1/screenings",
        data=data,
        content_type="application/json",
        headers=bearer(client_token),
    )
    assert_error(response, 422, "invalid_json")
    assert count(app, Screening) == 1  # the demo client's


@pytest.mark.parametrize(
    ("email", "answers"),
    [
        ("anna@lindring.example", all_no()),  # a therapist
        ("admin@lindring.example", all_no()),  # an admin
        ("anna@lindring.example", "not even answers"),  # the role is checked first
    ],
)
def test_only_clients_post_screenings(app, client, demo, email, answers):
    token = token_for(client, email, DEMO_PASSWORD)
    response = post_screening(client, token, answers)
    assert_error(response, 403, "forbidden")
    assert count(app, Screening) == 1  # the demo client's


def test_a_screening_is_shown_to_its_client_and_admins_only(
    app, client, demo, make_user, client_token
):
    posted = post_screening(client, client_token, all_no(osteoporosis=True)).get_json()
    url = f"/api/v1/screenings/{posted['id']}"
    make_user(email="other@example.com")
    other = token_for(client, "other@example.com")
    therapist = token_for(client, "anna@lindring.example", DEMO_PASSWORD)
    admin = token_for(client, ADMIN, DEMO_PASSWORD)

    owner_view = client.get(url, headers=bearer(client_token))
    assert owner_view.status_code == 200
    assert owner_view.get_json() == posted
    assert count(app, AuditEntry) == 0  # a client reading their own is no staff view

    missing = client.get("/api/v1/screenings/999999", headers=bearer(other))
    for token in (other, therapist):
        response = client.get(url, headers=bearer(token))
        assert_error(response, 404, "not_found")
        # Word for word the answer for a screening that does not exist.
        assert response.get_data() == missing.get_data()
    assert count(app, AuditEntry) == 0

    admin_view = client.get(url, headers=bearer(admin), environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert admin_view.status_code == 200
    assert admin_view.get_json() == posted
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry))
        admin_id = db.session.scalar(select(User.id).where(User.email == ADMIN))
        assert (entry.action, entry.subject_type, entry.subject_id) == (
            "screening.viewed",
            "screening",
            posted["id"],
        )
        assert entry.actor_id == admin_id
        assert entry.ip == "10.1.2.3"
        assert entry.detail["client_id"] == db.session.get(Screening, posted["id"]).client_id


def test_a_new_screening_replaces_the_current_one(app, client, demo, client_token):
    first = post_screening(client, client_token, all_no(anticoagulants=True)).get_json()
    second = post_screening(client, client_token, all_no()).get_json()

    assert second["id"] != first["id"]
    with app.app_context():
        client_id = db.session.get(Screening, first["id"]).client_id
        assert current_screening(client_id).id == second["id"]
        assert db.session.get(Screening, first["id"]).superseded_at is not None
        assert db.session.get(Screening, second["id"]).superseded_at is None


def test_a_refused_call_still_records_that_the_token_was_used(app, client, demo, monkeypatch):
    token = token_for(client, "anna@lindring.example", DEMO_PASSWORD)
    later = utcnow() + timedelta(hours=1)
    monkeypatch.setattr("clinic.clock.utcnow", lambda: later)

    assert post_screening(client, token, all_no()).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) == later


def test_api_errors_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json and "error" in response.get_json()
    response = client.get("/api/v1/tokens")  # POST only
    assert response.status_code == 405
    assert response.is_json and "error" in response.get_json()
