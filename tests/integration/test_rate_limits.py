"""Abuse limits: login, registration, password reset, API tokens and booking, per IP address and
per account, in memory and in Redis; the 429 answers (a page, or JSON) with Retry-After.

Every budget is generous here except the one a test names, so each test sees one limit bite.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from clinic.auth.models import ApiToken, User
from clinic.booking.models import Booking
from clinic.config import RATE_LIMITS, ConfigError, load_config
from clinic.extensions import db, limiter
from clinic.ratelimits import wait_text
from tests.integration.test_api import bearer, token_for
from tests.integration.test_api_bookings import WEDNESDAY_9, body_for
from tests.integration.test_booking import book, params
from tests.support import TEST_PASSWORD, Clinic, Mailbox, Person, csrf_token_from

REDIS_URL = "redis://127.0.0.1:6379"
GENEROUS = dict.fromkeys(RATE_LIMITS, "1000 per hour")
OTHER_IP = {"REMOTE_ADDR": "203.0.113.9"}
WRONG = "not the password 123"  # a wrong guess, on purpose


def limits(**settings: Any) -> pytest.MarkDecorator:
    """Run the test with these settings over the generous ones (see `app_config`)."""
    return pytest.mark.parametrize("app_config", [settings], indirect=True, ids=[""])


def both_storages(**settings: Any) -> pytest.MarkDecorator:
    """Run the test once with the in-memory storage and once with Redis."""
    return pytest.mark.parametrize(
        "app_config",
        [settings, {**settings, "RATELIMIT_STORAGE_URI": REDIS_URL}],
        indirect=True,
        ids=["memory", "redis"],
    )


def _redis_or_fail() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        message = f"Redis is not answering on {REDIS_URL}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must test the shared storage, not quietly skip it
        pytest.skip(message)
    return client


@pytest.fixture
def app_config(app_config: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[dict]:
    """The limiter on, every budget generous, then the test's own settings. With Redis, the
    keys get a prefix of this test's own, and only those keys are deleted afterwards."""
    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://", **GENEROUS}
    settings.update(getattr(request, "param", {}))
    if not settings["RATELIMIT_STORAGE_URI"].startswith("redis://"):
        yield {**app_config, **settings}
        return
    client = _redis_or_fail()
    prefix = f"lindring-test-{uuid.uuid4().hex}"
    settings["RATELIMIT_STORAGE_OPTIONS"] = {"key_prefix": prefix}
    try:
        yield {**app_config, **settings, "REDIS_TEST_PREFIX": prefix}
    finally:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def login_post(web: Any, email: str, password: str = WRONG, **kwargs: Any) -> Any:
    token = csrf_token_from(web.get("/login").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    return web.post("/login", data=data, **kwargs)


def count(app: Any, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def assert_friendly_429(response: Any) -> int:
    """A 429 page in the site's layout saying how long to wait; returns Retry-After."""
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Too many tries in a short time" in page
    assert re.search(r"Please wait (\d+ seconds?|a minute|\d+ minutes) and try again", page)
    assert '<nav class="navbar' in page, "the page is not in the site's layout"
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 3600
    return seconds


def assert_json_429(response: Any) -> int:
    assert response.status_code == 429
    body = response.get_json()
    assert body["error"] == "rate_limited"
    assert "Try again in" in body["message"]
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 3600 and body["retry_after"] == seconds
    return seconds


# --- logging in -----------------------------------------------------------------------------


@both_storages(RATELIMIT_LOGIN_IP="3 per minute")
def test_the_fourth_login_from_one_address_is_refused_and_another_address_goes_on(app, client):
    for n in range(3):  # three different accounts: the address's budget, not an account's
        assert login_post(client, f"guess{n}@example.com").status_code == 200
    seconds = assert_friendly_429(login_post(client, "guess3@example.com"))
    assert seconds <= 60
    assert login_post(client, "guess3@example.com", environ_base=OTHER_IP).status_code == 200

    prefix = app.config.get("REDIS_TEST_PREFIX")
    if prefix:  # the counts really are in Redis, where other app servers see them
        store = redis.Redis.from_url(REDIS_URL)
        assert list(store.scan_iter(f"{prefix}*"))
        store.close()
    # The window is over (reset, as when it runs out): the address may try again.
    with app.app_context():
        limiter.reset()
    assert login_post(client, "guess4@example.com").status_code == 200


@limits(RATELIMIT_LOGIN_ACCOUNT="2 per minute")
def test_one_account_has_its_own_budget_from_any_address(app, make_user):
    user = make_user(email="ida@example.com")
    webs = [app.test_client() for _ in range(3)]
    assert (
        login_post(webs[0], user.email, environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code
        == 200
    )
    assert (
        login_post(webs[1], user.email, environ_base={"REMOTE_ADDR": "198.51.100.2"}).status_code
        == 200
    )
    # Even the right password, from a third address, waits: the e-mail's budget is spent.
    refused = login_post(webs[2], "IDA@example.com ", TEST_PASSWORD, environ_base=OTHER_IP)
    assert_friendly_429(refused)
    assert webs[2].get("/account").status_code == 302, "the refused login must not log in"
    # Another account from the same address has a budget of its own.
    other = make_user(email="eva@example.com")
    assert login_post(webs[2], other.email, TEST_PASSWORD, environ_base=OTHER_IP).status_code == 302


@limits(RATELIMIT_LOGIN_IP="2 per minute")
def test_only_posts_count(client):
    for _ in range(5):
        assert client.get("/login").status_code == 200
    assert login_post(client, "a@example.com").status_code == 200
    assert login_post(client, "b@example.com").status_code == 200
    assert_friendly_429(login_post(client, "c@example.com"))


@limits(RATELIMIT_LOGIN_IP="1 per 1 second")
def test_the_budget_comes_back_when_the_window_has_passed(client):
    assert login_post(client, "a@example.com").status_code == 200
    assert assert_friendly_429(login_post(client, "a@example.com")) == 1
    time.sleep(1.1)  # the limiter's own clock, not the clinic's: a real second
    assert login_post(client, "a@example.com").status_code == 200


@limits(RATELIMIT_ENABLED=None)
def test_under_testing_the_limiter_stays_off_unless_switched_on(app, client):
    assert app.config["RATELIMIT_ENABLED"] is False
    statuses = {login_post(client, f"n{n}@example.com").status_code for n in range(35)}
    assert statuses == {200}  # 35 > the default 30 per 15 minutes from one address


# --- registering and resetting a password ----------------------------------------------------


def register(web: Any, email: str, **kwargs: Any) -> Any:
    token = csrf_token_from(web.get("/register").get_data(as_text=True))
    data = {
        "name": "Ida Jensen",
        "email": email,
        "phone": "+45 12 34 56 78",
        "password": "a long enough pass phrase",
        "confirm": "a long enough pass phrase",
        "csrf_token": token,
    }
    return web.post("/register", data=data, **kwargs)


@limits(RATELIMIT_REGISTER_IP="2 per hour")
def test_the_third_registration_from_one_address_creates_no_account(app):
    assert register(app.test_client(), "one@example.com").status_code == 302
    assert register(app.test_client(), "two@example.com").status_code == 302
    assert_friendly_429(register(app.test_client(), "three@example.com"))
    with app.app_context():
        assert User.by_email("three@example.com") is None
    assert count(app, User) == 2


@limits(RATELIMIT_PASSWORD_RESET_ACCOUNT="1 per hour")
def test_reset_links_for_one_address_are_limited_from_any_address(app, make_user, mailbox: Mailbox):
    user = make_user(email="ida@example.com")
    web = app.test_client()
    token = csrf_token_from(web.get("/password/forgot").get_data(as_text=True))
    first = web.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    assert first.status_code == 302
    again = web.post(
        "/password/forgot",
        data={"email": user.email, "csrf_token": token},
        environ_base=OTHER_IP,
    )
    assert_friendly_429(again)
    assert len(mailbox.to(user.email)) == 1, "one link, however often it is asked for"
    other = web.post("/password/forgot", data={"email": "eva@example.com", "csrf_token": token})
    assert other.status_code == 302


# --- the API ---------------------------------------------------------------------------------


@both_storages(RATELIMIT_TOKEN_ACCOUNT="2 per hour")
def test_the_third_token_for_one_account_is_refused_as_json(app, client, make_user):
    user = make_user(email="ida@example.com")
    body = {"email": user.email, "password": TEST_PASSWORD}
    for address in ("198.51.100.1", "198.51.100.2"):
        created = client.post("/api/v1/tokens", json=body, environ_base={"REMOTE_ADDR": address})
        assert created.status_code == 201
    assert_json_429(client.post("/api/v1/tokens", json=body, environ_base=OTHER_IP))
    assert count(app, ApiToken) == 2


@limits(RATELIMIT_BOOKING_ACCOUNT="1 per hour")
def test_booking_pages_and_api_share_one_budget_per_client(
    clinic: Clinic, make_client: Any, client: Any
):
    ida: Person = make_client("ida@example.com")
    api_token = token_for(client, ida.email)
    assert book(ida.web, params(clinic)).status_code == 302
    refused = client.post(
        "/api/v1/bookings", json=body_for(clinic.app, WEDNESDAY_9), headers=bearer(api_token)
    )
    assert_json_429(refused)
    assert_friendly_429(book(ida.web, params(clinic, therapist="clara")))
    assert count(clinic.app, Booking) == 1
    # Another client booking from the same address has a budget of their own.
    eva: Person = make_client("eva@example.com")
    assert book(eva.web, params(clinic, therapist="clara")).status_code == 302
    assert count(clinic.app, Booking) == 2


# --- the settings ----------------------------------------------------------------------------


def test_settings_default_and_refuse_what_is_not_a_limit():
    config = load_config({})
    assert config["RATELIMIT_ENABLED"] is None  # on, except under LINDRING_ENV=testing
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["RATELIMIT_LOGIN_IP"] == "30 per 15 minutes"
    assert load_config({"RATELIMIT_ENABLED": "no"})["RATELIMIT_ENABLED"] is False
    assert load_config({"RATELIMIT_TOKEN_IP": "5/minute"})["RATELIMIT_TOKEN_IP"] == "5/minute"
    with pytest.raises(ConfigError, match="RATELIMIT_LOGIN_IP"):
        load_config({"RATELIMIT_LOGIN_IP": "lots"})


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "a minute"),
        (61, "2 minutes"),  # rounded up: never tell someone to come back too early
        (900, "15 minutes"),
        (7200, "2 hours"),
    ],
)
def test_wait_text(seconds, words):
    assert wait_text(seconds) == words
