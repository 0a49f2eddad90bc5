"""Free times through the real loader: the /book page and GET /api/v1/slots, on the demo clinic."""

from __future__ import annotations

import html as html_module
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import url_for
from sqlalchemy import select

from clinic.auth.models import Role, User
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import Certification, Room, Technique, Therapist
from clinic.extensions import db
from clinic.scheduling.models import TimeOff, WorkingHours
from tests.support import count_queries

CPH = ZoneInfo("Europe/Copenhagen")
MONDAY = date(2027, 3, 22)
# Monday 22 March 2027, 07:00 in Copenhagen: before opening, with the two-hour notice ahead.
NOW = datetime(2027, 3, 22, 6, 0, tzinfo=UTC)


@pytest.fixture
def clinic(app, monkeypatch):
    """The demo clinic as seeded on MONDAY, with the clock set to NOW."""
    from clinic.demo import seed_demo

    monkeypatch.setattr("clinic.clock.utcnow", lambda: NOW)
    with app.app_context():
        seed_demo(MONDAY, NOW)
        db.session.commit()
    return app


def ids(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(User.email, Therapist.id).join(Therapist, Therapist.user_id == User.id)
        )
        found = {email.split("@")[0]: tid for email, tid in rows}
        found.update(dict(db.session.execute(select(Technique.slug, Technique.id)).all()))
        return found


def local(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=CPH).astimezone(UTC)


