"""Security headers, cookies, body and form caps, and no-store on private pages.

Each header is checked on an ordinary page, an error page, a static file and an API answer,
over http and over https (directly, and behind a trusted proxy saying so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic import create_app
from clinic.auth.models import User
from clinic.config import load_config
from clinic.extensions import db
from clinic.headers import in_private_area
from tests.conftest import base_config
from tests.support import TEST_PASSWORD, Clinic, Person, csrf_token_from, login, post_form

# One of each kind of answer, anonymous: (label, path, expected status).
KINDS = [
    ("page", "/techniques", 200),
    ("error page", "/no-such-page", 404),
    ("static file", "/static/css/lindring.css", 200),
    ("API answer", "/api/v1/techniques", 200),
    ("API error", "/api/v1/bookings", 401),
]


@pytest.mark.parametrize(("kind", "path", "status"), KINDS, ids=[k[0] for k in KINDS])
def test_every_kind_of_answer_carries_the_security_headers(client, kind, path, status):
    response = client.get(path)
    response.close()  # a static file is streamed from an open file
    assert response.status_code == status
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "http" not in csp  # nothing from other origins
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    # Over plain http, no HSTS: a browser would ignore it, and it promises what is not true.
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(("kind", "path", "status"), KINDS, ids=[k[0] for k in KINDS])
def test_over_https_every_answer_carries_hsts(client, kind, path, status):
    response = client.get(path, base_url="https://localhost")
    response.close()
    assert response.status_code == status
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.fixture
def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Another app on the test database with some settings changed; its pool is closed after."""
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        made.append(create_app(base_config(database_url, **overrides)))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.mark.parametrize(
    ("proxies", "hsts"),
    [
        (1, True),  # a trusted proxy says the client used https
        (0, False),  # no trusted proxy: anyone could send that header, so it is ignored
    ],
)
def test_hsts_behind_a_proxy_follows_x_forwarded_proto_only_when_trusted(make_app, proxies, hsts):
    proxied = make_app(TRUSTED_PROXIES=proxies)
    response = proxied.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert ("Strict-Transport-Security" in response.headers) is hsts


# --- cookies --------------------------------------------------------------------------------


def _session_cookie(response) -> SimpleCookie:
    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    session_cookies = [c for c in cookies if c.startswith("session=")]
    assert session_cookies, cookies
    jar = SimpleCookie()
    jar.load(session_cookies[-1])
    return jar


def test_the_login_cookie_is_httponly_and_lax_and_not_secure_over_http_in_testing(
    client, make_user
):
    user = make_user()
    response = login(client, user.email)
    morsel = _session_cookie(response)["session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    # Testing runs over http like development; production sets Secure (the test below).
    assert not morsel["secure"]


def test_production_settings_make_both_cookies_secure_httponly_and_lax():
    config = load_config({"LINDRING_ENV": "production", "SECRET_KEY": "s" * 32})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    for env in ("development", "testing"):
        assert load_config({"LINDRING_ENV": env})["SESSION_COOKIE_SECURE"] is False


def test_with_secure_cookies_the_login_cookie_is_sent_with_secure(make_app, make_user):
    secure = make_app(SESSION_COOKIE_SECURE=True)
    web = secure.test_client()
    user = make_user()
    page = web.get("/login", base_url="https://localhost").get_data(as_text=True)
    response = web.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},  # Flask-WTF checks it over https
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 302
    morsel = _session_cookie(response)["session"]
    assert morsel["secure"] is True and morsel["httponly"] is True


def test_logging_in_starts_a_new_session_without_anything_planted_before(client, make_user):
    user = make_user()
    client.get("/login")
    with client.session_transaction() as planted:
        # What an attacker who fixed this browser's session before login would leave in it.
        planted["planted"] = "by someone else"
        planted["_fresh"] = "stale"
    before = client.get_cookie("session").value

    login(client, user.email)

    with client.session_transaction() as now:
        assert "planted" not in now
        assert now["_user_id"].startswith(f"{user.id}:")
    assert client.get_cookie("session").value != before


def test_the_session_from_before_login_does_not_log_anyone_in(app, client, make_user):
    user = make_user()
    client.get("/login")
    before = client.get_cookie("session").value
    login(client, user.email)

    replayed = app.test_client()
    replayed.set_cookie("session", before)
    response = replayed.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- size limits ----------------------------------------------------------------------------


