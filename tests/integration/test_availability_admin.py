"""Working hours, time off, clinic policies and rooms: what is stored, what is refused, who may.

The clock is frozen where dates matter, so the DST days of 2027 stay in the future.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from clinic import clock
from clinic.audit.models import AuditEntry
from clinic.auth.models import Role, User
from clinic.catalog.models import Room, Therapist
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy, TimeOff, WorkingHours
from tests.support import count_queries, login, post_form

DEMO_PASSWORD = "demo-password"
ANNA = "anna@lindring.example"
ADMIN = "admin@lindring.example"
# Anna's demo week: Mon-Fri 09:00-12:00 and 12:30-17:00.
ANNA_WEEK = [(d, "09:00", "12:00") for d in range(5)] + [(d, "12:30", "17:00") for d in range(5)]
ANNA_WEEK.sort()


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def freeze(monkeypatch):
    """Set the app's clock to an instant (aware, UTC)."""

    def set_clock(at: datetime) -> None:
        monkeypatch.setattr(clock, "utcnow", lambda: at)

    return set_clock


def week(**intervals: tuple[str, str]) -> dict[str, str]:
    """Every field of the hours form, blank unless given: week(d0_1=("09:00", "12:00"))."""
    data = {f"d{d}_{n}_{end}": "" for d in range(7) for n in (1, 2, 3) for end in ("start", "end")}
    for key, (start, end) in intervals.items():
        data[f"{key}_start"], data[f"{key}_end"] = start, end
    return data


def error_beside(html: str, field_id: str) -> str | None:
    """The error message rendered next to a field, or None."""
    found = re.search(rf'<div id="{re.escape(field_id)}-error"[^>]*>(.*?)</div>', html, re.S)
    return unescape(found.group(1)).strip() if found else None


def therapist_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Therapist.id).join(Therapist.user).where(User.email == email)
        )


