"""Statements per page on a big clinic (issue 11): no page may run more SQL than its budget.

Every GET route of test_access.py's ROUTES that answers someone 200 is fetched as such a visitor
(the owner first: client A, therapist X, the admin), and so are the main pages with their
parameters (a technique and a day, filters, a week) and the API's list calls. The clinic is
tests/big_clinic.py: 50 more therapists, 2,000 clients, 100,000 bookings, built once for this
module in a database of its own. An N+1 query shows here as dozens or thousands of statements.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from clinic import create_app
from clinic.assets import asset_url
from clinic.auth.models import Role, User
from clinic.booking.models import Booking
from clinic.catalog.models import Therapist
from clinic.extensions import db
from tests.big_clinic import build
from tests.conftest import base_config, migrate_to_head
from tests.integration.test_access import ROUTES, VISITORS
from tests.support import (
    DEMO_PASSWORD,
    MONDAY,
    NOW,
    TEST_PASSWORD,
    count_queries,
    fresh_postgres_database,
    login,
)

BUDGET = 10  # statements per page, unless BUDGETS says otherwise

# A page that needs more than BUDGET, and why. Counted on SQLite and PostgreSQL alike.
BUDGETS: dict[str, tuple[int, str]] = {
    "admin.dashboard": (
        18,
        "seven headings, each its count and first five, and the clinic's sizes",
    ),
}

# The routes no visitor gets a 200 from with a GET: forms' POST targets, redirects, secret links
# with a made-up token. test_access.py checks what they answer; they render no page to count.
NOT_PAGES = {
    "admin.change_user_role",
    "admin.delete_certification",
    "admin.reactivate_therapist",
    "admin.resend_invitation",
    "admin.retry_email",
    "admin.user_active",
    "api.cancel_booking",
    "api.create_booking",
    "api.issue_token",
    "api.list_bookings",  # bearer tokens only: counted below as an API call
    "api.revoke_token",
    "api.show_screening",
    "api.slots",  # needs its parameters: counted below
    "api.submit_screening",
    "auth.accept_invitation",
    "auth.reset_password",
    "booking.cancel",
    "booking.confirm",
    "booking.confirm_pending",
    "booking.mark",
    "booking.series",
    "calendar_sources.my_delete",
    "calendar_sources.my_refresh",
    "calendar_sources.my_replace",
    "calendar_sources.my_upload",
    "calendar_sources.therapist_delete",
    "calendar_sources.therapist_refresh",
    "calendar_sources.therapist_replace",
    "calendar_sources.therapist_upload",
    "feeds.delete",
    "feeds.feed",
    "feeds.regenerate",
    "i18n.switch",
    "previsit.check",
    "privacy.deleted",
    "review.decide",
    "scheduling.delete_my_time_off",
    "scheduling_admin.delete_therapist_time_off",
    "scheduling_admin.rename_room",
    "scheduling_admin.room_active",
    "treatment.book_plan",
    "two_factor.confirm",
    "two_factor.login",
    "two_factor.regenerate",
    "two_factor.setup",
    "two_factor.switch_off",
    "waitlist.leave",
    "waitlist.offer",
}

# Who fetches a page that several visitors may open: the one whose data it shows.
OWNERS_FIRST = ("client_a", "therapist_x", "admin", "client_b", "therapist_y", "anonymous")


def page_visitor(answers: dict[str, object]) -> str | None:
    return next((v for v in OWNERS_FIRST if answers[v] == 200), None)


PAGES = {
    endpoint: (visitor, path)
    for endpoint, (path, answers) in ROUTES.items()
    if (visitor := page_visitor(answers)) is not None
}

WEEK_AFTER = (MONDAY + timedelta(days=7)).isoformat()
TUESDAY = (MONDAY + timedelta(days=1)).isoformat()
YEAR = f"from={MONDAY - timedelta(days=365)}&to={MONDAY - timedelta(days=1)}"
# The main pages again with their parameters, and the API's lists: (visitor, path). A visitor
# "api:NAME" calls with NAME's bearer token and no cookies.
EXTRA = {
    "slots: sports massage from Wednesday": (
        "client_a",
        f"/book?technique=sports-massage&duration=60&start={(MONDAY + timedelta(days=2))}",
    ),
    "slots: one therapist": (
        "client_a",
        "/book?technique=sports-massage&duration=60&therapist={therapist_x}",
    ),
    # Staff see the screening's notes or the whole screening, and each look is logged.
    "booking A, for therapist X": ("therapist_x", "/bookings/{booking_a}"),
    "booking A, for the admin": ("admin", "/bookings/{booking_a}"),
    "screening A, for the admin": ("admin", "/screening/{screening_a}"),
    "admin bookings: pending": ("admin", "/admin/bookings?status=pending"),
    "admin bookings: a day": ("admin", f"/admin/bookings?day={TUESDAY}"),
    "admin bookings: completed, page 40": ("admin", "/admin/bookings?status=completed&page=40"),
    "admin users: clients named Hansen": ("admin", "/admin/users?role=client&q=hansen"),
    "admin clients: page 10": ("admin", "/admin/clients?page=10"),
    "admin audit log: page 20": ("admin", "/admin/audit?page=20"),
    "admin waitlist: one technique": ("admin", "/admin/waitlist?technique=sports-massage"),
    "report: bookings over a year": ("admin", f"/admin/reports/bookings?{YEAR}"),
    "report: utilisation over a year": ("admin", f"/admin/reports/utilisation?{YEAR}"),
    "report: cancellations over a year": ("admin", f"/admin/reports/cancellations?{YEAR}"),
    "report: screenings over a year": ("admin", f"/admin/reports/screenings?{YEAR}"),
    "report: clients over a year": ("admin", f"/admin/reports/clients?{YEAR}"),
    "report: utilisation CSV": ("admin", f"/admin/reports/utilisation.csv?{YEAR}"),
    "calendar: X's next week": ("therapist_x", f"/therapist/calendar?week={WEEK_AFTER}"),
    "calendar: X's Tuesday": ("therapist_x", f"/therapist/calendar/day?date={TUESDAY}"),
    "calendar: X's week, for the admin": (
        "admin",
        f"/admin/therapists/{{therapist_x}}/calendar?week={WEEK_AFTER}",
    ),
    "calendar: the clinic's Tuesday": ("admin", f"/admin/calendar/day?date={TUESDAY}"),
    "api: client A's bookings": ("api:client_a", "/api/v1/bookings"),
    "api: therapist X's bookings": ("api:therapist_x", "/api/v1/bookings"),
    "api: the admin's bookings, 500": ("api:admin", "/api/v1/bookings?limit=500"),
    "api: slots, 14 days": (
        "api:client_a",
        f"/api/v1/slots?technique=sports-massage&duration=60&from={MONDAY}"
        f"&to={MONDAY + timedelta(days=13)}",
    ),
    "api: therapists of a technique": (
        "api:client_a",
        "/api/v1/therapists?technique=sports-massage",
    ),
    "api: techniques": ("api:client_a", "/api/v1/techniques"),
}

CASES = {**PAGES, **EXTRA}

# What shows that a page rendered the big clinic, not an empty one, where it applies: a text
# and how many times at least it appears.
ROW, BIG_EMAIL, SESSION, SLOT, ID = "<tr", "@big.example", "cal-session-link", 'slot"', '"id":'
SIGNS: dict[str, tuple[str, int]] = {
    "admin.audit_log": (ROW, 51),  # a full page of 50, and the heading
    "admin audit log: page 20": (ROW, 51),
    "admin.certification_expiry": ("BIG-", 20),  # the bulk therapists' certificate numbers
    "admin.certifications": (ROW, 51),
    "admin.clients": (BIG_EMAIL, 50),
    "admin clients: page 10": (BIG_EMAIL, 50),
    "admin.dashboard": (BIG_EMAIL, 5),  # the failed e-mails
    "admin.deactivate_therapist": (ROW, 50),  # therapist X's sessions to move
    "admin.failed_emails": ("451 4.3.0", 50),
    "admin.report": (ROW, 5),
    "admin.report_csv": ("\n", 5),
    "admin.therapist": (ROW, 50),
    "admin.users": (BIG_EMAIL, 50),
    "admin users: clients named Hansen": (BIG_EMAIL, 50),
    "booking.admin_list": (ROW, 51),
    "admin bookings: pending": (ROW, 51),
    "admin bookings: a day": (ROW, 51),
    "admin bookings: completed, page 40": (ROW, 51),
    "waitlist.admin_list": (ROW, 80),
    "admin waitlist: one technique": (ROW, 10),
    "report: bookings over a year": (ROW, 50),  # a row a week
    "report: utilisation over a year": (ROW, 50),  # a row a therapist
    "report: cancellations over a year": (ROW, 50),
    "report: screenings over a year": (ROW, 10),
    "report: clients over a year": (ROW, 50),
    "report: utilisation CSV": ("\n", 50),
    "booking.mine": (ROW, 28),  # client A's 6 coming bookings and the newest 20 of the rest
    "booking.sessions": (ROW, 100),  # X's next two weeks and last 30 days
    "booking.search": (SLOT, 100),
    "slots: sports massage from Wednesday": (SLOT, 100),
    "slots: one therapist": (SLOT, 10),
    "booking.reschedule": (SLOT, 10),
    "calendar.week": (SESSION, 29),  # six a weekday
    "calendar.therapist_week": (SESSION, 29),
    "calendar: X's next week": (SESSION, 30),
    "calendar: X's week, for the admin": (SESSION, 30),
    "calendar.day": (SESSION, 6),
    "calendar.therapist_day": (SESSION, 6),
    "calendar: X's Tuesday": (SESSION, 5),  # and booking A
    "calendar.clinic_day": (SESSION, 100),
    "calendar: the clinic's Tuesday": (SESSION, 100),
    "catalog.therapists": ("Back care, calmly.", 50),  # the bulk therapists' words
    "review.queue": (ROW, 51),  # a full page of 50, and the heading
    "scheduling_admin.therapists": (ROW, 51),
    "scheduling_admin.rooms": (ROW, 30),
    "treatment.edit": ("Tight left trapezius", 5),  # client A's earlier notes
    "api: client A's bookings": (ID, 40),
    "api: therapist X's bookings": (ID, 100),  # the first page of 100
    "api: the admin's bookings, 500": (ID, 500),
    "api: slots, 14 days": ('"start":', 100),
    "api.therapists": (ID, 50),
    "api: therapists of a technique": (ID, 10),
    "api.techniques": ('"slug":', 5),
    "api: techniques": ('"slug":', 5),
}


@dataclass
class BigClinic:
    """The app on the big clinic, each visitor's logged-in browser, and their API tokens."""

    app: Flask
    ids: dict[str, object]  # what the paths name: {therapist_x}, {booking_a}, ...
    browsers: dict[str, FlaskClient]
    tokens: dict[str, str]

    def request(self, visitor: str, path: str) -> tuple[FlaskClient, dict[str, str]]:
        """The browser and headers to fetch the path with, ready before counting starts."""
        if visitor.startswith("api:"):
            token = self.tokens[visitor.removeprefix("api:")]
            return self.app.test_client(), {"Authorization": f"Bearer {token}"}
        if path == "/logout":  # logging out ends the session: use one of its own
            return log_in(self.app, visitor), {}
        return self.browsers[visitor], {}