def _users(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_a_body_over_max_content_length_gets_the_friendly_413_page(app, client):
    html = client.get("/register").get_data(as_text=True)
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/register", data={"csrf_token": csrf_token_from(html), "name": too_big})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Too much data" in page and "Traceback" not in page
    assert response.headers["Content-Security-Policy"]
    assert _users(app) == 0


def test_an_api_body_over_max_content_length_gets_json_413(app, client):
    too_big = b'{"email": "' + b"x" * app.config["MAX_CONTENT_LENGTH"] + b'"}'
    response = client.post(
        "/api/v1/tokens", data=too_big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"


def test_a_form_with_too_many_parts_gets_413(app, client):
    html = client.get("/register").get_data(as_text=True)
    fields = {f"extra{i}": "1" for i in range(app.config["MAX_FORM_PARTS"] + 1)}
    response = client.post(
        "/register",
        data={"csrf_token": csrf_token_from(html), **fields},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "Too much data" in response.get_data(as_text=True)
    assert _users(app) == 0


def test_a_form_field_over_max_form_memory_size_gets_413(app, client):
    app.config["MAX_FORM_MEMORY_SIZE"] = 1000
    html = client.get("/register").get_data(as_text=True)
    response = client.post(
        "/register",
        data={"csrf_token": csrf_token_from(html), "name": "x" * 2000},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert _users(app) == 0


def test_a_form_within_the_caps_still_registers(app, client):
    response = post_form(
        client,
        "/register",
        {
            "name": "Ida Berg",
            "email": "ida@example.com",
            "phone": "+45 11 22 33 44",
            "password": "a quiet walk by the sea",
            "confirm": "a quiet walk by the sea",
        },
    )
    assert response.status_code == 302
    assert _users(app) == 1


# --- no-store -------------------------------------------------------------------------------

# Pages with health data or personal data, by who looks: (who, path).
PRIVATE_PAGES = [
    ("client", "/screening"),  # the client's health screening
    ("client", "/screening/new"),
    ("client", "/my/bookings"),
    ("client", "/account"),
    ("client", "/account/data"),
    ("client", "/waitlist"),
    ("client", "/book"),
    ("client", "/"),  # any page at all, once logged in
    ("client", "/techniques"),
    ("client", "/no-such-page"),  # an error page too
    ("therapist", "/therapist/calendar"),  # screening notes beside each session
    ("therapist", "/therapist/sessions"),
    ("admin", "/admin/"),
    ("admin", "/admin/users"),
    ("admin", "/admin/screenings/"),
    ("admin", "/admin/audit"),
    ("anonymous", "/api/v1/techniques"),  # every API answer
    ("anonymous", "/visit-check/" + "a" * 43),  # a secret link, even when it is wrong
    ("anonymous", "/calendar/" + "a" * 43 + ".ics"),
    ("anonymous", "/password/reset/" + "a" * 43),
    ("anonymous", "/login"),  # what was typed comes back on an error
]

# Public pages for someone not logged in may be cached.
PUBLIC_PAGES = ["/", "/techniques", "/therapists", "/static/css/lindring.css", "/healthz"]


@pytest.fixture
def browsers(clinic: Clinic, ida: Person) -> dict[str, FlaskClient]:
    return {
        "anonymous": clinic.web(),
        "client": ida.web,
        "therapist": clinic.staff("anna"),
        "admin": clinic.staff("admin"),
    }


@pytest.mark.parametrize(("who", "path"), PRIVATE_PAGES)
def test_private_pages_are_sent_with_no_store(browsers, who, path):
    response = browsers[who].get(path)
    # A wrong secret link is refused (400 or 404), and still not kept.
    assert response.status_code in (200, 400, 404), (path, response.status_code)
    assert response.headers.get("Cache-Control") == "no-store", path


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_for_someone_not_logged_in_may_be_cached(client, path):
    response = client.get(path)
    response.close()
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


# The only routes outside the private areas: the public catalogue, assets and the health check.
PUBLIC_ENDPOINTS = {
    "catalog.home",
    "catalog.techniques",
    "catalog.technique",
    "catalog.therapists",
    "catalog.therapist",
    "static",
    "bootstrap.static",
    "assets.file",
    "healthz",
    "i18n.switch",  # answers only a redirect; it holds nothing personal
}


def test_every_route_but_the_public_ones_is_in_a_private_area(app):
    """A new route outside the private areas fails here: add its area to PRIVATE_AREAS (or, if
    it holds nothing personal, to PUBLIC_ENDPOINTS)."""
    outside = sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC_ENDPOINTS and not in_private_area(rule.rule)
    )
    assert outside == []
    assert not any(
        in_private_area(r.rule) for r in app.url_map.iter_rules() if r.endpoint in PUBLIC_ENDPOINTS
    )