def stored_hours(app, tid: int) -> list[tuple[int, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(WorkingHours).where(WorkingHours.therapist_id == tid))
        return sorted((r.weekday, f"{r.start_time:%H:%M}", f"{r.end_time:%H:%M}") for r in rows)


def stored_time_off(app, tid: int) -> list[tuple[datetime, datetime, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(TimeOff).where(TimeOff.therapist_id == tid).order_by(TimeOff.starts_at)
        )
        return [(r.starts_at, r.ends_at, r.reason) for r in rows]


def audit_actions(app) -> list[tuple[str, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id).order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


def preview_of(html: str, day: str) -> str:
    """The text the preview shows for one local day (YYYY-MM-DD)."""
    found = re.search(rf'id="preview-{day}">(.*?)</li>', html, re.S)
    assert found, f"no preview for {day}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def _times(start: str, end: str) -> dict[str, time]:
    return {"start_time": time.fromisoformat(start), "end_time": time.fromisoformat(end)}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- working hours ----------------------------------------------------------------------------


def test_saving_hours_with_a_break_stores_exactly_those_rows(app, client, make_therapist):
    therapist = make_therapist(email="t@example.com")
    with app.app_context():
        db.session.add(
            WorkingHours(therapist_id=therapist.id, weekday=4, **_times("08:00", "10:00"))
        )
        db.session.commit()
    login(client, "t@example.com")
    response = post_form(
        client,
        "/therapist/hours",
        week(d0_1=("09:00", "12:00"), d0_2=("13:00", "17:00"), d2_1=("10:00", "14:00")),
    )
    assert response.status_code == 302
    # Friday's old interval is gone; Monday has its break.
    assert stored_hours(app, therapist.id) == [
        (0, "09:00", "12:00"),
        (0, "13:00", "17:00"),
        (2, "10:00", "14:00"),
    ]
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "t@example.com"))
    assert ("working_hours.replaced", user_id) in audit_actions(app)
    page = client.get("/therapist/hours").get_data(as_text=True)
    assert 'id="d0_2_start" name="d0_2_start" type="time" value="13:00"' in page


@pytest.mark.parametrize(
    ("intervals", "field_id", "message", "kept"),
    [
        # the second Monday interval starts inside the first
        (
            {"d0_1": ("09:00", "12:00"), "d0_2": ("11:00", "13:00")},
            "d0_2_start",
            "Overlaps interval 1 (09:00\u201312:00) of the same day.",
            "11:00",
        ),
        # one interval inside another, listed first
        (
            {"d3_1": ("10:00", "11:00"), "d3_2": ("08:00", "17:00")},
            "d3_2_start",
            "Overlaps interval 1",
            "08:00",
        ),
        # start after end on Tuesday
        ({"d1_1": ("14:00", "10:00")}, "d1_1_end", "The end must be after the start", "10:00"),
        # start equal to end is no interval either
        ({"d1_1": ("10:00", "10:00")}, "d1_1_end", "The end must be after the start", "10:00"),
        # a start without an end
        ({"d2_1": ("09:00", "")}, "d2_1_end", "Give an end time too", "09:00"),
        # an end without a start
        ({"d6_3": ("", "15:00")}, "d6_3_start", "Give a start time too", "15:00"),
        # not a time at all
        ({"d4_1": ("25:00", "26:00")}, "d4_1_start", "Enter a time as HH:MM", "25:00"),
    ],
)
def test_bad_hours_are_refused_beside_the_field_and_change_nothing(
    app, client, demo, intervals, field_id, message, kept
):
    anna = therapist_id(app, ANNA)
    login(client, ANNA, DEMO_PASSWORD)
    response = post_form(client, "/therapist/hours", week(**intervals))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    error = error_beside(html, field_id)
    assert error is not None and message in error, (field_id, error)
    assert f'value="{kept}"' in html  # what was typed stays
    assert 'id="form-errors"' in html
    assert stored_hours(app, anna) == ANNA_WEEK
    assert not [a for a, _ in audit_actions(app) if a.startswith("working_hours")]


def test_the_preview_shows_the_break_and_hides_a_day_off(app, client, demo, freeze):
    freeze(utc(2027, 3, 22, 8, 0))  # Monday 22 March 2027, 09:00 CET
    login(client, ANNA, DEMO_PASSWORD)
    post_form(client, "/therapist/time-off", {"kind": "days", "first_day": "2027-03-24"})
    post_form(
        client,
        "/therapist/time-off",
        {"kind": "hours", "day": "2027-03-25", "start": "10:00", "end": "11:00"},
    )
    html = client.get("/therapist/hours").get_data(as_text=True)
    assert preview_of(html, "2027-03-22").endswith("09:00\u201312:00 CET, 12:30\u201317:00 CET")
    assert preview_of(html, "2027-03-24") == "Wednesday 24 March 2027 Time off"
    assert preview_of(html, "2027-03-25").endswith(
        "09:00\u201310:00 CET, 11:00\u201312:00 CET, 12:30\u201317:00 CET"
    )
    assert preview_of(html, "2027-03-27").endswith("Not working")  # a Saturday
    # After the clocks went forward the same wall-clock hours are summer time.
    assert preview_of(html, "2027-03-29").endswith("09:00\u201312:00 CEST, 12:30\u201317:00 CEST")
    assert 'id="preview-2027-04-04"' in html and 'id="preview-2027-04-05"' not in html  # 14 days


@pytest.mark.parametrize("who", ["anna herself", "an admin"])
def test_the_hours_page_runs_a_fixed_number_of_statements(app, client, demo, freeze, who):
    freeze(utc(2027, 3, 22, 8, 0))
    anna = therapist_id(app, ANNA)
    if who == "an admin":
        login(client, ADMIN, DEMO_PASSWORD)
        path = f"/admin/therapists/{anna}/hours"
    else:
        login(client, ANNA, DEMO_PASSWORD)
        path = "/therapist/hours"
    with count_queries(app) as few:
        assert client.get(path).status_code == 200
    with app.app_context():
        for n in range(12):
            start = utc(2027, 3, 23, 8) + timedelta(days=n)
            db.session.add(
                TimeOff(therapist_id=anna, starts_at=start, ends_at=start + timedelta(hours=1))
            )
        for day in (5, 6):
            db.session.add(WorkingHours(therapist_id=anna, weekday=day, **_times("09:00", "11:00")))
            db.session.add(WorkingHours(therapist_id=anna, weekday=day, **_times("12:00", "15:00")))
        db.session.commit()
    with count_queries(app) as many:
        html = client.get(path).get_data(as_text=True)
    # the new rows are shown: Saturday's hours minus 09:00-10:00 off
    assert preview_of(html, "2027-03-27").endswith("10:00\u201311:00 CET, 12:00\u201315:00 CET")
    # the login's user, the therapist, the week's hours, the fortnight's time off
    assert len(few) == len(many) == 4, many


# --- time off ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "starts", "ends", "hours"),
    [
        # spring forward: 02:00 becomes 03:00, the day has 23 hours
        ({"first_day": "2027-03-28"}, utc(2027, 3, 27, 23), utc(2027, 3, 28, 22), 23),
        # fall back: 03:00 becomes 02:00, the day has 25 hours
        ({"first_day": "2027-10-31"}, utc(2027, 10, 30, 22), utc(2027, 10, 31, 23), 25),
        # an ordinary summer day
        ({"first_day": "2027-06-15"}, utc(2027, 6, 14, 22), utc(2027, 6, 15, 22), 24),
        # two days across spring forward, last day given
        (
            {"first_day": "2027-03-27", "last_day": "2027-03-28"},
            utc(2027, 3, 26, 23),
            utc(2027, 3, 28, 22),
            47,
        ),
    ],
)
def test_whole_days_run_from_local_midnight_to_local_midnight(
    app, client, demo, freeze, form, starts, ends, hours
):
    freeze(utc(2027, 3, 1, 12))
    login(client, ANNA, DEMO_PASSWORD)
    response = post_form(
        client, "/therapist/time-off", {"kind": "days", "reason": "Holiday", **form}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    [(stored_start, stored_end, reason)] = stored_time_off(app, therapist_id(app, ANNA))
    assert (stored_start, stored_end, reason) == (starts, ends, "Holiday")
    assert stored_end - stored_start == timedelta(hours=hours)
    assert "time_off.added" in [a for a, _ in audit_actions(app)]
    listed = client.get("/therapist/time-off").get_data(as_text=True)
    assert "Holiday" in listed


def test_hours_of_one_day_are_stored_in_utc(app, client, demo, freeze):
    freeze(utc(2027, 3, 1, 12))
    login(client, ANNA, DEMO_PASSWORD)
    post_form(
        client,
        "/therapist/time-off",
        {
            "kind": "hours",
            "day": "2027-07-01",
            "start": "14:00",
            "end": "15:30",
            "reason": "Dentist",
        },
    )
    assert stored_time_off(app, therapist_id(app, ANNA)) == [
        (utc(2027, 7, 1, 12), utc(2027, 7, 1, 13, 30), "Dentist")
    ]


@pytest.mark.parametrize(
    ("form", "field_id", "message"),
    [
        # yesterday, whole day: over
        ({"kind": "days", "first_day": "2027-03-21"}, "first_day", "already over"),
        # a range that ended yesterday
        (
            {"kind": "days", "first_day": "2027-03-10", "last_day": "2027-03-21"},
            "last_day",
            "already over",
        ),
        # this morning, before now (09:00 CET)
        (
            {"kind": "hours", "day": "2027-03-22", "start": "07:00", "end": "08:00"},
            "end",
            "already over",
        ),
        # last day before the first
        (
            {"kind": "days", "first_day": "2027-04-10", "last_day": "2027-04-09"},
            "last_day",
            "cannot be before the first day",
        ),
        # end before start
        (
            {"kind": "hours", "day": "2027-04-10", "start": "11:00", "end": "10:00"},
            "end",
            "The end must be after the start",
        ),
        # the hour skipped when the clocks go forward
        (
            {"kind": "hours", "day": "2027-03-28", "start": "01:30", "end": "02:30"},
            "end",
            "02:30 does not exist on 28 March 2027",
        ),
        # hours without a day
        ({"kind": "hours", "start": "10:00", "end": "11:00"}, "day", "Give the day."),
        # no day at all
        ({"kind": "days"}, "first_day", "Give the first day."),
        # absurdly far ahead
        ({"kind": "days", "first_day": "2090-01-01"}, "first_day", "within the next five years"),
    ],
)
def test_bad_time_off_is_refused_beside_the_field(
    app, client, demo, freeze, form, field_id, message
):
    freeze(utc(2027, 3, 22, 8, 0))  # Monday 22 March 2027, 09:00 CET
    login(client, ANNA, DEMO_PASSWORD)
    response = post_form(client, "/therapist/time-off", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    error = error_beside(html, field_id)
    assert error is not None and message in error, (field_id, error)
    assert stored_time_off(app, therapist_id(app, ANNA)) == []


def test_time_off_today_that_is_not_over_yet_is_accepted(app, client, demo, freeze):
    freeze(utc(2027, 3, 22, 8, 0))
    login(client, ANNA, DEMO_PASSWORD)
    response = post_form(client, "/therapist/time-off", {"kind": "days", "first_day": "2027-03-22"})
    assert response.status_code == 302
    assert len(stored_time_off(app, therapist_id(app, ANNA))) == 1


def test_fields_of_the_other_kind_are_ignored(app, client, demo, freeze):
    freeze(utc(2027, 3, 22, 8, 0))
    login(client, ANNA, DEMO_PASSWORD)
    response = post_form(
        client,
        "/therapist/time-off",
        {"kind": "days", "first_day": "2027-04-01", "day": "nonsense", "start": "99:99"},
    )
    assert response.status_code == 302
    assert len(stored_time_off(app, therapist_id(app, ANNA))) == 1


def _add_time_off(app, tid: int, reason: str) -> int:
    with app.app_context():
        row = TimeOff(
            therapist_id=tid,
            starts_at=clock.utcnow() + timedelta(days=3),
            ends_at=clock.utcnow() + timedelta(days=4),
            reason=reason,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_a_therapist_deletes_only_their_own_time_off(app, client, make_therapist):
    x = make_therapist(email="x@example.com")
    y = make_therapist(email="y@example.com")
    theirs = _add_time_off(app, x.id, "Holiday of X")
    mine = _add_time_off(app, y.id, "Course of Y")
    login(client, "y@example.com")
    page = client.get("/therapist/time-off").get_data(as_text=True)
    assert "Course of Y" in page and "Holiday of X" not in page

    response = post_form(
        client, f"/therapist/time-off/{theirs}/delete", {}, page="/therapist/time-off"
    )
    assert response.status_code == 404
    assert [r for _, _, r in stored_time_off(app, x.id)] == ["Holiday of X"]

    response = post_form(
        client, f"/therapist/time-off/{mine}/delete", {}, page="/therapist/time-off"
    )
    assert response.status_code == 302
    assert stored_time_off(app, y.id) == []
    assert "time_off.deleted" in [a for a, _ in audit_actions(app)]


def test_an_admin_cannot_delete_time_off_through_another_therapists_address(
    app, client, demo, make_therapist
):
    x = make_therapist(email="x@example.com")
    y = make_therapist(email="y@example.com")
    theirs = _add_time_off(app, x.id, "Holiday of X")
    login(client, ADMIN, DEMO_PASSWORD)
    page = f"/admin/therapists/{y.id}/time-off"
    response = post_form(client, f"{page}/{theirs}/delete", {}, page=page)
    assert response.status_code == 404
    assert len(stored_time_off(app, x.id)) == 1
    response = post_form(
        client, f"/admin/therapists/{x.id}/time-off/{theirs}/delete", {}, page=page
    )
    assert response.status_code == 302
    assert stored_time_off(app, x.id) == []


# --- who may --------------------------------------------------------------------------------

THERAPIST_PAGES = ["/therapist/hours", "/therapist/time-off"]
ADMIN_PAGES = [
    "/admin/policies",
    "/admin/rooms",
    "/admin/therapists",
    "/admin/therapists/{tid}/hours",
    "/admin/therapists/{tid}/time-off",
]


@pytest.mark.parametrize("path", THERAPIST_PAGES + ADMIN_PAGES)
def test_clients_are_refused_and_anonymous_visitors_sent_to_log_in(
    app, client, make_user, make_therapist, path
):
    path = path.format(tid=make_therapist().id)
    anonymous = client.get(path)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=")
    make_user(Role.CLIENT, email="c@example.com")
    login(client, "c@example.com")
    refused = client.get(path)
    assert refused.status_code == 403 and "Not for you" in refused.get_data(as_text=True)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_therapists_are_refused_the_admin_pages(app, client, make_therapist, path):
    tid = make_therapist(email="t@example.com").id
    login(client, "t@example.com")
    assert client.get(path.format(tid=tid)).status_code == 403


def test_an_admin_therapist_page_for_nobody_is_not_found(client, demo):
    login(client, ADMIN, DEMO_PASSWORD)
    assert client.get("/admin/therapists/9999/hours").status_code == 404
    assert client.get("/admin/therapists/9999/time-off").status_code == 404


def test_nav_offers_my_hours_to_therapists_only(app, make_user, make_therapist):
    make_therapist(email="t@example.com")
    make_user(Role.CLIENT, email="c@example.com")
    therapist, client = app.test_client(), app.test_client()
    login(therapist, "t@example.com")
    login(client, "c@example.com")
    assert ">My hours<" in therapist.get("/").get_data(as_text=True)
    assert "My hours" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/therapist/hours", week(d0_1=("09:00", "10:00"))),
        ("/therapist/time-off", {"kind": "days", "first_day": "2027-06-01"}),
    ],
)
def test_a_post_without_csrf_token_is_refused_and_stores_nothing(
    app, client, demo, freeze, path, data
):
    freeze(utc(2027, 3, 22, 8, 0))
    login(client, ANNA, DEMO_PASSWORD)
    response = client.post(path, data=data)
    assert response.status_code == 400
    anna = therapist_id(app, ANNA)
    assert stored_hours(app, anna) == ANNA_WEEK
    assert stored_time_off(app, anna) == []


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/policies", {"granularity_minutes": "30", "buffer_minutes": "0"}),
        ("/admin/rooms", {"name": "Room 9"}),
        ("/admin/rooms/1/deactivate", {}),
    ],
)
def test_admin_posts_without_csrf_token_are_refused(app, client, demo, path, data):
    login(client, ADMIN, DEMO_PASSWORD)
    assert client.post(path, data=data).status_code == 400
    with app.app_context():
        assert ClinicPolicy.current().granularity_minutes == 15
        assert db.session.scalar(select(func.count()).select_from(Room).where(Room.active)) == 3
        assert db.session.scalar(select(func.count()).select_from(Room)) == 3