def slots(client, technique="sports-massage", duration=60, first=MONDAY, last=MONDAY, **extra):
    params = {"technique": technique, "duration": duration, "from": first, "to": last, **extra}
    response = client.get("/api/v1/slots", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_slots_api_writes_its_json_as_flask_would(app, clinic, client):
    # The slot list is written as text, not by jsonify (clinic/api/catalog.py): the same bytes.
    sunday = MONDAY + timedelta(days=6)  # nobody works: no slots at all
    cases = [{}, {"therapist": ids(clinic)["anna"]}, {"from": sunday, "to": sunday}]
    counts = []
    for extra in cases:
        params = {"technique": "sports-massage", "duration": 60, "from": MONDAY, "to": MONDAY}
        response = client.get("/api/v1/slots", query_string=params | extra)
        assert response.status_code == 200 and response.mimetype == "application/json"
        answer = response.get_json()
        with app.app_context():
            assert response.data == app.json.response(answer).data
        assert answer["timezone"] == "Europe/Copenhagen"
        assert all(isinstance(s["therapist_id"], int) for s in answer["slots"])
        counts.append(len(answer["slots"]))
    assert counts[0] > counts[1] > counts[2] == 0


def starts_of(answer: dict, therapist_id: int) -> list[str]:
    return [s["start"][11:16] for s in answer["slots"] if s["therapist_id"] == therapist_id]


def add_booking(
    app,
    therapist: int,
    start: datetime,
    minutes: int = 60,
    room: int | None = None,
    status: BookingStatus = BookingStatus.CONFIRMED,
) -> None:
    with app.app_context():
        client = db.session.scalar(select(User).where(User.role == Role.CLIENT))
        room_id = room or db.session.scalar(select(Room.id).order_by(Room.id))
        technique_id = db.session.scalar(select(Technique.id).order_by(Technique.id))
        db.session.add(
            Booking(
                client_id=client.id,
                therapist_id=therapist,
                technique_id=technique_id,
                room_id=room_id,
                starts_at=start,
                ends_at=start + timedelta(minutes=minutes),
                duration_minutes=minutes,
                price_minor=0,
                status=status,
            )
        )
        db.session.commit()


def test_a_monday_for_sports_massage(clinic, client):
    found = ids(clinic)
    answer = slots(client)
    assert answer["timezone"] == "Europe/Copenhagen"
    # Anna works 09:00-12:00 and 12:30-17:00; a 60-minute session fits up to 11:00 and 16:00.
    anna = starts_of(answer, found["anna"])
    assert anna[0] == "09:00" and "11:00" in anna and "11:15" not in anna
    assert "12:15" not in anna and "12:30" in anna and anna[-1] == "16:00"
    assert len(anna) == 9 + 15
    assert starts_of(answer, found["clara"]) == []  # Clara works Tuesday to Saturday
    assert starts_of(answer, found["bo"]) == []  # not certified for sports massage
    assert all(s["start"].endswith("+01:00") for s in answer["slots"])
    keys = [(s["start"], s["therapist_id"]) for s in answer["slots"]]
    assert keys == sorted(keys)


def test_notice_hides_what_starts_too_soon(clinic, client, monkeypatch):
    monkeypatch.setattr("clinic.clock.utcnow", lambda: local(MONDAY, "09:50"))
    anna = starts_of(slots(client), ids(clinic)["anna"])
    assert anna[0] == "12:30"  # 11:50 would be the first with notice, but lunch is at 12:00
    assert "11:00" not in anna


def test_bookings_take_their_time_and_the_buffer_but_cancelled_ones_do_not(clinic, client):
    anna = ids(clinic)["anna"]
    add_booking(clinic, anna, local(MONDAY, "14:00"))
    add_booking(clinic, anna, local(MONDAY, "09:00"), status=BookingStatus.CANCELLED)
    starts = starts_of(slots(client), anna)
    assert "09:00" in starts  # the cancelled booking frees its time
    assert "12:45" in starts and "13:00" not in starts  # 13:00-14:00 has no buffer before 14:00
    assert "15:00" not in starts and "15:15" in starts


def test_a_slot_needs_a_free_room(clinic, client):
    found = ids(clinic)
    with clinic.app_context():
        rooms = list(db.session.scalars(select(Room.id)))
    assert len(rooms) == 3
    for room, therapist in zip(rooms, ("bo", "clara", "david"), strict=True):
        add_booking(clinic, found[therapist], local(MONDAY, "14:00"), room=room)
    anna = starts_of(slots(client), found["anna"])
    # Anna is free, but all three rooms are taken 14:00-15:00 (plus buffer) by the others.
    assert "12:45" in anna and "13:00" not in anna and "14:30" not in anna and "15:15" in anna


def test_time_off_removes_the_day(clinic, client):
    anna = ids(clinic)["anna"]
    with clinic.app_context():
        db.session.add(
            TimeOff(
                therapist_id=anna,
                starts_at=local(MONDAY, "00:00"),
                ends_at=local(MONDAY + timedelta(days=1), "00:00"),
                reason="Course",
            )
        )
        db.session.commit()
    assert starts_of(slots(client), anna) == []


def test_only_therapists_certified_on_the_day_are_offered(clinic, client):
    found = ids(clinic)
    with clinic.app_context():
        cert = db.session.scalar(
            select(Certification).where(
                Certification.therapist_id == found["anna"],
                Certification.technique_id == found["trigger-point-therapy"],
            )
        )
        cert.valid_until = MONDAY + timedelta(days=1)  # runs out on Tuesday evening
        db.session.commit()
    answer = slots(client, "trigger-point-therapy", 30, MONDAY, MONDAY + timedelta(days=2))
    anna_days = {s["start"][:10] for s in answer["slots"] if s["therapist_id"] == found["anna"]}
    assert anna_days == {"2027-03-22", "2027-03-23"}
    assert not any(s["therapist_id"] == found["david"] for s in answer["slots"])  # expired


def test_spring_forward_through_the_loader(clinic, client, make_therapist):
    sunday = date(2027, 3, 28)  # 02:00 becomes 03:00
    night = make_therapist("classic-massage", email="night@example.com")
    with clinic.app_context():
        db.session.add(
            WorkingHours(
                therapist_id=night.id, weekday=6, start_time=time(1, 0), end_time=time(4, 0)
            )
        )
        db.session.commit()
    answer = slots(client, "classic-massage", 30, sunday, sunday, therapist=night.id)
    assert [s["start"][11:] for s in answer["slots"]] == [
        "01:00:00+01:00",
        "01:15:00+01:00",
        "01:30:00+01:00",
        "01:45:00+01:00",  # straddles the change: ends 03:15 CEST, 30 real minutes later
        "03:00:00+02:00",
        "03:15:00+02:00",
        "03:30:00+02:00",
    ]
    # 01:30 CET + 30 minutes is 03:00 CEST: lengths are real minutes.
    assert answer["slots"][2]["end"][11:] == "03:00:00+02:00"


def test_fall_back_through_the_loader(clinic, client, make_therapist, monkeypatch):
    sunday = date(2027, 10, 31)  # 03:00 becomes 02:00 again
    monkeypatch.setattr("clinic.clock.utcnow", lambda: datetime(2027, 10, 25, tzinfo=UTC))
    night = make_therapist("classic-massage", email="night@example.com")
    with clinic.app_context():
        db.session.add(
            WorkingHours(
                therapist_id=night.id, weekday=6, start_time=time(1, 30), end_time=time(3, 30)
            )
        )
        db.session.commit()
    answer = slots(client, "classic-massage", 30, sunday, sunday, therapist=night.id)
    assert [s["start"][11:] for s in answer["slots"]] == [
        "01:30:00+02:00",
        "01:45:00+02:00",
        "02:00:00+02:00",
        "02:15:00+02:00",
        "02:30:00+02:00",
        "02:45:00+02:00",  # the repeated 02:00-02:59 is offered once
        "03:00:00+01:00",
    ]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            {"technique": "reiki", "duration": 60, "from": "2027-03-22", "to": "2027-03-22"},
            "technique",
        ),
        (
            {
                "technique": "sports-massage",
                "duration": 45,
                "from": "2027-03-22",
                "to": "2027-03-22",
            },
            "duration",
        ),
        (
            {
                "technique": "sports-massage",
                "duration": "x",
                "from": "2027-03-22",
                "to": "2027-03-22",
            },
            "duration",
        ),
        (
            {
                "technique": "sports-massage",
                "duration": 60,
                "from": "22/03/2027",
                "to": "2027-03-22",
            },
            "from",
        ),
        (
            {
                "technique": "sports-massage",
                "duration": 60,
                "from": "2027-03-22",
                "to": "2027-03-21",
            },
            "to",
        ),
        (
            {
                "technique": "sports-massage",
                "duration": 60,
                "from": "2027-03-01",
                "to": "2027-03-02",
            },
            "to",
        ),
        (
            {
                "technique": "sports-massage",
                "duration": 60,
                "from": "2027-03-22",
                "to": "2027-09-01",
            },
            "to",
        ),
        (
            {
                "technique": "sports-massage",
                "duration": 60,
                "from": "2027-03-22",
                "to": "2027-03-22",
                "therapist": 999,
            },
            "therapist",
        ),
        ({"duration": 60, "from": "2027-03-22", "to": "2027-03-22"}, "technique"),
    ],
)
def test_bad_parameters_get_422_naming_the_parameter(clinic, client, params, problem):
    response = client.get("/api/v1/slots", query_string=params)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_parameters" and problem in body["problems"]


