"""The pre-visit health check as data: issuing its link with the reminder, finding a check by
its link, and answering it. The pages are in previsit.py.

A check belongs to one booking (one row per booking) and to the session's start as it was when
the link was made: `expires_at` is that start. A booking that moved since then no longer matches
its check, so the old link refuses until the reminder for the new time replaces its token.
Operations flush; the caller commits.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update

from clinic import secret_links
from clinic.auth.models import User
from clinic.booking import changes
from clinic.booking.models import PREVISIT_CANCEL_REASON, Booking
from clinic.database import begin_write
from clinic.extensions import db
from clinic.screening.models import PreVisitCheck
from clinic.screening.rules import Section, questions

# The three questions, by the key each answer is stored under in PreVisitCheck.answers.
INFECTION = "infection"  # fever or an infection right now
INJURY = "injury"  # a new injury or surgery since the screening
SYMPTOMS = "symptoms"  # new symptoms such as the screening's red flags
ANSWER_KEYS = (INFECTION, INJURY, SYMPTOMS)

CLEAR = "clear"
CANCELLED = "cancelled"

# Kept on the booking and shown in both cancellation e-mails: it says why, never which answer.
CANCEL_REASON = PREVISIT_CANCEL_REASON


class State(enum.StrEnum):
    """Whether a check's link can still be answered, and if not, why."""

    OPEN = "open"
    ANSWERED = "answered"
    NOT_LIVE = "not_live"  # the booking was cancelled, completed or marked a no-show
    MOVED = "moved"  # the session moved after the link was made
    EXPIRED = "expired"  # the session has started


class CheckClosed(Exception):
    """The check can no longer be answered; `state` says why."""

    def __init__(self, state: State) -> None:
        super().__init__(state.value)
        self.state = state


def red_flag_texts() -> list[str]:
    """The screening's red-flag questions as the client read them there (one wording only)."""
    return [q.text for q in questions() if q.section is Section.RED_FLAGS]


def issue_check(booking: Booking, now: datetime) -> str:
    """Make the booking's check for its current start and return the link's token.

    The token is shown only in the reminder; only its hash is kept. A booking reminded again
    (it moved) gets a fresh token and blank answers: the old link stops working, and the
    questions are asked about the new day. Flushes only.
    """
    token, token_digest = secret_links.new_token()
    check = db.session.scalar(select(PreVisitCheck).where(PreVisitCheck.booking_id == booking.id))
    if check is None:
        check = PreVisitCheck(booking_id=booking.id)
        db.session.add(check)
    check.token_hash = token_digest
    check.created_at = now
    check.expires_at = booking.starts_at
    check.answered_at = None
    check.answers = {}
    check.outcome = ""
    db.session.flush()
    return token


def find_check(token: str) -> PreVisitCheck | None:
    """The check this link's token opens, or None."""
    digest = secret_links.lookup_digest(token)
    if digest is None:
        return None
    found = db.session.scalar(select(PreVisitCheck).where(PreVisitCheck.token_hash == digest))
    if found is None or not secret_links.same_digest(found.token_hash, digest):
        return None
    return found


def check_of(booking: Booking) -> PreVisitCheck | None:
    return db.session.scalar(select(PreVisitCheck).where(PreVisitCheck.booking_id == booking.id))


def state_of(check: PreVisitCheck, booking: Booking, now: datetime) -> State:
    """Where the check stands. An answer given stays answered whatever happened since."""
    if check.answered_at is not None:
        return State.ANSWERED
    if not booking.is_live:
        return State.NOT_LIVE
    if check.expires_at != booking.starts_at:
        return State.MOVED
    if now >= check.expires_at:
        return State.EXPIRED
    return State.OPEN


def answer_check(
    check: PreVisitCheck, booking: Booking, answers: Mapping[str, bool], *, now: datetime
) -> str:
    """Store the three answers; any yes cancels the session for health. Returns the outcome.

    The answer is taken with a conditional UPDATE (answered_at still empty, link unchanged,
    session not started), so two answers sent at once count once. A yes cancels with
    `for_health`: allowed until the start, never marked late. Raises CheckClosed when the check
    cannot be answered (nothing changed), BookingError when the cancellation is refused (the
    caller rolls back: the answer is not kept without its cancellation). Flushes only.
    """
    begin_write()
    if set(answers) != set(ANSWER_KEYS) or not all(isinstance(v, bool) for v in answers.values()):
        raise ValueError("answer each of the three questions with True or False")
    state = state_of(check, booking, now)
    if state is not State.OPEN:
        raise CheckClosed(state)
    outcome = CANCELLED if any(answers.values()) else CLEAR
    claimed = db.session.execute(
        update(PreVisitCheck)
        .where(
            PreVisitCheck.id == check.id,
            PreVisitCheck.answered_at.is_(None),
            PreVisitCheck.token_hash == check.token_hash,
            PreVisitCheck.expires_at > now,
        )
        .values(answered_at=now, answers=dict(answers), outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(check)
    if claimed.rowcount != 1:
        # Someone answered first, the session started, or the link was replaced meanwhile.
        after = state_of(check, booking, now)
        raise CheckClosed(State.MOVED if after is State.OPEN else after)
    if outcome == CANCELLED:
        client = db.session.get(User, booking.client_id)
        changes.cancel(booking, by=client, reason=CANCEL_REASON, now=now, for_health=True)
    db.session.flush()
    return outcome
