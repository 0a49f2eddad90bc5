"""Joining and leaving the waitlist, and the lists of entries for clients and admins.

Operations take the acting user, flush, and leave the commit to the view. Offers are made in
offers.py when time frees up, and claimed through claims.py.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload

from clinic.audit.models import record as audit
from clinic.auth.models import User
from clinic.catalog.models import Technique, Therapist
from clinic.database import begin_write
from clinic.extensions import db
from clinic.screening.models import Standing
from clinic.screening.operations import booking_gate
from clinic.text import N_
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer

# A client waits for at most this many things at once; more would mostly be noise for them.
MAX_ACTIVE_ENTRIES = 5

GATE_MESSAGES = {
    "screening_required": N_("Please answer the health screening before you join the waitlist."),
    "screening_expired": N_("Your health screening has expired. Please answer it again first."),
    "screening_blocks": N_(
        "Your health screening does not allow %(technique)s now, so we cannot "
        "offer you a time for it. See your screening page for why."
    ),
}


class WaitlistError(Exception):
    """A refused waitlist action; the message is for the client, `field` names a form field."""

    def __init__(self, message: str, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


# --- entries ------------------------------------------------------------------------------


def active_entries(client_id: int) -> list[WaitlistEntry]:
    """The client's entries still waiting, oldest first."""
    return list(
        db.session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.client_id == client_id,
                WaitlistEntry.left_at.is_(None),
                WaitlistEntry.booked_id.is_(None),
            )
            .options(
                joinedload(WaitlistEntry.technique),
                joinedload(WaitlistEntry.therapist).joinedload(Therapist.user),
            )
            .order_by(WaitlistEntry.id)
        )
    )


def open_offers(entry_ids: list[int], now: datetime) -> dict[int, list[WaitlistOffer]]:
    """Undecided offers that still work, by entry, soonest time first."""
    found: dict[int, list[WaitlistOffer]] = {i: [] for i in entry_ids}
    if not entry_ids:
        return found
    for offer in db.session.scalars(
        select(WaitlistOffer)
        .where(
            WaitlistOffer.entry_id.in_(entry_ids),
            WaitlistOffer.outcome == "",
            WaitlistOffer.expires_at > now,
        )
        .options(joinedload(WaitlistOffer.therapist).joinedload(Therapist.user))
        .order_by(WaitlistOffer.starts_at, WaitlistOffer.id)
    ):
        found[offer.entry_id].append(offer)
    return found


def join(
    client: User,
    *,
    technique: Technique,
    duration_minutes: int,
    therapist_id: int | None,
    weekdays: list[int],
    day_parts: list[str],
    now: datetime,
    ip: str = "",
) -> WaitlistEntry:
    """Put the client on the waitlist (the form has checked the technique, length, therapist).

    Raises WaitlistError: code screening_required / screening_expired / screening_blocks when
    the screening does not let the client book the technique, too_many past MAX_ACTIVE_ENTRIES,
    duplicate when the client already waits for exactly this.
    """
    begin_write()
    if not client.is_client or not client.active:
        raise WaitlistError(_("Only clients join the waitlist."), "forbidden")
    # On PostgreSQL two joins of one client take turns here, so the limit holds (SQLite's
    # writers take turns anyway).
    db.session.execute(select(User.id).where(User.id == client.id).with_for_update())
    gate = booking_gate(client.id, technique, now)
    if gate.standing is Standing.BLOCKED:
        message = GATE_MESSAGES.get(gate.code, GATE_MESSAGES["screening_blocks"])
        raise WaitlistError(_(message, technique=technique.name.lower()), gate.code)
    waiting = active_entries(client.id)
    if len(waiting) >= MAX_ACTIVE_ENTRIES:
        raise WaitlistError(
            _(
                "You can wait for at most %(limit)d things at once. Leave an entry you "
                "no longer need, then join again.",
                limit=MAX_ACTIVE_ENTRIES,
            ),
            "too_many",
        )
    weekdays, day_parts = sorted(set(weekdays)), sorted(set(day_parts))
    wish = (technique.id, duration_minutes, therapist_id, weekdays, day_parts)
    if any(
        (e.technique_id, e.duration_minutes, e.therapist_id, e.weekdays, e.day_parts) == wish
        for e in waiting
    ):
        raise WaitlistError(_("You are already on the waitlist for exactly this."), "duplicate")
    entry = WaitlistEntry(
        client_id=client.id,
        technique_id=technique.id,
        duration_minutes=duration_minutes,
        therapist_id=therapist_id,
        weekdays=weekdays,
        day_parts=day_parts,
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    audit(
        "waitlist.joined",
        "waitlist_entry",
        entry.id,
        actor_id=client.id,
        ip=ip,
        detail={
            "technique": technique.slug,
            "duration": duration_minutes,
            "therapist_id": therapist_id,
            "weekdays": weekdays,
            "day_parts": day_parts,
        },
    )
    return entry


def leave(entry: WaitlistEntry, *, by: User, now: datetime, ip: str = "") -> None:
    """Take the entry off the waitlist; its open offers stop working.

    Raises WaitlistError (not_active) when it left or booked already.
    """
    begin_write()
    if entry.client_id != by.id:
        raise WaitlistError(_("Only the client leaves their own waitlist entry."), "forbidden")
    left = db.session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.id == entry.id,
            WaitlistEntry.left_at.is_(None),
            WaitlistEntry.booked_id.is_(None),
        )
        .values(left_at=now)
        .execution_options(synchronize_session=False)
    )
    if left.rowcount != 1:
        raise WaitlistError(_("You are no longer waiting for this."), "not_active")
    close_open_offers(entry.id, now)
    db.session.refresh(entry)
    audit("waitlist.left", "waitlist_entry", entry.id, actor_id=by.id, ip=ip)


