"""Sharp values, one field at a time, every other field good: the values that found 500s.

Hypothesis (test_hostile_input.py) tries many kinds of bad input, but in a few examples per
endpoint it rarely puts one particular value in one particular field. The values below each
broke a page once (a 20-digit page number, a superscript digit, year 1 and year 9999), so
every field of every form and query gets each of them, and every JSON field these and wrong
types, with the other fields valid so the value reaches the code past the first check.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.hostile import MARKUP, changed
from tests.integration.hostile_targets import (
    API_CALLS,
    COUNTS_FAILURES,
    FORMS,
    LOCKOUT_TABLES,
    QUERIES,
)
from tests.integration.hostile_world import World, _csrf, _form, build_world
from tests.support import Clinic

# Long text and markup are in every hypothesis example's choice (tests/hostile.py) and never
# failed there; these four did, in one field of many, which a few random examples rarely hit.
SHARP = (
    "99999999999999999999",  # no INTEGER column holds it; as a page: an offset SQLite refuses
    "²",  # str.isdigit() says yes, int() says no
    "0001-01-01",  # its midnight in Copenhagen is in year 0 in UTC
    "9999-12-31",  # it has no next day
)
SHARP_JSON = (10**20, -1, True, None, [], {}, "²", "0001-01-01", "a" * 10_000, MARKUP[0])


@pytest.fixture
def world(clinic: Clinic, make_client, make_user) -> World:
    return build_world(clinic, make_client, make_user)


def _assert_answer(response: Any, value: Any, where: str) -> bool:
    """No 5xx and no raw markup; returns whether the answer accepted the request."""
    status = response.status_code
    assert status < 500, f"{where} answered {status}"
    if not response.is_json and isinstance(value, str) and value in MARKUP:
        assert value not in response.get_data(as_text=True), f"{where}: unescaped markup"
    return 300 <= status < 400 or status in (201, 204)


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_every_form_field_gets_each_sharp_value(world: World, endpoint: str):
    target = FORMS[endpoint]
    web = world.browser(target.visitor)
    token, fields = _form(world, target, web)
    path = target.path.format(**world.ids)
    before = world.fingerprint()
    for name in fields:
        accepted = False
        for value in SHARP:
            response = web.post(path, data={**fields, name: value, "csrf_token": token})
            if _assert_answer(response, value, f"{endpoint} with {name}={value[:20]!r}"):
                accepted = True
                if target.visitor != "anonymous" and web.get("/account").status_code != 200:
                    world.log_in(target.visitor)  # logged out by the request
                token = _csrf(web, target.visitor)
        after = world.fingerprint()
        if not (accepted or target.answers_with_page):
            stored = set(changed(before, after))
            if endpoint in COUNTS_FAILURES:
                stored -= LOCKOUT_TABLES
            assert stored == set(), f"{endpoint}: {name} refused but stored in {stored}"
        before = after


@pytest.mark.parametrize("endpoint", sorted(QUERIES))
def test_every_query_parameter_gets_each_sharp_value(world: World, endpoint: str):
    visitor, path, names = QUERIES[endpoint]
    web = world.browser("anonymous" if visitor == "api" else visitor)
    headers = {"Authorization": f"Bearer {world.token}"} if visitor == "api" else {}
    good = {n: world.ids["good_args"][n] for n in names if n in world.ids["good_args"]}
    before = world.fingerprint()
    for name in names:
        for value in SHARP:
            response = web.get(
                path.format(**world.ids), query_string={**good, name: value}, headers=headers
            )
            _assert_answer(response, value, f"{endpoint} with {name}={value[:20]!r}")
    assert changed(before, world.fingerprint()) == [], f"{endpoint}: a GET stored something"


def _good_json(world: World, endpoint: str) -> dict[str, Any]:
    """A body each call would accept (or refuse only for its meaning, not its shape)."""
    return {
        "api.issue_token": {"email": "ida@example.com", "password": "not her password"},
        "api.submit_screening": {"answers": {}, "consent": True},
        "api.create_booking": {
            "technique": "sports-massage",
            "duration": 60,
            "therapist_id": world.ids["anna"],
            "start": world.ids["good_args"]["start"],
        },
        "api.cancel_booking": {"reason": "ill"},
        "api.revoke_token": {},
    }[endpoint]


@pytest.mark.parametrize("endpoint", sorted(API_CALLS))
def test_every_json_field_gets_each_sharp_value(world: World, endpoint: str):
    method, path, needs_token, fields = API_CALLS[endpoint]
    web = world.browser("api")
    headers = {"Authorization": f"Bearer {world.token}"} if needs_token else {}
    good = _good_json(world, endpoint)
    may_store = LOCKOUT_TABLES if endpoint in COUNTS_FAILURES else frozenset()
    for name in fields:
        for value in SHARP_JSON:
            before = world.fingerprint()
            response = web.open(
                path.format(**world.ids), method=method, headers=headers, json={**good, name: value}
            )
            where = f"{endpoint} with {name}={str(value)[:20]!r}"
            if not _assert_answer(response, value, where):
                stored = set(changed(before, world.fingerprint()))
                assert stored <= may_store, f"{where}: refused but stored in {stored}"
