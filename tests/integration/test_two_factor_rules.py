"""Two-factor sign-in: switching it off, the rule that admins must use it (off under testing:
these tests switch it on), nothing secret in logs, audit or pages, CSRF and the abuse limits."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.auth.two_factor_models import RecoveryCode, TwoFactor
from clinic.extensions import db, limiter
from tests.integration import two_factor_support
from tests.integration.two_factor_support import (
    ADMIN,
    WRONG_CODE,
    audit_rows,
    code_step,
    logged_in,
    now_code,
    password_step,
    row_of,
    rule,
    set_up,
)
from tests.support import DEMO_PASSWORD, TEST_PASSWORD, post_form

# The shared fixtures: this module's app settings and Ida with two-factor sign-in on.
app_config = two_factor_support.app_config
ida = two_factor_support.ida

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


# --- abuse limits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN_ACCOUNT": "3 per minute"}],
    indirect=True,
    ids=["limited"],
)
def test_the_code_step_spends_the_logins_budget_of_the_account(clinic, ida):
    with clinic.app.app_context():
        limiter.reset()  # the set-up's own login spent one
    web = clinic.web()
    assert password_step(web, ida["email"]).status_code == 302  # one
    assert code_step(web, "000001").status_code == 200  # two
    assert code_step(web, "000002").status_code == 200  # three
    refused = code_step(web, now_code(clinic, ida["secret"]))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 60
    assert not logged_in(web)