# --- admins: a therapist's hours, policies, rooms ---------------------------------------------


def test_an_admin_edits_a_therapists_hours_and_time_off(app, client, demo, freeze):
    freeze(utc(2027, 3, 22, 8, 0))
    anna = therapist_id(app, ANNA)
    login(client, ADMIN, DEMO_PASSWORD)
    listing = client.get("/admin/therapists").get_data(as_text=True)
    assert f"/admin/therapists/{anna}/hours" in listing and "Anna Holm" in listing
    page = client.get(f"/admin/therapists/{anna}/hours").get_data(as_text=True)
    assert "Working hours of Anna Holm" in page and 'value="12:30"' in page
    response = post_form(client, f"/admin/therapists/{anna}/hours", week(d5_1=("10:00", "14:00")))
    assert response.status_code == 302
    assert stored_hours(app, anna) == [(5, "10:00", "14:00")]
    response = post_form(
        client, f"/admin/therapists/{anna}/time-off", {"kind": "days", "first_day": "2027-04-02"}
    )
    assert response.status_code == 302
    assert stored_time_off(app, anna)[0][0] == utc(2027, 4, 1, 22)
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.email == ADMIN))
    assert ("working_hours.replaced", admin_id) in audit_actions(app)
    assert ("time_off.added", admin_id) in audit_actions(app)


