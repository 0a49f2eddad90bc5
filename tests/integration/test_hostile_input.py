"""Hostile input, property-based: every form, JSON call and filtered list gets bad values.

For each endpoint of hostile_targets.py the demo clinic is set up once; hypothesis then posts
(or asks with) very long, empty, odd-unicode, markup, SQL, wrong-type, far-away-date and huge
values. Whatever it sends: never a 5xx; an answer that refuses (4xx, or the form shown again
with its errors) leaves every stored row as it was; markup sent never comes back unescaped.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from clinic.auth.models import User
from clinic.auth.operations import issue_api_token, make_reset_token
from clinic.booking import operations
from clinic.catalog.models import Certification, Room, Technique
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.scheduling.models import TimeOff
from clinic.screening.models import Screening
from clinic.waitlist.models import WaitlistEntry
from tests.hostile import (
    changed,
    fingerprint,
    form_on,
    hostile_form_value,
    hostile_text,
    json_body,
    markup_in,
    raw_body,
)
from tests.integration.hostile_targets import API_CALLS, CSRF_PAGE, FORMS, LEFT_OUT, QUERIES
from tests.support import (
    DEMO_PASSWORD,
    MONDAY,
    Clinic,
    csrf_token_from,
    local,
    login,
    screen,
)

# Examples per endpoint: about 60 endpoints, each example a request and a fingerprint.
EXAMPLES = 20
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


@dataclass(repr=False)  # hypothesis prints the fixtures of a failing example: keep it short
class World:
    """The demo clinic with one object of each kind, and the visitors' browsers."""

    clinic: Clinic
    ids: dict[str, Any]
    token: str
    browsers: dict[str, FlaskClient] = field(default_factory=dict)

    def browser(self, visitor: str) -> FlaskClient:
        if visitor not in self.browsers:
            self.browsers[visitor] = self.clinic.web()
            self.log_in(visitor)
        return self.browsers[visitor]

    def log_in(self, visitor: str) -> None:
        web = self.browsers[visitor]
        if visitor == "client":
            login(web, "ida@example.com")
        elif visitor != "anonymous":
            login(
                web,
                f"{'anna' if visitor == 'therapist' else 'admin'}@lindring.example",
                DEMO_PASSWORD,
            )

    def fingerprint(self) -> dict[str, str]:
        with self.clinic.app.app_context():
            return fingerprint()


@pytest.fixture
def world(clinic: Clinic, make_client, make_user) -> World:
    ida = make_client("ida@example.com")
    ole = make_user(email="ole@example.com", name="Ole")
    app = clinic.app
    screen(app, ole.id)
    # Pia's answers need a review: the admin's decision form is shown for her screening.
    pia = make_user(email="pia@example.com", name="Pia")
    screen(app, pia.id, yes=("anticoagulants",))
    tuesday, thursday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=3)
    with app.app_context():

        def book(user_id: int, hhmm: str, day: date = tuesday) -> int:
            booking = operations.book(
                db.session.get(User, user_id),
                operations.Request("sports-massage", 60, clinic.ids["anna"], local(day, hhmm)),
                now=clinic.now(),
                timezone="Europe/Copenhagen",
            )
            db.session.flush()
            return booking.id

        # Ida's on Thursday: far enough ahead for her to move or cancel it herself.
        ids = {
            "booking": book(ida.id, "10:00", day=thursday),
            "other_booking": book(ole.id, "14:00"),
        }
        # Today at ten: once the clock passes its start, Anna can mark it and write its note.
        ids["started_booking"] = book(ida.id, "10:00", day=MONDAY)

        sports = db.session.scalar(select(Technique).where(Technique.slug == "sports-massage"))
        off = TimeOff(
            therapist_id=clinic.ids["anna"],
            starts_at=local(tuesday + timedelta(days=7), "09:00"),
            ends_at=local(tuesday + timedelta(days=7), "12:00"),
            reason="course",
        )
        entry = WaitlistEntry(client_id=ida.id, technique_id=sports.id, duration_minutes=60)
        mail = OutboxMessage(
            to_address="ole@example.com", subject="s", body_text="b", attempts=5, last_error="down"
        )
        db.session.add_all([off, entry, mail])
        db.session.flush()
        token, _ = issue_api_token(
            db.session.get(User, ida.id), now=clinic.now(), max_age=timedelta(days=1)
        )
        ids.update(
            ole=ole.id,
            anna=clinic.ids["anna"],
            technique=sports.id,
            time_off=off.id,
            entry=entry.id,
            email=mail.id,
            room=db.session.scalar(select(Room.id).limit(1)),
            certification=db.session.scalar(select(Certification.id).limit(1)),
            screening=db.session.scalar(select(Screening.id).where(Screening.client_id == pia.id)),
            source=1,  # no calendar source: the buttons must answer 404, not fail
            reset_token=make_reset_token(db.session.get(User, ole.id), app.config["SECRET_KEY"]),
            slot_query=urlencode(
                {
                    "technique": "sports-massage",
                    "duration": 60,
                    "therapist": clinic.ids["anna"],
                    "start": local(tuesday, "12:30").isoformat(),
                }
            ),
            good_args={
                "technique": "sports-massage",
                "duration": "60",
                "therapist": str(clinic.ids["anna"]),
                "start": local(tuesday, "12:30").isoformat(),
                "every": "weekly",
                "count": "4",
                "from": str(MONDAY),
                "to": str(thursday),
                "first": str(MONDAY),
                "last": str(thursday),
            },
            move_query=urlencode(
                {"start": local(thursday, "16:00").isoformat(), "to": clinic.ids["anna"]}
            ),
        )
        db.session.commit()
    clinic.set_clock(local(MONDAY, "11:05"))
    world = World(clinic, ids, token)
    world.browsers["client"] = ida.web
    return world


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


