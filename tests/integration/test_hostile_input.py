"""Hostile input, property-based: every form, JSON call and filtered list gets bad values.

For each endpoint of hostile_targets.py the demo clinic is set up once; hypothesis then posts
(or asks with) very long, empty, odd-unicode, markup, SQL, wrong-type, far-away-date and huge
values. Whatever it sends: never a 5xx; an answer that refuses (4xx, or the form shown again
with its errors) leaves every stored row as it was; markup sent never comes back unescaped.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import (
    hostile_form_value,
    hostile_text,
    json_body,
    raw_body,
)
from tests.integration.hostile_targets import (
    API_CALLS,
    COUNTS_FAILURES,
    FORMS,
    LEFT_OUT,
    LOCKOUT_TABLES,
    QUERIES,
)
from tests.integration.hostile_world import World, _csrf, _form, build_world, check
from tests.support import Clinic

# Examples per endpoint: about 60 endpoints, each example a request and a fingerprint.
EXAMPLES = 8
HOSTILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,  # the same inputs every run: CI runs are comparable
    derandomize=True,
)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# request.args.get("name" / request.args["name"]: the names a view reads itself.
ARG_NAME = re.compile(r"request\.args(?:\.get\(|\[)\"(\w+)\"")


@pytest.fixture
def world(clinic: Clinic, make_client, make_user) -> World:
    return build_world(clinic, make_client, make_user)


# --- the route walk ---------------------------------------------------------------------------


def test_every_form_and_call_is_attacked(app):
    """A route that accepts POST/PUT/DELETE, or a GET view that reads its query string, must
    be in hostile_targets.py; otherwise a new form would escape these tests."""
    unsafe, reads_query, read_names = set(), set(), {}
    for rule in app.url_map.iter_rules():
        if rule.methods & UNSAFE:
            unsafe.add(rule.endpoint)
        source = inspect.getsource(inspect.unwrap(app.view_functions[rule.endpoint]))
        if "GET" in rule.methods and "request.args" in source:
            reads_query.add(rule.endpoint)
            read_names[rule.endpoint] = set(ARG_NAME.findall(source))
    attacked = FORMS.keys() | API_CALLS.keys() | LEFT_OUT
    assert unsafe - attacked == set(), "add these forms to FORMS or API_CALLS in hostile_targets.py"
    assert attacked - unsafe == set(), "hostile_targets.py names routes that no longer exist"
    assert reads_query - QUERIES.keys() == set(), "add these views' parameters to QUERIES"
    for endpoint, names in read_names.items():
        missing = names - set(QUERIES[endpoint][2])
        assert missing == set(), f"{endpoint} reads {sorted(missing)}: add them to QUERIES"


@pytest.mark.parametrize("endpoint", sorted(FORMS))
@HOSTILE
@given(data=st.data())
def test_forms_survive_hostile_input(world: World, endpoint: str, data: st.DataObject):
    target = FORMS[endpoint]
    web = world.browser(target.visitor)
    key = f"form:{endpoint}"
    if key not in world.ids:
        world.ids[key] = (*_form(world, target, web), world.fingerprint())
    token, fields, before = world.ids[key]
    # Each field: what the page offers, or something hostile; so single bad values are tried
    # beside good ones, and every field bad at once too.
    values = data.draw(
        st.fixed_dictionaries(
            {name: st.one_of(st.just(good), hostile_form_value) for name, good in fields.items()},
            optional={"extra": hostile_text},
        )
    )
    sent = {k: v for k, v in values.items() if v is not None}
    response = web.post(target.path.format(**world.ids), data={**sent, "csrf_token": token})
    after = check(
        world,
        web,
        response,
        sent,
        before,
        endpoint,
        page_is_success=target.answers_with_page,
        may_store=LOCKOUT_TABLES if endpoint in COUNTS_FAILURES else frozenset(),
    )
    if 300 <= response.status_code < 400:
        # Logged out (logout, a deactivation) or a new session: start again as the visitor.
        if target.visitor != "anonymous" and web.get("/account").status_code != 200:
            world.log_in(target.visitor)
        token = _csrf(web, target.visitor)
    world.ids[key] = (token, fields, after)


# --- JSON calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", sorted(API_CALLS))
@HOSTILE
@given(data=st.data())
def test_api_calls_survive_hostile_input(world: World, endpoint: str, data: st.DataObject):
    method, path, needs_token, fields = API_CALLS[endpoint]
    web = world.browser("api")
    key = f"api:{endpoint}"
    before = world.ids.get(key) or world.fingerprint()
    headers = {"Authorization": f"Bearer {world.token}"} if needs_token else {}
    if endpoint == "api.revoke_token":
        bearer = data.draw(hostile_text).replace("\n", "").replace("\r", "")[:500]
        headers = {"Authorization": f"Bearer {bearer}"}
    may_store = LOCKOUT_TABLES if endpoint in COUNTS_FAILURES else frozenset()
    if endpoint == "api.create_booking" and data.draw(st.booleans()):
        # With an Idempotency-Key the first answer, a refusal too, is kept for a retry.
        may_store = frozenset({"idempotency_key"})
        key_sent = data.draw(hostile_text).replace("\n", "").replace("\r", "")[:300]
        headers["Idempotency-Key"] = key_sent
    if data.draw(st.integers(0, 3)) == 0:
        sent: Any = data.draw(raw_body)
        kinds = ("application/json", "text/plain", "application/x-www-form-urlencoded")
        kwargs = {"data": sent, "content_type": data.draw(st.sampled_from(kinds))}
        sent = sent.decode(errors="replace")
    else:
        sent = data.draw(json_body(fields))
        kwargs = {"json": sent}
    response = web.open(path.format(**world.ids), method=method, headers=headers, **kwargs)
    world.ids[key] = check(world, web, response, sent, before, endpoint, may_store=may_store)


# --- query strings ----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", sorted(QUERIES))
@HOSTILE
@given(data=st.data())
def test_query_strings_survive_hostile_input(world: World, endpoint: str, data: st.DataObject):
    visitor, path, names = QUERIES[endpoint]
    web = world.browser("anonymous" if visitor == "api" else visitor)
    key = f"query:{endpoint}"
    before = world.ids.get(key) or world.fingerprint()
    # A good value beside the hostile ones gets past the first check to the next.
    good = world.ids["good_args"]
    sent = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                n: st.one_of(st.just(good[n]), hostile_form_value)
                if n in good
                else hostile_form_value
                for n in names
            },
        )
    )
    query = {k: v for k, v in sent.items() if v is not None}
    headers = {"Authorization": f"Bearer {world.token}"} if visitor == "api" else {}
    response = web.get(path.format(**world.ids), query_string=query, headers=headers)
    world.ids[key] = check(world, web, response, query, before, endpoint, may_change=False)