def close_open_offers(entry_id: int, now: datetime, but: int | None = None) -> None:
    """Undecided offers of the entry (but one) stop working: it left or booked."""
    query = update(WaitlistOffer).where(
        WaitlistOffer.entry_id == entry_id, WaitlistOffer.outcome == ""
    )
    if but is not None:
        query = query.where(WaitlistOffer.id != but)
    db.session.execute(
        query.values(outcome="expired", decided_at=now).execution_options(synchronize_session=False)
    )


# --- the admins' list ---------------------------------------------------------------------

# The admins' page shows this many entries that left the list, newest first.
RECENTLY_CLOSED = 50


def entries_for_admin(
    technique_id: int,
) -> tuple[list[WaitlistEntry], list[WaitlistEntry], dict[int, list[WaitlistOffer]]]:
    """Active entries in the order they are served, recently closed ones, and every offer."""
    options = (
        joinedload(WaitlistEntry.client),
        joinedload(WaitlistEntry.therapist).joinedload(Therapist.user),
    )
    active = list(
        db.session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.technique_id == technique_id,
                WaitlistEntry.left_at.is_(None),
                WaitlistEntry.booked_id.is_(None),
            )
            .options(*options)
            .order_by(WaitlistEntry.id)
        )
    )
    closed = list(
        db.session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.technique_id == technique_id,
                (WaitlistEntry.left_at.is_not(None)) | (WaitlistEntry.booked_id.is_not(None)),
            )
            .options(*options)
            .order_by(WaitlistEntry.id.desc())
            .limit(RECENTLY_CLOSED)
        )
    )
    ids = [e.id for e in active + closed]
    offers: dict[int, list[WaitlistOffer]] = {i: [] for i in ids}
    if ids:
        for offer in db.session.scalars(
            select(WaitlistOffer)
            .where(WaitlistOffer.entry_id.in_(ids))
            .options(
                selectinload(WaitlistOffer.entry),
                joinedload(WaitlistOffer.therapist).joinedload(Therapist.user),
            )
            .order_by(WaitlistOffer.id)
        ):
            offers[offer.entry_id].append(offer)
    return active, closed, offers


def waiting_counts() -> dict[int, int]:
    """Active entries per technique id."""
    return dict(
        db.session.execute(
            select(WaitlistEntry.technique_id, func.count())
            .where(WaitlistEntry.left_at.is_(None), WaitlistEntry.booked_id.is_(None))
            .group_by(WaitlistEntry.technique_id)
        ).all()
    )
