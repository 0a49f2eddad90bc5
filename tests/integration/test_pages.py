"""The shared layout, error pages, security headers and local assets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from clinic.auth.models import User
from clinic.extensions import db
from tests.support import Mailbox, login, post_form


def test_not_found_page_is_friendly_and_uses_the_layout(client):
    response = client.get("/no/such/page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in html and 'href="/techniques"' in html


def test_server_error_page_hides_the_details(app):
    @app.get("/test/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/test/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "secret internal detail" not in html


def test_method_not_allowed(client):
    response = client.delete("/techniques")
    assert response.status_code == 405
    assert "does not accept that kind of request" in response.get_data(as_text=True)


def test_oversized_request_is_refused_with_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    html = client.get("/register").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/register", data={"csrf_token": token, "name": "x" * 5000})
    assert response.status_code == 413
    assert "larger than we accept" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_every_asset_is_served_by_the_app(client):
    html = client.get("/").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:css|js))"', html)
    assert any("bootstrap" in a and a.endswith(".css") for a in assets)
    assert any("bootstrap" in a and a.endswith(".js") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the app"
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 500
        response.close()


def test_no_inline_scripts_or_styles(client, demo):
    for path in ("/", "/techniques", "/therapists", "/login", "/register"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, (path, tag)


@pytest.mark.parametrize("path", ["/register", "/login", "/password/forgot", "/account"])
def test_every_field_has_a_label(client, make_user, path):
    make_user(email="bo@example.com")
    if path == "/account":
        login(client, "bo@example.com")
    html = client.get(path).get_data(as_text=True)
    tags = re.findall(r"<(?:input|textarea|select)[^>]*>", html)
    fields = [t for t in tags if not re.search(r'type="(?:hidden|submit)"', t)]
    assert fields, path
    for tag in fields:
        field_id = re.search(r'\bid="([^"]+)"', tag).group(1)
        assert f'for="{field_id}"' in html, f"{path}: #{field_id} has no label"


def test_flash_message_after_an_action(client, make_user):
    make_user(email="bo@example.com", name="Bo Berg")
    response = post_form(
        client,
        "/login",
        {"email": "bo@example.com", "password": "correct horse battery staple"},
        follow_redirects=True,
    )
    assert "You are logged in as Bo Berg." in response.get_data(as_text=True)


def test_behind_a_trusted_proxy_links_use_the_forwarded_scheme_and_host(
    database_url, app_config, make_user, mailbox
):
    from clinic import create_app
    from tests.conftest import base_config, empty_all_tables

    proxied = create_app(base_config(database_url, TRUSTED_PROXIES=1, **app_config))
    try:
        with proxied.app_context():
            from clinic.auth.operations import create_user

            create_user(email="ida@example.com", name="Ida", password="a quiet walk by the sea")
            db.session.commit()
        client = proxied.test_client()
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "booking.clinic.dk"}
        page = client.get("/password/forgot", headers=headers).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        # Over HTTPS, Flask-WTF also wants a same-site Referer, as browsers send.
        response = client.post(
            "/password/forgot",
            data={"email": "ida@example.com", "csrf_token": token},
            headers={**headers, "Referer": "https://booking.clinic.dk/password/forgot"},
        )
        assert response.status_code == 302
        [message] = mailbox.messages
        assert "https://booking.clinic.dk/password/reset/" in Mailbox.body(message)
    finally:
        with proxied.app_context():
            empty_all_tables()
            db.engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/v1/nothing-here", 404, "not_found"),  # unknown API URL
        ("put", "/api/v1/screening/questions", 405, "method_not_allowed"),  # wrong method
    ],
)
def test_api_errors_are_json_with_stable_codes(client, method, path, status, code):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.get_json()["error"] == code
    assert response.get_json()["message"]
