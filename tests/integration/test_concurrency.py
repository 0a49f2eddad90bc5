"""The no-double-booking guarantee under real concurrency (DESIGN.md, issue 5).

The app runs under gunicorn with 4 worker processes of 4 threads each, on the test database
(SQLite, or PostgreSQL when TEST_DATABASE_URL is set), with the real clock. Many clients, each
logged in with their own account, send their booking at the same moment (threads released by a
barrier, connections opened beforehand). The database must let exactly one through; everyone
else gets a clean 409, never a 5xx; and the tables must hold exactly the winner's booking and
claims.

Select these tests with `pytest tests/integration/test_concurrency.py` (or `-k concurrency`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from clinic import clock
from clinic.booking import operations
from clinic.booking.models import LIVE, Booking, BookingStatus, TimeClaim
from clinic.catalog.models import Room
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from tests.concurrency_support import (
    Account,
    ApiChannel,
    Channel,
    FormChannel,
    Outcome,
    Server,
    Slot,
    book_together,
    fire_together,
    free_slots,
    make_clients,
    reschedule_call,
    reschedule_outcome,
    therapist_ids,
)

pytestmark = pytest.mark.concurrency

TIMEZONE = "Europe/Copenhagen"
RACERS = 50


# --- the server and the clients -------------------------------------------------------------


def has_booking_api(app: Flask) -> bool:
    return any(
        rule.rule == "/api/v1/bookings" and "POST" in (rule.methods or ())
        for rule in app.url_map.iter_rules()
    )


@pytest.fixture(params=["api", "html"])
def channel(request: pytest.FixtureRequest, app: Flask) -> Channel:
    """Each race runs twice: through the JSON API and through the HTML form."""
    if request.param == "html":
        return FormChannel()
    if not has_booking_api(app):
        pytest.skip("POST /api/v1/bookings is not there yet (clinic/api/bookings.py)")
    return ApiChannel()


def ready_clients(
    app: Flask, server: Server, channel: Channel, count: int, prefix: str = "racer"
) -> list[Account]:
    accounts = make_clients(app, count, prefix)
    for account in accounts:
        channel.log_in(server, account)
    return accounts


# --- finding times ----------------------------------------------------------------------------


def target_days() -> tuple[date, date]:
    """A week starting a few days ahead: past the 24 h cut-off, well inside the horizon."""
    first = clock.local_today(TIMEZONE) + timedelta(days=3)
    return first, first + timedelta(days=6)


def first_free(server: Server, technique: str, duration: int, therapist: str) -> Slot:
    first, last = target_days()
    tid = therapist_ids(server)[therapist]
    found = free_slots(server, technique, duration, first, last, tid)
    assert found, f"{therapist} has no free {technique} between {first} and {last}"
    return found[0]


def spaced(slots: Sequence[Slot], count: int, gap: timedelta = timedelta(minutes=90)) -> list[Slot]:
    """Up to `count` of `slots` at least `gap` apart, so one therapist can hold them all."""
    chosen: list[Slot] = []
    for slot in slots:
        if not chosen or slot.start - chosen[-1].start >= gap:
            chosen.append(slot)
    return chosen[:count]


# --- reading the tables -----------------------------------------------------------------------


def live_bookings(app: Flask, **where: object) -> list[Booking]:
    with app.app_context():
        query = select(Booking).where(Booking.status.in_(LIVE)).order_by(Booking.id)
        for name, value in where.items():
            query = query.where(getattr(Booking, name) == value)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
        return found


def booking_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Booking)) or 0


def claims(app: Flask) -> set[tuple[str, int, object, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(
                TimeClaim.kind, TimeClaim.resource_id, TimeClaim.block_start, TimeClaim.booking_id
            )
        )
        return {tuple(row) for row in rows}


def expected_claims(app: Flask, bookings: Sequence[Booking]) -> set[tuple[str, int, object, int]]:
    """Every 5-minute block of session plus buffer, for therapist and room, of each booking."""
    with app.app_context():
        buffer = timedelta(minutes=ClinicPolicy.current().buffer_minutes)
    found = set()
    for b in bookings:
        for block in operations.claim_blocks(b.starts_at, b.ends_at + buffer):
            found.add(("therapist", b.therapist_id, block, b.id))
            found.add(("room", b.room_id, block, b.id))
    return found


def summary(outcomes: Sequence[Outcome]) -> str:
    """The answers that were neither a booking nor a clean refusal, for failure messages."""
    odd = [o.answer.describe() for o in outcomes if o.kind == "other"]
    return f"{Counter(o.kind for o in outcomes)}; unexpected answers: {odd[:5]}"


def assert_no_server_errors(outcomes: Sequence[Outcome]) -> None:
    statuses = Counter(o.answer.status for o in outcomes)
    errors = sum(n for status, n in statuses.items() if status >= 500)
    # The server's log, summarised, follows in this test's teardown.
    assert not errors, f"{errors} answers were 5xx; all answers by status: {dict(statuses)}"


# --- the tests ----------------------------------------------------------------------------


def test_concurrency_fifty_clients_one_slot_one_booking(
    app: Flask, demo: None, quiet_server: Server, channel: Channel
) -> None:
    slot = first_free(quiet_server, "sports-massage", 60, "anna")
    accounts = ready_clients(app, quiet_server, channel, RACERS)

    outcomes = book_together(quiet_server, channel, [(a, slot) for a in accounts])

    assert_no_server_errors(outcomes)
    kinds = Counter(o.kind for o in outcomes)
    assert kinds == {"booked": 1, "taken": RACERS - 1}, summary(outcomes)
    (winner,) = [o for o in outcomes if o.kind == "booked"]
    if channel.name == "api":
        assert {o.answer.json()["error"] for o in outcomes if o.kind == "taken"} == {
            "slot_unavailable"
        }
    live = live_bookings(app, therapist_id=slot.therapist_id)
    assert [b.id for b in live] == [winner.booking_id]
    assert live[0].starts_at == slot.start
    assert live[0].client_id in {a.user_id for a in accounts}
    assert live[0].status is BookingStatus.CONFIRMED
    assert booking_count(app) == 1, "a loser left a booking row behind"
    assert claims(app) == expected_claims(app, live)
    # 60 minutes and the 15-minute buffer are 15 blocks, for the therapist and for the room.
    assert len(claims(app)) == 30


def test_concurrency_cancel_then_the_slot_is_booked_again(
    app: Flask, demo: None, quiet_server: Server, channel: Channel
) -> None:
    slot = first_free(quiet_server, "classic-massage", 30, "bo")
    first, *racers = ready_clients(app, quiet_server, channel, 1 + 20)
    (booked,) = book_together(quiet_server, channel, [(first, slot)])
    assert booked.kind == "booked", booked.answer.describe()

    cancelled = channel.cancel(quiet_server, first, booked.booking_id)
    assert cancelled.status in (200, 302), cancelled.describe()
    assert live_bookings(app) == []
    assert claims(app) == set(), "cancelling must release every block"

    outcomes = book_together(quiet_server, channel, [(a, slot) for a in racers])

    assert_no_server_errors(outcomes)
    assert Counter(o.kind for o in outcomes) == {"booked": 1, "taken": 19}, summary(outcomes)
    (winner,) = [o.booking_id for o in outcomes if o.kind == "booked"]
    live = live_bookings(app)
    assert [b.id for b in live] == [winner]
    assert winner != booked.booking_id
    assert claims(app) == expected_claims(app, live)
    with app.app_context():
        old = db.session.get(Booking, booked.booking_id)
        assert old.status is BookingStatus.CANCELLED


def common_starts(server: Server, wanted: dict[str, tuple[str, int]]) -> list[Slot]:
    """Starts on one day at which every therapist in `wanted` is free, 90 minutes apart.

    `wanted` maps a demo therapist to (technique, duration). Ninety minutes apart, a session,
    its buffer and the next session of the same therapist never touch, so the only thing two
    requests at one start can compete for is a room. Returns the first therapist's slots.
    """
    ids = therapist_ids(server)
    first, last = target_days()
    by_therapist = {
        name: free_slots(server, technique, duration, first, last, ids[name])
        for name, (technique, duration) in wanted.items()
    }
    shared = set.intersection(*({s.start for s in slots} for slots in by_therapist.values()))
    lead = next(iter(by_therapist.values()))
    day = min(shared).date()
    return spaced([s for s in lead if s.start in shared and s.start.date() == day], 8)


def slot_for(server: Server, slot: Slot, therapist: str, technique: str, duration: int) -> Slot:
    """The same start for another therapist, in the API's spelling of it."""
    return Slot(technique, duration, therapist_ids(server)[therapist], slot.start_text)


