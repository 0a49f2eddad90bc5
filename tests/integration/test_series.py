"""Booking a series through /book/series: plan every date, then book the chosen ones or none.

The clock is pinned to Monday 22 March 2027, 07:00 in Copenhagen, and the demo clinic is seeded
for that day. The series under test is weekly, 4 sessions of sports massage with Anna at 10:00
from that Monday: summer time starts on Sunday 28 March, so the first session is 09:00 UTC and
the others 08:00 UTC.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking import operations
from clinic.booking.models import Booking, IdempotencyKey
from clinic.booking.series import plan_series
from clinic.catalog.models import Technique
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from tests.support import MONDAY, NOW, Person, count_queries, csrf_token_from, local, login
from tests.support import Clinic as DemoClinic

DAYS = [MONDAY + timedelta(weeks=i) for i in range(4)]  # 22 Mar, 29 Mar, 5 Apr, 12 Apr

AT_TEN = [local(day, "10:00") for day in DAYS]
# Anna on 5 April, when 10:00-11:00 is taken: 11:15 would run past her 12:00 lunch break, and
# nothing fits before 10:00 with the buffer, so the nearest free start is 12:30.
ALTERNATIVE = local(DAYS[2], "12:30")


@dataclass
class Clinic:
    app: Flask
    anna: int  # Therapist.id
    make_client: Callable[..., FlaskClient]


@pytest.fixture
def clinic(clinic: DemoClinic, make_client: Callable[..., Person]) -> Clinic:
    """The shared demo clinic (see conftest.py), with Anna's id and clients as their browsers."""

    def client_web(email: str, *, screened: bool = True, yes: tuple[str, ...] = ()) -> FlaskClient:
        return make_client(email, screened=screened, yes=yes).web

    return Clinic(clinic.app, clinic.ids["anna"], client_web)


def series_url(clinic: Clinic, *, every: str | None = "weekly", count: object = 4) -> str:
    args = {
        "technique": "sports-massage",
        "duration": 60,
        "therapist": clinic.anna,
        "start": AT_TEN[0].isoformat(),
    }
    if every is not None:
        args |= {"every": every, "count": count}
    return "/book/series?" + urlencode(args)


def book_directly(clinic: Clinic, email: str, start: datetime) -> None:
    """Another client takes a time, through the real booking operation."""
    with clinic.app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        req = operations.Request("sports-massage", 60, clinic.anna, start)
        operations.book(user, req, now=NOW, timezone="Europe/Copenhagen")
        db.session.commit()


@dataclass
class Row:
    state: str
    text: str
    pick: datetime | None
    ticked: bool


def rows(html: str) -> dict[date, Row]:
    """The plan table: per date, its state, its text, and its checkbox if it has one."""
    found = {}
    for day, state, body in re.findall(
        r'<tr data-date="([\d-]+)" data-state="(\w+)"[^>]*>(.*?)</tr>', html, re.S
    ):
        box = re.search(r'name="pick" id="pick-\d+" value="([^"]+)"( checked)?', body)
        text = " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", body)).split())
        found[date.fromisoformat(day)] = Row(
            state,
            text,
            datetime.fromisoformat(htmllib.unescape(box.group(1))) if box else None,
            bool(box and box.group(2)),
        )
    return found


def token_of(html: str) -> str:
    match = re.search(r'name="request_token" type="hidden" value="([^"]+)"', html)
    assert match, "page has no request token"
    return match.group(1)


def send(web: FlaskClient, url: str, picks: list[datetime], html: str | None = None):
    """Post the series form with these picks, with the token of `html` (default: a fresh page)."""
    html = html or web.get(url).get_data(as_text=True)
    data = {
        "csrf_token": csrf_token_from(html),
        "request_token": token_of(html),
        "pick": [p.isoformat() for p in picks],
    }
    return web.post(url, data=data)


def bookings_of(clinic: Clinic, email: str) -> list[Booking]:
    with clinic.app.app_context():
        found = list(
            db.session.scalars(
                select(Booking)
                .join(User, User.id == Booking.client_id)
                .where(User.email == email)
                .order_by(Booking.starts_at)
            )
        )
        db.session.expunge_all()
        return found