# --- checking one answer ----------------------------------------------------------------------


def check(
    world: World,
    web: FlaskClient,
    response: Any,
    sent: Any,
    before: dict[str, str],
    what: str,
    *,
    may_change: bool = True,
    page_is_success: bool = False,
    may_store: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """The three promises for one answer; returns the fingerprint to compare the next with.

    An accepted answer (a redirect, 201, 204) may change what is stored, unless `may_change`
    is False (a GET never changes anything); with `page_is_success` a 200 is accepted too.
    A refusal may write only to the tables in `may_store`."""
    status = response.status_code
    body = response.get_data(as_text=True)
    shown = f"{what} answered {status} to {json.dumps(sent, default=repr)[:300]}"
    assert status < 500, shown
    if response.is_json:
        json.loads(body)  # an API answer is JSON, so markup in it is only ever data
    else:
        for markup in markup_in(sent):
            assert markup not in body, f"unescaped {markup!r}: {shown}"
    accepted = 300 <= status < 400 or status in (201, 204) or (page_is_success and status == 200)
    if may_change and accepted:
        # Accepted: it may change things. Whatever the next page shows is escaped too.
        location = response.headers.get("Location", "")
        if location.startswith("/"):
            page = web.get(location).get_data(as_text=True)
            for markup in markup_in(sent):
                assert markup not in page, f"unescaped {markup!r} on {location}: {shown}"
        return world.fingerprint()
    after = world.fingerprint()
    assert set(changed(before, after)) <= may_store, f"stored change on a refusal: {shown}"
    return after


# --- forms ------------------------------------------------------------------------------------


def _csrf(web: FlaskClient, visitor: str) -> str:
    page = web.get(CSRF_PAGE if visitor == "anonymous" else "/account")
    return csrf_token_from(page.get_data(as_text=True))


def _form(world: World, target, visitor_web: FlaskClient) -> tuple[str, dict[str, str]]:
    """A CSRF token and the form's fields (name -> the value the page offers)."""
    path = target.path.format(**world.ids)
    if target.fields is not None:
        return _csrf(visitor_web, target.visitor), dict.fromkeys(target.fields, "")
    page_path = (target.page or target.path).format(**world.ids)
    page = visitor_web.get(page_path)
    assert page.status_code == 200, (target, page.status_code)
    html = page.get_data(as_text=True)
    return csrf_token_from(html), form_on(html, path.split("?")[0], page_path.split("?")[0]).fields


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
        world, web, response, sent, before, endpoint, page_is_success=target.answers_with_page
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
    may_store: frozenset[str] = frozenset()
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
