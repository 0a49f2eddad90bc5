"""Two-factor sign-in: setting it up, the two steps of a login, replays, recovery codes, the API,
switching it off, and the rule that admins must use it.

Codes are computed as an authenticator app would (`pyotp.TOTP(secret).at(moment)`) with the
clock pinned by the `clinic` fixture. The admin rule is off under testing; tests of it switch
it on.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.auth.two_factor_models import RecoveryCode, TwoFactor
from clinic.extensions import db
from tests.support import DEMO_PASSWORD, TEST_PASSWORD, Clinic, csrf_token_from, post_form

WRONG_CODE = "That code is not right, or it was already used"
ADMIN = "admin@lindring.example"


@pytest.fixture
def app_config(app_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    return {**app_config, "LOGIN_LOCKOUT_THRESHOLD": 3, **getattr(request, "param", {})}


def rule(on: bool) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        "app_config", [{"ADMIN_TWO_FACTOR_REQUIRED": on}], indirect=True, ids=[f"rule-{on}"]
    )


def password_step(web: Any, email: str, password: str = TEST_PASSWORD, next_url: str = "") -> Any:
    url = f"/login?next={next_url}" if next_url else "/login"
    return post_form(web, url, {"email": email, "password": password}, page="/login")


def code_step(web: Any, code: str) -> Any:
    return post_form(web, "/login/two-factor", {"code": code})


def secret_on_page(html: str) -> str:
    match = re.search(r'<code class="fs-5">([A-Z2-7 ]+)</code>', html)
    assert match, "the set-up page shows no key"
    return match.group(1).replace(" ", "")


def codes_on_page(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", html)


def set_up(clinic: Clinic, web: Any) -> tuple[str, list[str]]:
    """Switch two-factor sign-in on for the logged-in `web`; its secret and recovery codes."""
    assert (
        post_form(web, "/account/two-factor/setup", {}, page="/account/two-factor").status_code
        == 302
    )
    secret = secret_on_page(web.get("/account/two-factor").get_data(as_text=True))
    answer = post_form(
        web,
        "/account/two-factor/confirm",
        {"code": pyotp.TOTP(secret).at(clinic.now())},
        page="/account/two-factor",
    )
    assert answer.status_code == 200
    codes = codes_on_page(answer.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def logged_in(web: Any) -> bool:
    return web.get("/account").status_code == 200


@pytest.fixture
def ida(clinic: Clinic, make_user: Any) -> dict[str, Any]:
    """Ida, with two-factor sign-in on (set up at clinic.now()), and a fresh browser."""
    user = make_user(email="ida@example.com", name="Ida Berg")
    web = clinic.web()
    assert password_step(web, user.email).status_code == 302
    secret, codes = set_up(clinic, web)
    clinic.set_clock(clinic.now() + timedelta(seconds=30))  # the set-up's code is spent
    return {"id": user.id, "email": user.email, "secret": secret, "codes": codes}


def now_code(clinic: Clinic, secret: str) -> str:
    return pyotp.TOTP(secret).at(clinic.now())


def audit_rows(app: Any, prefix: str = "two_factor.") -> list[tuple[str, int, dict]]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        )
        return [(r.action, r.subject_id, r.detail) for r in rows]


def row_of(app: Any, user_id: int) -> TwoFactor | None:
    with app.app_context():
        return db.session.get(TwoFactor, user_id)


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
        assert db.session.get(User, ida["id"]).failed_logins == 1  # the right code cleared the first; the replay counts


# --- switching it off -----------------------------------------------------------------------


def test_switching_off_needs_the_password_and_a_current_code(clinic, ida):
    web = clinic.web()
    password_step(web, ida["email"])
    code_step(web, now_code(clinic, ida["secret"]))
    clinic.set_clock(clinic.now() + timedelta(seconds=30))
    page = "/account/two-factor"
    bad_password = post_form(
        web,
        "/account/two-factor/off",
        {"password": "nope", "code": now_code(clinic, ida["secret"])},
        page=page,
    )
    assert "Your password is not right." in bad_password.get_data(as_text=True)
    bad_code = post_form(
        web, "/account/two-factor/off", {"password": TEST_PASSWORD, "code": "1"}, page=page
    )
    assert WRONG_CODE in bad_code.get_data(as_text=True)
    assert row_of(clinic.app, ida["id"]).enabled
    done = post_form(
        web,
        "/account/two-factor/off",
        {"password": TEST_PASSWORD, "code": now_code(clinic, ida["secret"])},
        page=page,
    )
    assert done.status_code == 302
    assert row_of(clinic.app, ida["id"]) is None
    with clinic.app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
    assert audit_rows(clinic.app)[-1] == ("two_factor.disabled", ida["id"], {})
    # The next login is the password alone again.
    again = clinic.web()
    assert password_step(again, ida["email"]).headers["Location"] == "/"


# --- the admin rule -------------------------------------------------------------------------

ADMIN_PAGES = ["/admin/", "/", "/account", "/admin/users", "/book", "/account/data"]


@rule(True)
def test_with_the_rule_on_an_admin_must_set_up_first(clinic):
    web = clinic.web()
    assert password_step(web, ADMIN, DEMO_PASSWORD).status_code == 302
    for path in ADMIN_PAGES:
        answer = web.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["Location"] == "/account/two-factor", path
    page = web.get("/account/two-factor").get_data(as_text=True)
    assert "Admins must use two-factor sign-in" in page
    token = web.post("/api/v1/tokens", json={"email": ADMIN, "password": DEMO_PASSWORD})
    assert token.status_code == 403 and token.get_json()["error"] == "two_factor_setup_required"

    secret, _ = set_up(clinic, web)
    assert web.get("/admin/").status_code == 200
    assert "Admins must keep two-factor sign-in on." in web.get("/account/two-factor").get_data(
        as_text=True
    )
    clinic.set_clock(clinic.now() + timedelta(seconds=30))
    refused = post_form(
        web,
        "/account/two-factor/off",
        {"password": DEMO_PASSWORD, "code": now_code(clinic, secret)},
        page="/account/two-factor",
    )
    assert refused.status_code == 200 and "Admins must keep" in refused.get_data(as_text=True)
    with clinic.app.app_context():
        assert db.session.get(TwoFactor, User.by_email(ADMIN).id).enabled


@rule(True)
def test_with_the_rule_on_others_are_not_pushed(clinic, make_user):
    make_user(email="ole@example.com")
    web = clinic.web()
    password_step(web, "ole@example.com")
    assert web.get("/account").status_code == 200


@rule(False)
def test_with_the_rule_off_an_admin_goes_on_without(clinic):
    web = clinic.web()
    password_step(web, ADMIN, DEMO_PASSWORD)
    assert web.get("/admin/").status_code == 200


# --- nothing secret anywhere ----------------------------------------------------------------


def test_the_secret_and_codes_are_in_no_log_line_audit_entry_or_later_page(
    clinic, make_user, caplog
):
    caplog.set_level(logging.DEBUG)
    make_user(email="ole@example.com")
    web = clinic.web()
    password_step(web, "ole@example.com")
    secret, codes = set_up(clinic, web)
    clinic.set_clock(clinic.now() + timedelta(seconds=30))
    code = now_code(clinic, secret)
    other = clinic.web()
    password_step(other, "ole@example.com")
    code_step(other, code)
    post_form(other, "/account/two-factor/recovery-codes", {}, page="/account/two-factor")
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert logs, "nothing was logged: the check would prove nothing"
    details = repr([row.detail for row in _all_audit(clinic.app)])
    pages = "".join(
        other.get(p).get_data(as_text=True) for p in ("/account", "/account/two-factor")
    )
    for text in (logs, details, pages):
        assert secret not in text and secret.lower() not in text
        assert code not in text
        assert not any(c in text or c.replace("-", "") in text for c in codes)


def _all_audit(app: Any) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry)))


# --- CSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/account/two-factor/setup",
        "/account/two-factor/confirm",
        "/account/two-factor/recovery-codes",
        "/account/two-factor/off",
        "/login/two-factor",
    ],
)
def test_every_form_needs_its_csrf_token(clinic, ida, path):
    web = clinic.web()
    password_step(web, ida["email"])
    if path != "/login/two-factor":
        code_step(web, now_code(clinic, ida["secret"]))
        clinic.set_clock(clinic.now() + timedelta(seconds=30))
    before = row_of(clinic.app, ida["id"])
    data = {"code": now_code(clinic, ida["secret"]), "password": TEST_PASSWORD}
    answer = web.post(path, data=data)
    assert answer.status_code == 400
    after = row_of(clinic.app, ida["id"])
    assert (after.enabled_at, after.last_used_step) == (before.enabled_at, before.last_used_step)
    assert len(audit_rows(clinic.app)) == 1  # only the set-up's
    if path == "/login/two-factor":
        assert not logged_in(web)