def test_the_plan_shows_every_date_and_the_taken_one_with_its_nearest_alternative(clinic):
    clinic.make_client("other@example.com")
    book_directly(clinic, "other@example.com", AT_TEN[2])
    web = clinic.make_client("me@example.com")

    response = web.get(series_url(clinic))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    plan = rows(html)
    assert list(plan) == DAYS
    assert [r.state for r in plan.values()] == ["free", "free", "taken", "free"]
    # The same 10:00 on the wall clock; UTC moves by an hour with summer time.
    assert [plan[d].pick for d in (DAYS[0], DAYS[1], DAYS[3])] == [
        AT_TEN[0],
        AT_TEN[1],
        AT_TEN[3],
    ]
    assert AT_TEN[0].hour == 9 and AT_TEN[1].hour == 8
    assert "10:00 CET" in plan[DAYS[0]].text and "10:00 CEST" in plan[DAYS[1]].text
    taken = plan[DAYS[2]]
    assert "Not free" in taken.text and "Nearest free time that day: 12:30" in taken.text
    assert taken.pick == ALTERNATIVE and not taken.ticked  # offered, not pre-ticked
    assert all(plan[d].ticked for d in (DAYS[0], DAYS[1], DAYS[3]))  # free ones pre-ticked
    assert "All or nothing" in html and "Book none" in html


def test_the_confirm_page_links_to_the_series(clinic):
    web = clinic.make_client("me@example.com")
    query = urlencode(
        {
            "technique": "sports-massage",
            "duration": 60,
            "therapist": clinic.anna,
            "start": AT_TEN[0].isoformat(),
        }
    )
    html = htmllib.unescape(web.get(f"/book/confirm?{query}").get_data(as_text=True))
    link = re.search(r'href="(/book/series\?[^"]+)">Book a series from this time instead', html)
    assert link, "no series link on the confirm page"
    form = web.get(link.group(1)).get_data(as_text=True)
    assert "Show the dates" in form and "data-state" not in form  # no dates before a choice


@pytest.mark.parametrize(
    ("chosen", "with_alternative"),
    [
        ([0, 1, 3], True),  # every free date and the alternative for the taken one
        ([0, 3], False),  # only some of the free dates
    ],
)
def test_booking_the_ticked_dates_books_exactly_those_as_one_series(
    clinic, chosen, with_alternative
):
    clinic.make_client("other@example.com")
    book_directly(clinic, "other@example.com", AT_TEN[2])
    web = clinic.make_client("me@example.com")
    picks = [AT_TEN[i] for i in chosen] + ([ALTERNATIVE] if with_alternative else [])

    response = send(web, series_url(clinic), picks)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/my/bookings")
    booked = bookings_of(clinic, "me@example.com")
    assert [b.starts_at for b in booked] == sorted(picks)
    assert {b.series_id for b in booked} == {min(b.id for b in booked)}
    assert {b.therapist_id for b in booked} == {clinic.anna}
    page = web.get("/my/bookings").get_data(as_text=True)
    assert f"{len(picks)} sessions booked." in page
    with clinic.app.app_context():
        announced = db.session.scalars(
            select(AuditEntry.subject_id).where(AuditEntry.action == "booking.booked")
        )
        assert {b.id for b in booked} <= set(announced)


def test_a_resent_form_books_nothing_more(clinic):
    web = clinic.make_client("me@example.com")
    url = series_url(clinic)
    page = web.get(url).get_data(as_text=True)

    first = send(web, url, AT_TEN, html=page)
    assert first.status_code == 302
    again = send(web, url, AT_TEN, html=page)
    assert again.status_code == 302 and again.headers["Location"].endswith("/my/bookings")
    assert "already sent this series" in web.get("/my/bookings").get_data(as_text=True)
    assert len(bookings_of(clinic, "me@example.com")) == 4
    with clinic.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_a_date_taken_between_plan_and_confirm_books_nothing(clinic):
    web = clinic.make_client("me@example.com")
    url = series_url(clinic)
    page = web.get(url).get_data(as_text=True)
    assert [r.state for r in rows(page).values()] == ["free"] * 4
    clinic.make_client("quick@example.com")
    book_directly(clinic, "quick@example.com", AT_TEN[1])

    response = send(web, url, AT_TEN, html=page)
    html = htmllib.unescape(response.get_data(as_text=True))
    assert response.status_code == 409
    assert "29 March 2027, 10:00 CEST" in html and "Nothing was booked." in html
    assert bookings_of(clinic, "me@example.com") == []
    refreshed = rows(html)
    assert refreshed[DAYS[1]].state == "taken" and "Just taken." in refreshed[DAYS[1]].text
    assert [refreshed[d].state for d in (DAYS[0], DAYS[2], DAYS[3])] == ["free"] * 3

    # Nothing was spent: the same form, with the refreshed choice, books the rest.
    retry = send(web, url, [AT_TEN[0], AT_TEN[2], AT_TEN[3]], html=html)
    assert retry.status_code == 302
    assert len(bookings_of(clinic, "me@example.com")) == 3


