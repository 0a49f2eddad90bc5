"""The world the hostile-input tests attack: the demo clinic with one object of each kind,
the visitors' browsers, and the check every answer must pass.

Shared by test_hostile_input.py (hypothesis) and test_hostile_sweep.py (sharp values, one
field at a time); each builds its `world` fixture with `build_world`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient
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
    markup_in,
)
from tests.integration.hostile_targets import CSRF_PAGE
from tests.support import (
    DEMO_PASSWORD,
    MONDAY,
    Clinic,
    csrf_token_from,
    local,
    login,
    screen,
)


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


def build_world(clinic: Clinic, make_client: Any, make_user: Any) -> World:
    """The demo clinic with Ida (logged in, her sessions), Ole and Pia, and one object of each
    kind; the clock stands at 11:05 on MONDAY, just after Ida's session today began."""
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