def test_techniques_and_therapists_api(clinic, client):
    techniques = client.get("/api/v1/techniques").get_json()
    assert [t["slug"] for t in techniques][:2] == ["sports-massage", "trigger-point-therapy"]
    assert techniques[0]["durations"] == [60, 90] and techniques[0]["prices"] == [65000, 92500]
    therapists = client.get("/api/v1/therapists?technique=trigger-point-therapy").get_json()
    assert [t["name"] for t in therapists] == ["Anna Holm", "Clara Nørgaard"]
    everyone = client.get("/api/v1/therapists").get_json()
    david = next(t for t in everyone if t["name"] == "David Skov")
    assert david["techniques"] == ["sports-massage", "myofascial-release"]
    assert client.get("/api/v1/therapists?technique=nope").status_code == 422


def test_the_book_page_groups_by_day_and_therapist_in_clinic_time(clinic, client):
    html = client.get(
        "/book?technique=trigger-point-therapy&duration=30&start=2027-03-22"
    ).get_data(as_text=True)
    assert "Europe/Copenhagen (CET)" in html
    assert "Monday 22 March 2027" in html and "Friday 26 March 2027" in html
    assert "Sunday 28 March 2027" not in html  # nobody works on Sundays
    monday = html[html.index("Monday 22 March 2027") : html.index("Tuesday 23 March 2027")]
    assert "Anna Holm" in monday and "Clara" not in monday
    assert ">09:00</time>" in monday and ">11:30</time>" in monday and ">11:45</time>" not in monday
    assert "<script>" not in html  # works without JavaScript: plain links and a GET form
    assert "start=2027-04-05" in html  # the next two weeks


def test_any_therapist_lists_each_time_once_with_whoever_is_freest_that_day(clinic, client):
    found = ids(clinic)
    anna, david = found["anna"], found["david"]

    def monday_page() -> dict[str, int]:
        """Monday's times on the page with any therapist: clock -> the therapist it books."""
        html = client.get("/book?technique=sports-massage&duration=60&start=2027-03-22").get_data(
            as_text=True
        )
        monday = html[html.index("Monday 22 March 2027") : html.index("Tuesday 23 March 2027")]
        assert "<h3" not in monday
        links = re.findall(r'href="([^"]+)"><time datetime="[^"]+">(\d\d:\d\d)</time>', monday)
        clocks = [clock for _, clock in links]
        assert clocks == sorted(set(clocks))  # each time once, in order
        query = (parse_qs(urlsplit(html_module.unescape(href)).query) for href, _ in links)
        return {clock: int(q["therapist"][0]) for (_, clock), q in zip(links, query, strict=True)}

    def check() -> int:
        answer = slots(client)
        free = {tid: set(starts_of(answer, tid)) for tid in (anna, david)}
        assert {s["therapist_id"] for s in answer["slots"]} == {anna, david}
        freer = max((anna, david), key=lambda tid: (len(free[tid]), -tid))
        page = monday_page()
        assert set(page) == free[anna] | free[david]
        shared = free[anna] & free[david]
        assert shared, "no shared time to choose for"
        assert {page[clock] for clock in shared} == {freer}
        assert all(clock in free[tid] for clock, tid in page.items())
        return freer

    freer = check()
    # Book the freer one's times away until the other has more: the shared times follow.
    for hhmm in ("09:00", "14:00", "10:30", "15:30"):
        add_booking(clinic, freer, local(MONDAY, hhmm))
        if check() != freer:
            break
    assert check() != freer