def test_concurrency_two_therapists_compete_for_the_last_free_room(
    app: Flask, demo: None, quiet_server: Server, channel: Channel
) -> None:
    # Three rooms: one closed, one taken by Bo's sessions, so one is left at each start.
    with app.app_context():
        closed = db.session.scalar(select(Room.id).order_by(Room.id.desc()).limit(1))
        db.session.execute(update(Room).where(Room.id == closed).values(active=False))
        db.session.commit()
    starts = common_starts(
        quiet_server,
        {
            "anna": ("sports-massage", 60),
            "david": ("sports-massage", 60),
            "bo": ("classic-massage", 60),
        },
    )
    assert len(starts) >= 3, starts
    bo_clients = ready_clients(app, quiet_server, channel, len(starts), prefix="bo")
    for account, start in zip(bo_clients, starts, strict=True):
        (held,) = book_together(
            quiet_server,
            channel,
            [(account, slot_for(quiet_server, start, "bo", "classic-massage", 60))],
        )
        assert held.kind == "booked", held.answer.describe()
    occupied = {b.room_id for b in live_bookings(app)}
    assert len(occupied) == 1 and closed not in occupied
    with app.app_context():
        (last_room,) = db.session.scalars(
            select(Room.id).where(Room.active, Room.id.not_in(occupied))
        )

    racers = ready_clients(app, quiet_server, channel, 2 * len(starts))
    requests = []
    for n, start in enumerate(starts):
        for m, therapist in enumerate(("anna", "david")):
            slot = slot_for(quiet_server, start, therapist, "sports-massage", 60)
            requests.append((racers[2 * n + m], slot))
    outcomes = book_together(quiet_server, channel, requests)

    assert_no_server_errors(outcomes)
    assert Counter(o.kind for o in outcomes) == {
        "booked": len(starts),
        "taken": len(starts),
    }, summary(outcomes)
    for n, start in enumerate(starts):
        pair = outcomes[2 * n : 2 * n + 2]
        assert sorted(o.kind for o in pair) == ["booked", "taken"], (start, summary(pair))
        at_start = live_bookings(app, starts_at=start.start)
        assert len(at_start) == 2, at_start  # Bo's, and the one winner
        assert {b.room_id for b in at_start} == occupied | {last_room}
    assert claims(app) == expected_claims(app, live_bookings(app))


