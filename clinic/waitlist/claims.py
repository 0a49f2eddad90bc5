"""Reading a claim link's offer and claiming the time it offers.

An offer's link works only for the entry's own client, who must be logged in: the token alone
books nothing. Only the token's SHA-256 is stored, as for calendar feeds. Operations flush; the
view commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased, joinedload

from clinic import secret_links
from clinic.audit.models import record as audit
from clinic.auth.models import User
from clinic.booking.models import Booking
from clinic.booking.operations import (
    BookingError,
    Request,
    availability_problem,
    book,
    check_request,
)
from clinic.catalog.models import Therapist
from clinic.database import begin_write
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer
from clinic.waitlist.operations import WaitlistError, close_open_offers


def find_offer(token: str) -> WaitlistOffer | None:
    """The offer of a claim link, with its entry, technique and therapist; None if unknown."""
    digest = secret_links.lookup_digest(token)
    if digest is None:
        return None
    found = db.session.scalar(
        select(WaitlistOffer)
        .where(WaitlistOffer.token_hash == digest)
        .options(
            joinedload(WaitlistOffer.entry).joinedload(WaitlistEntry.technique),
            joinedload(WaitlistOffer.therapist).joinedload(Therapist.user),
        )
    )
    if found is None or not secret_links.same_digest(found.token_hash, digest):
        return None
    return found


def _claimed_by_another(offer: WaitlistOffer) -> bool:
    other = aliased(WaitlistOffer)
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    other.therapist_id == offer.therapist_id,
                    other.starts_at == offer.starts_at,
                    other.outcome == "claimed",
                    other.id != offer.id,
                )
            )
        )
    )


def offer_state(
    offer: WaitlistOffer,
    now: datetime,
    claimed: set[tuple[int, datetime]] | None = None,
) -> str:
    """What the offer has come to: its recorded outcome, or open, expired or taken.

    An offer nobody decided yet is expired once its time is up or its entry has left the
    list, and taken once another waiting client claimed the same time. `claimed`, the
    (therapist id, start) of claimed offers, saves a query per offer when listing many.
    """
    if offer.outcome:
        return offer.outcome
    if now >= offer.expires_at or not offer.entry.is_active:
        return "expired"
    if claimed is not None:
        taken = (offer.therapist_id, offer.starts_at) in claimed
    else:
        taken = _claimed_by_another(offer)
    return "taken" if taken else "open"


def still_free(offer: WaitlistOffer, *, now: datetime, timezone: str) -> bool:
    """Whether the offered time can still be booked (nobody booked it by other means)."""
    policy = ClinicPolicy.current()
    req = _request(offer)
    try:
        technique, _price = check_request(req, now=now, timezone=timezone, policy=policy)
    except BookingError:
        return False
    return availability_problem(req, technique, now=now, timezone=timezone, policy=policy) is None


def settle(offer: WaitlistOffer, now: datetime) -> str:
    """The offer's state, with expired or taken written down if it came to that meanwhile."""
    state = offer_state(offer, now)
    if state in ("expired", "taken") and not offer.outcome:
        decide(offer, state, now)
    return state


def decide(offer: WaitlistOffer, outcome: str, now: datetime) -> bool:
    """Record the outcome of an undecided offer; False if it was decided meanwhile."""
    changed = db.session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.id == offer.id, WaitlistOffer.outcome == "")
        .values(outcome=outcome, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(offer)
    return changed.rowcount == 1


def _request(offer: WaitlistOffer) -> Request:
    return Request(
        offer.entry.technique.slug, offer.duration_minutes, offer.therapist_id, offer.starts_at
    )


def claim(offer: WaitlistOffer, client: User, *, now: datetime, timezone: str) -> Booking:
    """Book the offered time for the entry's client and take the entry off the list.

    The booking goes through booking.operations.book(), so the database's claims decide a
    race and the screening gate applies. Raises BookingError as book() does (409 when the
    time is gone), and WaitlistError (decided) when the offer was decided or ran out meanwhile;
    the caller rolls back either way.
    """
    begin_write()
    if offer.entry.client_id != client.id:
        raise WaitlistError(_("This offer is for another client."), "forbidden")
    # The compare-and-swap makes two presses of one button queue on this row: the second
    # finds the offer claimed and is shown the booking the first one made.
    won = db.session.execute(
        update(WaitlistOffer)
        .where(
            WaitlistOffer.id == offer.id,
            WaitlistOffer.outcome == "",
            WaitlistOffer.expires_at > now,
        )
        .values(outcome="claimed", decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        raise WaitlistError(_("This offer was decided a moment ago."), "decided")
    booking = book(client, _request(offer), now=now, timezone=timezone)
    booked = db.session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.id == offer.entry_id,
            WaitlistEntry.left_at.is_(None),
            WaitlistEntry.booked_id.is_(None),
        )
        .values(booked_id=booking.id)
        .execution_options(synchronize_session=False)
    )
    if booked.rowcount != 1:
        raise WaitlistError(_("You left this waitlist meanwhile."), "decided")
    db.session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.id == offer.id)
        .values(booking_id=booking.id)
        .execution_options(synchronize_session=False)
    )
    close_open_offers(offer.entry_id, now, but=offer.id)
    db.session.refresh(offer)
    db.session.refresh(offer.entry)
    audit(
        "waitlist.claimed",
        "waitlist_offer",
        offer.id,
        actor_id=client.id,
        detail={"entry_id": offer.entry_id, "booking_id": booking.id},
    )
    return booking


def slot_end(offer: WaitlistOffer) -> datetime:
    """When the offered session would end."""
    return offer.starts_at + timedelta(minutes=offer.duration_minutes)
