"""Two-factor sign-in: setting it up, the two steps of a login, replays, recovery codes and the
API. Switching it off, the admin rule, secrets, CSRF and limits: test_two_factor_rules.py.

Codes are computed as an authenticator app would, with the clock pinned by the `clinic` fixture.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.auth.models import User
from clinic.auth.two_factor_models import RecoveryCode
from clinic.extensions import db
from tests.integration import two_factor_support
from tests.integration.two_factor_support import (
    WRONG_CODE,
    audit_rows,
    code_step,
    codes_on_page,
    logged_in,
    now_code,
    password_step,
    row_of,
    secret_on_page,
)
from tests.support import TEST_PASSWORD, csrf_token_from, post_form

# The shared fixtures: this module's app settings and Ida with two-factor sign-in on.
app_config = two_factor_support.app_config
ida = two_factor_support.ida

# --- setting it up --------------------------------------------------------------------------


def test_setting_up_needs_a_right_first_code_and_shows_ten_codes_once(clinic, make_user):
    user = make_user(email="ole@example.com")
    web = clinic.web()
    password_step(web, user.email)
    page = web.get("/account/two-factor").get_data(as_text=True)
    assert "is <strong>off</strong>" in page
    post_form(web, "/account/two-factor/setup", {}, page="/account/two-factor")
    page = web.get("/account/two-factor").get_data(as_text=True)
    assert '<img class="img-fluid two-factor-qr" src="data:image/svg+xml;base64,' in page
    assert "style=" not in page and "<script>" not in page
    secret = secret_on_page(page)

    wrong = post_form(
        web, "/account/two-factor/confirm", {"code": "000000"}, page="/account/two-factor"
    )
    assert wrong.status_code == 200
    html = wrong.get_data(as_text=True)
    assert WRONG_CODE in html and 'value="000000"' in html  # beside the field, kept
    assert not row_of(clinic.app, user.id).enabled
    assert audit_rows(clinic.app) == []

    right = post_form(
        web,
        "/account/two-factor/confirm",
        {"code": now_code(clinic, secret)},
        page="/account/two-factor",
    )
    codes = codes_on_page(right.get_data(as_text=True))
    assert len(set(codes)) == 10 and "shown only this once" in right.get_data(as_text=True)
    row = row_of(clinic.app, user.id)
    assert row.enabled and row.last_used_step is not None
    assert secret not in row.secret_encrypted  # a copy of the database does not give it away
    with clinic.app.app_context():
        hashes = set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not hashes & set(codes)
    assert audit_rows(clinic.app) == [("two_factor.enabled", user.id, {})]

    after = web.get("/account/two-factor").get_data(as_text=True)
    assert "is <strong>on</strong>" in after and "10 unused recovery codes" in after
    assert secret not in after and not any(c in after for c in codes)


def test_the_account_page_links_to_two_factor_sign_in(clinic, make_user):
    make_user(email="ole@example.com")
    web = clinic.web()
    password_step(web, "ole@example.com")
    assert 'href="/account/two-factor"' in web.get("/account").get_data(as_text=True)


# --- logging in -----------------------------------------------------------------------------


def test_a_login_takes_the_password_then_the_code(clinic, ida):
    web = clinic.web()
    first = password_step(web, ida["email"])
    assert first.status_code == 302 and first.headers["Location"] == "/login/two-factor"
    assert not logged_in(web)  # the password alone does not log in
    assert "One more step" in web.get("/login/two-factor").get_data(as_text=True)
    second = code_step(web, now_code(clinic, ida["secret"]))
    assert second.status_code == 302 and second.headers["Location"] == "/"
    assert logged_in(web)


@pytest.mark.parametrize(
    ("next_url", "lands"),
    [
        ("/account/data", "/account/data"),  # a page on this site: followed
        ("//evil.example/x", "/"),  # another site: ignored
    ],
)
def test_the_next_page_survives_the_second_step_only_when_safe(clinic, ida, next_url, lands):
    web = clinic.web()
    password_step(web, ida["email"], next_url=next_url)
    assert code_step(web, now_code(clinic, ida["secret"])).headers["Location"] == lands


def test_a_wrong_code_is_refused_and_counts_towards_the_lock(clinic, ida, mailbox):
    web = clinic.web()
    password_step(web, ida["email"])
    answer = code_step(web, "123456" if now_code(clinic, ida["secret"]) != "123456" else "654321")
    assert answer.status_code == 200 and WRONG_CODE in answer.get_data(as_text=True)
    assert not logged_in(web)
    with clinic.app.app_context():
        assert db.session.get(User, ida["id"]).failed_logins == 1
    # Giving the right password again does not clear the count: the code must be right.
    password_step(web, ida["email"])
    with clinic.app.app_context():
        assert db.session.get(User, ida["id"]).failed_logins == 1
    code_step(web, "not-a-code")
    code_step(web, "999999x")
    with clinic.app.app_context():
        me = db.session.get(User, ida["id"])
        assert me.failed_logins == 3 and me.locked_until is not None
    assert [a for a, *_ in audit_rows(clinic.app, "account.")] == ["account.locked"]
    # Locked: even the right code is refused now.
    web = clinic.web()
    assert password_step(web, ida["email"]).status_code == 200
    assert not logged_in(web)


def test_a_right_code_clears_earlier_failures(clinic, ida):
    web = clinic.web()
    password_step(web, ida["email"])
    code_step(web, "000000" if now_code(clinic, ida["secret"]) != "000000" else "111111")
    code_step(web, now_code(clinic, ida["secret"]))
    with clinic.app.app_context():
        assert db.session.get(User, ida["id"]).failed_logins == 0


def test_a_code_used_once_cannot_be_used_again(clinic, ida):
    code = now_code(clinic, ida["secret"])
    web = clinic.web()
    password_step(web, ida["email"])
    assert code_step(web, code).status_code == 302
    other = clinic.web()
    password_step(other, ida["email"])
    replay = code_step(other, code)
    assert replay.status_code == 200 and WRONG_CODE in replay.get_data(as_text=True)
    clinic.set_clock(clinic.now() + timedelta(seconds=30))
    assert code_step(other, now_code(clinic, ida["secret"])).status_code == 302


def test_the_password_mark_runs_out_after_five_minutes(clinic, ida):
    web = clinic.web()
    password_step(web, ida["email"])
    token = csrf_token_from(web.get("/login/two-factor").get_data(as_text=True))
    clinic.set_clock(clinic.now() + timedelta(minutes=5, seconds=1))
    code = now_code(clinic, ida["secret"])
    late = web.post("/login/two-factor", data={"code": code, "csrf_token": token})
    assert late.status_code == 302 and late.headers["Location"] == "/login"
    assert not logged_in(web)
    assert web.get("/login/two-factor").headers["Location"] == "/login"


def test_a_recovery_code_works_once(clinic, ida):
    code = ida["codes"][3]
    web = clinic.web()
    password_step(web, ida["email"])
    assert code_step(web, code.upper().replace("-", " ")).status_code == 302
    assert logged_in(web)
    assert audit_rows(clinic.app)[-1] == (
        "two_factor.recovery_code_used",
        ida["id"],
        {"codes_left": 9},
    )
    assert "9 unused recovery codes" in web.get("/account/two-factor").get_data(as_text=True)
    again = clinic.web()
    password_step(again, ida["email"])
    assert WRONG_CODE in code_step(again, code).get_data(as_text=True)


def test_new_recovery_codes_replace_the_old_ones(clinic, ida):
    web = clinic.web()
    password_step(web, ida["email"])
    code_step(web, now_code(clinic, ida["secret"]))
    answer = post_form(web, "/account/two-factor/recovery-codes", {}, page="/account/two-factor")
    new = codes_on_page(answer.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(ida["codes"])
    assert audit_rows(clinic.app)[-1] == ("two_factor.codes_regenerated", ida["id"], {})
    old = clinic.web()
    password_step(old, ida["email"])
    assert WRONG_CODE in code_step(old, ida["codes"][0]).get_data(as_text=True)
    assert code_step(old, new[0]).status_code == 302


# --- the API --------------------------------------------------------------------------------


def test_the_api_wants_the_code_too(clinic, ida):
    web = clinic.web()
    body = {"email": ida["email"], "password": TEST_PASSWORD}
    missing = web.post("/api/v1/tokens", json=body)
    assert missing.status_code == 401 and missing.get_json()["error"] == "two_factor_required"
    wrong = web.post("/api/v1/tokens", json={**body, "code": "12345"})
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_credentials"
    right = web.post("/api/v1/tokens", json={**body, "code": now_code(clinic, ida["secret"])})
    assert right.status_code == 201 and right.get_json()["token"]
    replay = web.post("/api/v1/tokens", json={**body, "code": now_code(clinic, ida["secret"])})
    assert replay.status_code == 401
    with clinic.app.app_context():
        assert (
            db.session.get(User, ida["id"]).failed_logins == 1
        )  # the right code cleared the first; the replay counts


def test_deleting_the_account_deletes_its_secret_and_codes(clinic, ida):
    web = clinic.web()
    password_step(web, ida["email"])
    code_step(web, now_code(clinic, ida["secret"]))
    answer = post_form(web, "/account/delete", {"password": TEST_PASSWORD, "confirm": "y"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/account/deleted"
    assert row_of(clinic.app, ida["id"]) is None
    with clinic.app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