def log_in(app: Flask, visitor: str) -> FlaskClient:
    web = app.test_client()
    if visitor != "anonymous":
        login(web, *ACCOUNTS[visitor])
    return web


ACCOUNTS = {
    "client_a": ("client.a@example.com", TEST_PASSWORD),
    "client_b": ("client.b@example.com", TEST_PASSWORD),
    "therapist_x": ("x@example.com", TEST_PASSWORD),
    "therapist_y": ("y@example.com", TEST_PASSWORD),
    "admin": ("admin@lindring.example", DEMO_PASSWORD),
}


@contextmanager
def own_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new database for the big clinic, migrated to head: the shared one is emptied after
    every test."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if server_url:
        with fresh_postgres_database(server_url, "lindring_big") as url:
            migrate_to_head(url)
            yield url
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('big') / 'big-clinic.db'}"
        migrate_to_head(url)
        yield url


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigClinic]:
    with pytest.MonkeyPatch.context() as patch, own_database(tmp_path_factory) as url:
        patch.setattr("clinic.clock.utcnow", lambda: NOW)
        app = create_app(base_config(url))
        with app.app_context():
            ids: dict[str, object] = dict(build())
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("ANALYZE"))  # as autovacuum would after such a load
                db.session.commit()
        with app.test_request_context():
            ids["asset"] = asset_url("css/lindring.css")
        browsers = {v: log_in(app, v) for v in VISITORS}
        tokens = {}
        for visitor in ("client_a", "therapist_x", "admin"):
            email, password = ACCOUNTS[visitor]
            answer = app.test_client().post(
                "/api/v1/tokens", json={"email": email, "password": password}
            )
            assert answer.status_code == 201, answer.get_json()
            tokens[visitor] = answer.get_json()["token"]
        yield BigClinic(app, ids, browsers, tokens)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_every_route_is_counted_or_said_not_to_be_a_page():
    assert ROUTES.keys() - PAGES.keys() == NOT_PAGES, "a new route: a page, or in NOT_PAGES?"


def test_the_clinic_is_big(big):
    with big.app.app_context():
        bookings = db.session.scalar(select(func.count()).select_from(Booking))
        therapists = db.session.scalar(select(func.count()).select_from(Therapist))
        clients = db.session.scalar(select(func.count()).where(User.role == Role.CLIENT))
    assert (bookings, therapists, clients) == (100_000, 56, 2_003)


@pytest.mark.parametrize("case", sorted(CASES))
def test_page_runs_no_more_statements_than_its_budget(big, case):
    visitor, path = CASES[case]
    path = path.format(**big.ids)
    web, headers = big.request(visitor, path)
    with count_queries(big.app) as statements:
        response = web.get(path, headers=headers)
    body = response.get_data(as_text=True)
    response.close()  # static files hold an open file until closed
    assert response.status_code == 200, (visitor, path)
    budget, _ = BUDGETS.get(case, (BUDGET, ""))
    assert len(statements) <= budget, "\n".join(s[:300] for s in statements)
    if case in SIGNS:
        needle, at_least = SIGNS[case]
        assert body.count(needle) >= at_least, (needle, body.count(needle))