@pytest.mark.parametrize("count", [1, 13, "many"])
def test_a_count_outside_two_to_twelve_is_refused(clinic, count):
    web = clinic.make_client("me@example.com")
    response = web.get(series_url(clinic, count=count))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A series has 2 to 12 sessions." in html and "data-state" not in html

    # A crafted POST (with a good page's tokens) books nothing either.
    good = web.get(series_url(clinic)).get_data(as_text=True)
    posted = send(web, series_url(clinic, count=count), AT_TEN[:1], html=good)
    assert posted.status_code == 422
    assert bookings_of(clinic, "me@example.com") == []


def test_an_unknown_frequency_is_refused(clinic):
    web = clinic.make_client("me@example.com")
    response = web.get(series_url(clinic, every="daily"))
    assert response.status_code == 422
    assert "Choose every week, every 2 weeks or every month." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("picks", "message"),
    [
        ([], "Tick at least one date"),  # nothing ticked
        ([local(MONDAY + timedelta(days=1), "10:00")], "not on a day of this series"),
        ([AT_TEN[0], local(MONDAY, "11:00")], "Choose one time a day."),
    ],
)
def test_bad_picks_book_nothing(clinic, picks, message):
    web = clinic.make_client("me@example.com")
    response = send(web, series_url(clinic), picks)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert bookings_of(clinic, "me@example.com") == []


def test_a_series_for_a_client_without_screening_is_refused_like_a_single_booking(clinic):
    web = clinic.make_client("new@example.com", screened=False)
    url = series_url(clinic)
    page = web.get(url).get_data(as_text=True)
    assert "Please answer the health screening before you book." in page
    assert "Book the ticked dates" not in page

    response = send(web, url, AT_TEN, html=page)
    assert response.status_code == 403
    assert "Please answer the health screening first." in response.get_data(as_text=True)
    assert bookings_of(clinic, "new@example.com") == []


def test_a_series_waiting_for_a_screening_review_is_held(clinic):
    # Pregnancy needs a review before sports massage: every session is held (pending).
    web = clinic.make_client("expecting@example.com", yes=("pregnancy",))
    url = series_url(clinic, count=2)
    page = web.get(url).get_data(as_text=True)
    assert "a review by our staff" in page and "Book the ticked dates" in page

    response = send(web, url, AT_TEN[:2], html=page)
    assert response.status_code == 302
    booked = bookings_of(clinic, "expecting@example.com")
    assert [b.status.value for b in booked] == ["pending", "pending"]
    assert "2 of them are held until a review" in web.get("/my/bookings").get_data(as_text=True)
    with clinic.app.app_context():
        actions = set(
            db.session.scalars(
                select(AuditEntry.action).where(AuditEntry.subject_id.in_([b.id for b in booked]))
            )
        )
    assert "booking.booked_pending" in actions and "booking.booked" not in actions


@pytest.mark.parametrize("every", ["weekly", "monthly"])
def test_planning_takes_the_same_few_queries_for_2_or_12_sessions(clinic, every):
    def plan(count: int) -> list[str]:
        with clinic.app.app_context():
            technique = db.session.scalar(
                select(Technique).where(Technique.slug == "sports-massage")
            )
            policy = ClinicPolicy.current()
            with count_queries(clinic.app) as statements:
                found = plan_series(
                    technique=technique,
                    duration_minutes=60,
                    therapist_id=clinic.anna,
                    first_local=datetime.combine(MONDAY, time(10, 0)),
                    every=every,
                    count=count,
                    now=NOW,
                    timezone="Europe/Copenhagen",
                    policy=policy,
                )
            assert len(found.dates) == count
            return statements

    few, many = plan(2), plan(12)
    assert len(many) == len(few), many
    assert len(many) <= 6

    web = clinic.make_client("me@example.com")
    with count_queries(clinic.app) as page_few:
        web.get(series_url(clinic, every=every, count=2))
    with count_queries(clinic.app) as page_many:
        response = web.get(series_url(clinic, every=every, count=12))
    assert response.status_code == 200
    assert len(rows(response.get_data(as_text=True))) == 12
    assert len(page_many) == len(page_few), page_many


def test_only_clients_open_the_series_page(clinic):
    url = series_url(clinic)
    anonymous = clinic.app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    client_page = clinic.make_client("me@example.com").get(url).get_data(as_text=True)
    for email in ("anna@lindring.example", "admin@lindring.example"):
        staff = clinic.app.test_client()
        login(staff, email, "demo-password")
        assert staff.get(url).status_code == 403
        # A complete form, with the staff member's own CSRF token, books nothing either.
        csrf = csrf_token_from(staff.get("/logout").get_data(as_text=True))
        posted = staff.post(
            url,
            data={
                "csrf_token": csrf,
                "request_token": token_of(client_page),
                "pick": [AT_TEN[0].isoformat()],
            },
        )
        assert posted.status_code == 403
    with clinic.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