POLICY = {
    "granularity_minutes": "30",
    "buffer_minutes": "10",
    "min_notice_minutes": "1440",
    "horizon_days": "60",
    "cancellation_cutoff_hours": "48",
}


def test_an_admin_saves_the_policies_creating_the_row_if_missing(app, client, make_user):
    make_user(Role.ADMIN, email="boss@example.com")
    login(client, "boss@example.com")
    assert "No policies are stored yet" in client.get("/admin/policies").get_data(as_text=True)
    response = post_form(client, "/admin/policies", POLICY)
    assert response.status_code == 302
    with app.app_context():
        policy = db.session.get(ClinicPolicy, 1)
        stored = {name: getattr(policy, name) for name in POLICY}
    assert stored == {name: int(value) for name, value in POLICY.items()}
    assert "policy.updated" in [a for a, _ in audit_actions(app)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("granularity_minutes", "7"),  # not on the list
        ("granularity_minutes", "0"),
        ("buffer_minutes", "121"),
        ("buffer_minutes", "-1"),
        ("min_notice_minutes", "10081"),
        ("horizon_days", "0"),
        ("horizon_days", "366"),
        ("cancellation_cutoff_hours", "169"),
        ("cancellation_cutoff_hours", "2.5"),  # whole numbers only
        ("buffer_minutes", ""),  # required
    ],
)
def test_out_of_range_policies_are_refused(app, client, demo, field, value):
    login(client, ADMIN, DEMO_PASSWORD)
    response = post_form(client, "/admin/policies", {**POLICY, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert error_beside(html, field), field
    with app.app_context():
        policy = db.session.get(ClinicPolicy, 1)
        assert (policy.granularity_minutes, policy.buffer_minutes, policy.horizon_days) == (
            15,
            15,
            90,
        )
    assert "policy.updated" not in [a for a, _ in audit_actions(app)]


def room_table(app) -> dict[str, bool]:
    with app.app_context():
        return {r.name: r.active for r in db.session.scalars(select(Room))}


def test_rooms_are_added_renamed_deactivated_and_reactivated(app, client, demo):
    login(client, ADMIN, DEMO_PASSWORD)
    assert post_form(client, "/admin/rooms", {"name": "  Quiet   room "}).status_code == 302
    assert room_table(app)["Quiet room"] is True
    with app.app_context():
        quiet = db.session.scalar(select(Room.id).where(Room.name == "Quiet room"))
    response = post_form(
        client,
        f"/admin/rooms/{quiet}/rename",
        {f"room-{quiet}-name": "Garden room"},
        page="/admin/rooms",
    )
    assert response.status_code == 302
    assert "Garden room" in room_table(app) and "Quiet room" not in room_table(app)
    response = post_form(client, f"/admin/rooms/{quiet}/deactivate", {}, page="/admin/rooms")
    assert response.status_code == 302 and room_table(app)["Garden room"] is False
    assert "Reactivate" in client.get("/admin/rooms").get_data(as_text=True)
    post_form(client, f"/admin/rooms/{quiet}/reactivate", {}, page="/admin/rooms")
    assert room_table(app)["Garden room"] is True
    actions = [a for a, _ in audit_actions(app)]
    for action in ("room.added", "room.renamed", "room.deactivated", "room.reactivated"):
        assert action in actions


@pytest.mark.parametrize(
    "name",
    [
        "room 1",  # the demo's "Room 1", in other case
        "ROOM 2",
        " Room  3 ",  # spaces do not make a new name
    ],
)
def test_a_new_room_name_is_unique_regardless_of_case(app, client, demo, name):
    login(client, ADMIN, DEMO_PASSWORD)
    response = post_form(client, "/admin/rooms", {"name": name})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is already a room called" in (error_beside(html, "name") or "")
    assert f'value="{name.strip()}"' in html or f'value="{" ".join(name.split())}"' in html
    assert len(room_table(app)) == 3


def test_renaming_to_another_rooms_name_is_refused_but_recasing_its_own_is_not(app, client, demo):
    login(client, ADMIN, DEMO_PASSWORD)
    assert post_form(client, "/admin/rooms", {"name": "Rum Ø"}).status_code == 302
    # Not only ASCII: 'ø' and 'Ø' are the same letter.
    response = post_form(client, "/admin/rooms", {"name": "rum ø"})
    assert response.status_code == 200 and len(room_table(app)) == 4
    with app.app_context():
        two = db.session.scalar(select(Room.id).where(Room.name == "Room 2"))
    response = post_form(
        client, f"/admin/rooms/{two}/rename", {f"room-{two}-name": "room 1"}, page="/admin/rooms"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is already a room called" in (error_beside(html, f"room-{two}-name") or "")
    assert 'value="room 1"' in html
    assert "Room 2" in room_table(app)
    response = post_form(
        client, f"/admin/rooms/{two}/rename", {f"room-{two}-name": "ROOM 2"}, page="/admin/rooms"
    )
    assert response.status_code == 302 and "ROOM 2" in room_table(app)