def test_each_time_on_the_book_page_links_where_url_for_would(app, clinic, client):
    # The page builds its links without routing each one (views.confirm_links); they must be
    # the very addresses url_for gives, offsets quoted, for every time listed.
    html = client.get(
        "/book?technique=trigger-point-therapy&duration=30&start=2027-03-22"
    ).get_data(as_text=True)
    links = [
        html_module.unescape(h)
        for h in re.findall(r'class="btn btn-sm btn-outline-primary slot" href="([^"]+)"', html)
    ]
    assert len(links) > 20
    with app.test_request_context():
        for link in links:
            query = parse_qs(urlsplit(link).query)
            assert link == url_for(
                "booking.confirm",
                technique="trigger-point-therapy",
                duration=30,
                therapist=int(query["therapist"][0]),
                start=query["start"][0],
            )
            assert "%2B" in link and "+" not in link


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("technique=reiki", "We do not offer that technique"),
        ("technique=sports-massage&duration=45", "comes in 60, 90 minutes"),
        ("technique=sports-massage&start=yesterday", "could not be read"),
        ("technique=sports-massage&start=2027-01-01", "That date has passed"),
        ("technique=sports-massage&start=2028-01-01", "up to 90 days ahead"),
        ("technique=classic-massage&therapist=1", "does not offer this technique"),
    ],
)
def test_the_book_page_explains_what_it_could_not_use(clinic, client, query, note):
    html = client.get(f"/book?{query}").get_data(as_text=True)
    assert note in html
    assert "Times are in the clinic" in html  # and still shows times


@pytest.mark.parametrize("path", ["/api/v1/slots", "/book"])
def test_queries_do_not_grow_with_the_range_or_the_therapists(clinic, client, make_therapist, path):
    def fetch(days: int) -> list[str]:
        last = MONDAY + timedelta(days=days - 1)
        params = {
            "technique": "sports-massage",
            "duration": 60,
            "from": MONDAY,
            "to": last,
            "start": MONDAY,
        }
        with count_queries(clinic) as statements:
            assert client.get(path, query_string=params).status_code == 200
        return statements

    one_day = fetch(1)
    for n in range(5):
        t = make_therapist("sports-massage", email=f"extra{n}@example.com")
        with clinic.app_context():
            db.session.add_all(
                WorkingHours(therapist_id=t.id, weekday=d, start_time=time(9), end_time=time(17))
                for d in range(5)
            )
            db.session.commit()
    four_weeks = fetch(28)
    assert len(four_weeks) == len(one_day) <= 9, four_weeks


def test_a_therapists_name_on_the_book_page_is_text_not_markup(clinic, client, db_session):
    anna = db_session.scalar(select(User).where(User.name == "Anna Holm"))
    anna.name = 'Anna <b onmouseover="x()">& Co\'s'
    db_session.commit()
    her = db_session.scalar(select(Therapist.id).where(Therapist.user_id == anna.id))
    # Her own times, under her name as a heading, then with any therapist (no headings).
    html = client.get(
        f"/book?technique=sports-massage&duration=60&start=2027-03-22&therapist={her}"
    ).get_data(as_text=True)
    assert "<b onmouseover" not in html
    assert '<h3 class="h6 mb-1">Anna &lt;b onmouseover=&#34;x()&#34;&gt;&amp; Co&#39;s</h3>' in html
    # Each time's hidden label ("with ...", for screen readers) reads the name, escaped once.
    labels = re.findall(r'<span class="visually-hidden">([^<]*)</span></a></li>', html)
    assert len(labels) > 20
    assert {html_module.unescape(label) for label in labels} == {f" with {anna.name}"}
    times = re.findall(r'<time datetime="([^"]+)">(\d\d:\d\d)</time>', html)
    assert len(times) == len(labels)
    html = client.get("/book?technique=sports-massage&duration=60&start=2027-03-22").get_data(
        as_text=True
    )
    assert "<b onmouseover" not in html and "<h3" not in html
    labels = re.findall(r'<span class="visually-hidden">([^<]*)</span></a></li>', html)
    assert len(labels) > 20
    times = re.findall(r'<time datetime="([^"]+)">(\d\d:\d\d)</time>', html)
    assert len(times) == len(labels)
