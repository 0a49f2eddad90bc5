"""Claims of one freed time racing each other, under real concurrency (issue 7).

As in test_concurrency.py, the app runs under gunicorn with 4 worker processes of 4 threads on
the test database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set), with the real clock.
A booking is cancelled over HTTP; the waiting clients' offers are read from the outbox, where
the cancellation's transaction put them; then every client presses "Book this time" at the same
moment. Exactly one gets the time; the others see "already taken" and stay on the waitlist.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import select

from clinic import clock
from clinic.auth.models import User
from clinic.catalog.models import Technique
from clinic.database import begin_write
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.waitlist import operations
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer
from clinic.waitlist.offers import SUBJECT
from tests.concurrency_support import (
    Account,
    Answer,
    Call,
    FormChannel,
    Server,
    fire_together,
    make_clients,
)
from tests.integration.test_concurrency import (
    claims,
    expected_claims,
    first_free,
    live_bookings,
)
from tests.support import csrf_token_from

pytestmark = pytest.mark.concurrency

WAITING = 6  # under offers.PER_SLOT, so that every one of them is offered the time

LINK_RE = re.compile(r"https?://[^/\s]+(/waitlist/offers/[A-Za-z0-9_-]{43})")
BOOKING_RE = re.compile(r"^/bookings/(\d+)$")


def join_waitlist(app: Flask, accounts: list[Account], therapist_id: int) -> dict[int, int]:
    """Each account waits for Anna's 60-minute sports massage, any day; returns entry ids."""
    with app.app_context():
        entries = {}
        for account in accounts:
            # As the app's writers do, and before any read: the server may be writing too (it
            # sends a request's e-mail once it has answered), and on SQLite a transaction that
            # read first cannot write once another has committed since.
            begin_write()
            technique = db.session.scalar(
                select(Technique).where(Technique.slug == "sports-massage")
            )
            entry = operations.join(
                db.session.get(User, account.user_id),
                technique=technique,
                duration_minutes=60,
                therapist_id=therapist_id,
                weekdays=[],
                day_parts=[],
                now=clock.utcnow(),
            )
            entries[account.user_id] = entry.id  # read now: after the commit it reads anew
            db.session.commit()
        return entries


def offer_links(app: Flask) -> dict[str, str]:
    """The claim link of each offer e-mail the cancellation queued, by recipient."""
    with app.app_context():
        queued = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == SUBJECT))
        return {m.to_address: LINK_RE.search(m.body_text).group(1) for m in queued}


def claim_call(server: Server, account: Account, link: str) -> Call:
    """Open the offer as the client and prepare the press of "Book this time"."""
    page = server.get(link, account.credentials)
    assert page.status == 200, page.describe()
    # The page may refresh the session cookie (the CSRF secret lives in it): keep the new one.
    jar = dict(
        part.split("=", 1)
        for part in account.credentials.get("Cookie", "").split("; ")
        if "=" in part
    )
    jar.update(page.cookies)
    account.credentials = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    assert "Book this time" in page.text, page.describe()
    return Call.form(link, {"csrf_token": csrf_token_from(page.text)}, account.credentials)


def kind(answer: Answer) -> str:
    if answer.status == 302 and BOOKING_RE.match(answer.headers.get("location", "")):
        return "booked"
    if answer.status == 409 and "already taken" in answer.text:
        return "taken"
    return "other"


def entries_and_offers(app: Flask) -> tuple[dict[int, WaitlistEntry], dict[int, WaitlistOffer]]:
    """Entries by client id and each entry's one offer, by entry id."""
    with app.app_context():
        entries = {e.client_id: e for e in db.session.scalars(select(WaitlistEntry))}
        offers = {o.entry_id: o for o in db.session.scalars(select(WaitlistOffer))}
        db.session.expunge_all()
        return entries, offers


def freed_slot_with_offers(app: Flask, server: Server) -> tuple[object, list[Account], dict]:
    """Book Anna's first free slot, let WAITING clients wait for it, cancel: offers go out."""
    html = FormChannel()
    slot = first_free(server, "sports-massage", 60, "anna")
    holder, *waiting = make_clients(app, 1 + WAITING, prefix="waiter")
    html.log_in(server, holder)
    [call] = [html.prepare(server, holder, slot)]
    [answer] = fire_together(server.port, [call])
    held = html.outcome(answer)
    assert held.kind == "booked", answer.describe()
    join_waitlist(app, waiting, slot.therapist_id)

    cancelled = html.cancel(server, holder, held.booking_id)
    assert cancelled.status == 302, cancelled.describe()
    links = offer_links(app)
    assert set(links) == {a.email for a in waiting}, links
    for account in waiting:
        html.log_in(server, account)
    return slot, waiting, links


def test_concurrency_waiting_clients_claim_one_freed_time_at_once(
    app: Flask, demo: None, quiet_server: Server
) -> None:
    slot, waiting, links = freed_slot_with_offers(app, quiet_server)
    calls = [claim_call(quiet_server, a, links[a.email]) for a in waiting]

    answers = fire_together(quiet_server.port, calls)

    kinds = [kind(a) for a in answers]
    assert Counter(kinds) == {"booked": 1, "taken": WAITING - 1}, [
        a.describe() for a in answers if kind(a) == "other"
    ]
    winner = waiting[kinds.index("booked")]
    booking_id = int(BOOKING_RE.match(answers[kinds.index("booked")].headers["location"])[1])
    for answer in answers:
        if kind(answer) == "taken":
            assert "You stay on the waitlist" in answer.text
    live = live_bookings(app, therapist_id=slot.therapist_id)
    assert [(b.id, b.client_id, b.starts_at) for b in live] == [
        (booking_id, winner.user_id, slot.start)
    ]
    assert claims(app) == expected_claims(app, live)
    entries, offers = entries_and_offers(app)
    for account in waiting:
        entry = entries[account.user_id]
        offer = offers[entry.id]
        if account is winner:
            assert (entry.booked_id, offer.outcome, offer.booking_id) == (
                booking_id,
                "claimed",
                booking_id,
            )
        else:
            assert entry.is_active, account.email
            assert (offer.outcome, offer.booking_id) == ("taken", None)


def test_concurrency_one_client_pressing_many_times_books_once(
    app: Flask, demo: None, quiet_server: Server
) -> None:
    slot, waiting, links = freed_slot_with_offers(app, quiet_server)
    eager = waiting[0]
    call = claim_call(quiet_server, eager, links[eager.email])

    answers = fire_together(quiet_server.port, [call] * 5)

    assert [a.status for a in answers] == [302] * 5, [a.describe() for a in answers]
    targets = {a.headers["location"] for a in answers}
    assert len(targets) == 1 and BOOKING_RE.match(targets.pop())
    live = live_bookings(app, therapist_id=slot.therapist_id)
    assert [(b.client_id, b.starts_at) for b in live] == [(eager.user_id, slot.start)]
    entries, offers = entries_and_offers(app)
    assert entries[eager.user_id].booked_id == live[0].id
    assert offers[entries[eager.user_id].id].outcome == "claimed"