def test_concurrency_bookings_and_reschedules_race_for_one_slot(
    app: Flask, demo: None, quiet_server: Server, channel: Channel
) -> None:
    anna = therapist_ids(quiet_server)["anna"]
    first, last = target_days()
    free = free_slots(quiet_server, "sports-massage", 60, first, last, anna)
    target = free[0]
    # The movers' sessions are on another day, so nothing but the target slot is contested.
    elsewhere = spaced([s for s in free if s.start.date() > target.start.date()], 5)
    assert len(elsewhere) >= 3, elsewhere
    html = FormChannel()
    movers = ready_clients(app, quiet_server, html, len(elsewhere), prefix="mover")
    moving = []
    for mover, origin in zip(movers, elsewhere, strict=True):
        (held,) = book_together(quiet_server, html, [(mover, origin)])
        assert held.kind == "booked", held.answer.describe()
        moving.append(held.booking_id)
    before = {b.id: b.starts_at for b in live_bookings(app)}
    bookers = ready_clients(app, quiet_server, channel, 20)

    calls = [
        reschedule_call(quiet_server, mover, booking_id, target)
        for mover, booking_id in zip(movers, moving, strict=True)
    ] + [channel.prepare(quiet_server, booker, target) for booker in bookers]
    answers = fire_together(quiet_server.port, calls)
    outcomes = [
        reschedule_outcome(answer, booking_id)
        for answer, booking_id in zip(answers, moving, strict=False)
    ] + [channel.outcome(answer) for answer in answers[len(moving) :]]

    assert_no_server_errors(outcomes)
    assert Counter(o.kind for o in outcomes) == {"booked": 1, "taken": len(calls) - 1}, summary(
        outcomes
    )
    (winner,) = [o.booking_id for o in outcomes if o.kind == "booked"]
    at_target = live_bookings(app, therapist_id=anna, starts_at=target.start)
    assert [b.id for b in at_target] == [winner]
    # A mover who lost still has the session where it was; one who won kept the booking's id.
    for booking in live_bookings(app):
        if booking.id in before and booking.id != winner:
            assert booking.starts_at == before[booking.id]
    assert len(live_bookings(app)) == len(moving) + (0 if winner in moving else 1)
    assert claims(app) == expected_claims(app, live_bookings(app))
