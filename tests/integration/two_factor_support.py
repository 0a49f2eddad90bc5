"""What the two-factor tests share: logging in in two steps, setting it up as an authenticator
app would (`pyotp.TOTP(secret).at(moment)`, the clock pinned by the `clinic` fixture), and
reading what was stored. The fixtures are imported by the test modules."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEntry
from clinic.auth.two_factor_models import TwoFactor
from clinic.extensions import db
from tests.support import TEST_PASSWORD, Clinic, post_form

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
