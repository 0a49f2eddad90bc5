"""Offering freed time to the clients on the waitlist.

Time frees up when a booking is cancelled, a pending booking expires, a booking moves away
from its old time (booking.notices.announce calls `offer_freed_time` for those), and when a
therapist's working hours change (scheduling's hours page calls `offer_new_hours`). Both look
for the free slots the change opened, with the real slot search over the affected days only,
match them against the active entries, and offer each matching slot by e-mail with a claim
link, in the transaction of the change: if the change is rolled back, no offer was made.

Who is offered what, in the order entries joined (their id):
- the slot's technique, length and, if the entry names one, therapist are the entry's; the
  slot starts on one of the entry's weekdays and within one of its parts of the day (clinic
  time; no choice means any);
- the client's screening lets them book the technique now (booking_gate: not blocked; a
  booking that waits for staff is held as pending, as when booking by hand);
- the client has no live booking that overlaps the slot and no open offer for it;
- each entry is offered at most one slot per change (the freed start if it fits, else the
  nearest, else the earliest), so one change does not send a client a pile of e-mails.

Bounds: at most PER_SLOT open offers for one slot (whoever claims first books it, the
others are told it is taken), at most PER_CHANGE offers per change, and the searches cover
the freed day(s), or NEW_HOURS_DAYS days for new working hours, for the few (technique,
length) pairs that active entries wait for: a handful of queries per pair, whatever the
length of the list.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager

from clinic import clock, secret_links
from clinic.audit.models import record as audit
from clinic.auth.models import User
from clinic.booking.availability import search_slots
from clinic.booking.models import LIVE, Booking
from clinic.booking.signals import booking_changed
from clinic.catalog.models import Technique, Therapist
from clinic.extensions import db
from clinic.i18n import speaking
from clinic.notify.outbox import queue_email, render_email
from clinic.scheduling.models import ClinicPolicy
from clinic.scheduling.signals import hours_saved
from clinic.scheduling.slots import Interval, Slot, local_window, merge
from clinic.screening.models import Standing
from clinic.screening.operations import booking_gate
from clinic.text import N_
from clinic.waitlist.models import DAY_PARTS, WaitlistEntry, WaitlistOffer

PER_SLOT = 10
PER_CHANGE = 30
NEW_HOURS_DAYS = 14
FREEING_EVENTS = frozenset({"cancelled", "expired", "rescheduled"})

SUBJECT = N_("A time you are waiting for has come free")

Found = dict[tuple[int, int], list[Slot]]  # (technique id, minutes) -> slots, by start


def wanted(weekdays: Iterable[int], day_parts: Iterable[str], local_start: datetime) -> bool:
    """Whether a session starting at this local time fits the days and parts of the day."""
    days, parts = list(weekdays), list(day_parts)
    if days and local_start.weekday() not in days:
        return False
    minute = local_start.hour * 60 + local_start.minute
    return not parts or any(
        DAY_PARTS[p][0] * 60 <= minute < DAY_PARTS[p][1] * 60 for p in parts if p in DAY_PARTS
    )


def offer_freed_time(booking: Booking, event: str, detail: dict) -> list[WaitlistOffer]:
    """Offer the time a cancellation, an expiry or a move freed; other events free nothing.

    For a move, the freed time is the old one (`detail["from"]`, `detail["from_therapist_id"]`);
    the search sees where the session is now, so a move within its own time offers nothing.
    The booking's own client is not offered the time they just gave up.
    """
    if event not in FREEING_EVENTS:
        return []
    if event == "rescheduled":
        if not detail.get("from") or not detail.get("from_therapist_id"):
            return []
        start = datetime.fromisoformat(detail["from"])
        therapist_id = int(detail["from_therapist_id"])
    else:
        start, therapist_id = booking.starts_at, booking.therapist_id
    # The buffer the booking held after itself was freed as well.
    end = start + timedelta(minutes=booking.duration_minutes + booking.buffer_minutes)
    entries = _waiting(therapist_id, but_client=booking.client_id)
    if not entries:
        return []
    now = clock.utcnow()
    timezone = current_app.config["CLINIC_TIMEZONE"]
    zone = ZoneInfo(timezone)
    policy = ClinicPolicy.current()
    buffer = timedelta(minutes=policy.buffer_minutes)

    def opened(slot: Slot) -> bool:
        # A slot the booking stood in the way of: it overlapped the session or its buffer.
        return slot.start < end and slot.end + buffer > start

    found = _free_slots(
        entries,
        therapist_id,
        start.astimezone(zone).date(),
        end.astimezone(zone).date(),
        now=now,
        timezone=timezone,
        policy=policy,
        opened=opened,
    )
    return _offer(entries, found, now=now, zone=zone, policy=policy, prefer=start)


def offer_new_hours(
    therapist: Therapist,
    before: Iterable[tuple[int, time, time]],
    *,
    now: datetime,
    timezone: str,
) -> list[WaitlistOffer]:
    """Offer the slots new working hours opened in the next NEW_HOURS_DAYS days.

    `before` holds the therapist's weekly hours before the change, (weekday, start, end): a
    slot that fitted in them was bookable before and is not offered now.
    """
    entries = _waiting(therapist.id)
    if not entries:
        return []
    zone = ZoneInfo(timezone)
    old: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, start, end in before:
        old[weekday].append((start, end))

    def opened(slot: Slot) -> bool:
        day = slot.start.astimezone(zone).date()
        windows = merge(
            w for s, e in old[day.weekday()] if (w := local_window(day, s, e, zone)) is not None
        )
        return not any(w.start <= slot.start and slot.end <= w.end for w in windows)

    today = now.astimezone(zone).date()
    policy = ClinicPolicy.current()
    found = _free_slots(
        entries,
        therapist.id,
        today,
        today + timedelta(days=NEW_HOURS_DAYS - 1),
        now=now,
        timezone=timezone,
        policy=policy,
        opened=opened,
    )
    return _offer(entries, found, now=now, zone=zone, policy=policy)


def _waiting(therapist_id: int, but_client: int | None = None) -> list[WaitlistEntry]:
    """Active entries that a slot of this therapist could serve, in the order they joined."""
    query = (
        select(WaitlistEntry)
        .join(WaitlistEntry.technique)
        .join(WaitlistEntry.client)
        .where(
            WaitlistEntry.left_at.is_(None),
            WaitlistEntry.booked_id.is_(None),
            or_(WaitlistEntry.therapist_id.is_(None), WaitlistEntry.therapist_id == therapist_id),
            Technique.active,
            User.active,
        )
        .options(contains_eager(WaitlistEntry.technique), contains_eager(WaitlistEntry.client))
        .order_by(WaitlistEntry.id)
    )
    if but_client is not None:
        query = query.where(WaitlistEntry.client_id != but_client)
    return list(db.session.scalars(query))


def _free_slots(
    entries: list[WaitlistEntry],
    therapist_id: int,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    timezone: str,
    policy: ClinicPolicy,
    opened: Callable[[Slot], bool],
) -> Found:
    """The therapist's free slots the change opened, for each (technique, length) waited for.

    The search itself leaves out techniques the therapist is not certified for on the day.
    """
    wanted_pairs = {(e.technique_id, e.duration_minutes): e.technique for e in entries}
    found: Found = {}
    for (technique_id, minutes), technique in wanted_pairs.items():
        result = search_slots(
            technique=technique,
            duration_minutes=minutes,
            first_day=first_day,
            last_day=last_day,
            now=now,
            timezone=timezone,
            therapist_id=therapist_id,
            policy=policy,
        )
        found[(technique_id, minutes)] = [s for s in result.slots if opened(s)]
    return found


def _offer(
    entries: list[WaitlistEntry],
    found: Found,
    *,
    now: datetime,
    zone: ZoneInfo,
    policy: ClinicPolicy,
    prefer: datetime | None = None,
) -> list[WaitlistOffer]:
    """Offer each entry, in join order, its best matching slot; see the module's docstring.

    The best slot is the one nearest to `prefer` (the start of the freed session: most
    likely what the client was hoping for), else the earliest.
    """
    slots = [s for group in found.values() for s in group]
    if not slots:
        return []
    span = Interval(min(s.start for s in slots), max(s.end for s in slots))
    therapists = {s.therapist_id for s in slots}

    per_slot: Counter[tuple[int, datetime]] = Counter()
    held: set[tuple[int, int, datetime]] = set()
    for entry_id, therapist_id, starts_at in db.session.execute(
        select(WaitlistOffer.entry_id, WaitlistOffer.therapist_id, WaitlistOffer.starts_at).where(
            WaitlistOffer.therapist_id.in_(therapists),
            WaitlistOffer.starts_at >= span.start,
            WaitlistOffer.starts_at < span.end,
            WaitlistOffer.outcome == "",
            WaitlistOffer.expires_at > now,
        )
    ):
        per_slot[(therapist_id, starts_at)] += 1
        held.add((entry_id, therapist_id, starts_at))

    busy: dict[int, list[Interval]] = defaultdict(list)
    for client_id, starts_at, ends_at in db.session.execute(
        select(Booking.client_id, Booking.starts_at, Booking.ends_at).where(
            Booking.client_id.in_({e.client_id for e in entries}),
            Booking.status.in_(LIVE),
            Booking.starts_at < span.end,
            Booking.ends_at > span.start,
        )
    ):
        busy[client_id].append(Interval(starts_at, ends_at))

    claim_time = timedelta(minutes=policy.waitlist_claim_minutes)
    notice = timedelta(minutes=policy.min_notice_minutes)
    made: list[WaitlistOffer] = []
    for entry in entries:
        if len(made) >= PER_CHANGE:
            break
        candidates = [
            s
            for s in found.get((entry.technique_id, entry.duration_minutes), ())
            if (entry.therapist_id is None or entry.therapist_id == s.therapist_id)
            and per_slot[(s.therapist_id, s.start)] < PER_SLOT
            and (entry.id, s.therapist_id, s.start) not in held
            and wanted(entry.weekdays, entry.day_parts, s.start.astimezone(zone))
            and not any(b.start < s.end and s.start < b.end for b in busy[entry.client_id])
        ]
        if not candidates:
            continue
        gate = booking_gate(entry.client_id, entry.technique, now)
        if gate.standing is Standing.BLOCKED:
            continue  # expired, missing, or it rules the technique out: they could not book
        slot = min(candidates, key=lambda s: (abs(s.start - (prefer or s.start)), s.start))
        # The link stops working when the time can no longer be booked (minimum notice).
        expires_at = min(now + claim_time, slot.start - notice)
        if expires_at <= now:
            continue
        token, token_digest = secret_links.new_token()
        offer = WaitlistOffer(
            entry_id=entry.id,
            therapist_id=slot.therapist_id,
            starts_at=slot.start,
            duration_minutes=entry.duration_minutes,
            token_hash=token_digest,
            created_at=now,
            expires_at=expires_at,
        )
        db.session.add(offer)
        db.session.flush()
        per_slot[(slot.therapist_id, slot.start)] += 1
        held.add((entry.id, slot.therapist_id, slot.start))
        audit(
            "waitlist.offered",
            "waitlist_offer",
            offer.id,
            actor_id=None,
            detail={
                "entry_id": entry.id,
                "therapist_id": slot.therapist_id,
                "starts_at": slot.start.isoformat(),
            },
        )
        _tell(entry, offer, token)
        made.append(offer)
    return made


def _tell(entry: WaitlistEntry, offer: WaitlistOffer, token: str) -> None:
    """E-mail the offer: time, technique, therapist, claim link and expiry; no health data."""
    with speaking(entry.client):
        text, html = render_email(
            "waitlist/email/offer",
            entry=entry,
            offer=offer,
            therapist_name=db.session.get(Therapist, offer.therapist_id).user.name,
            ends_at=offer.starts_at + timedelta(minutes=offer.duration_minutes),
            link=url_for("waitlist.offer", token=token, _external=True),
            waitlist_link=url_for("waitlist.mine", _external=True),
        )
        subject = _(SUBJECT)
    queue_email(entry.client.email, subject, text, html)


@booking_changed.connect
def _on_booking_changed(
    sender: Flask, *, booking: Booking, event: str, detail: dict, **extra: object
) -> None:
    offer_freed_time(booking, event, detail)


@hours_saved.connect
def _on_hours_saved(
    sender: Flask, *, therapist: Therapist, before: list[tuple[int, time, time]], **extra: object
) -> None:
    offer_new_hours(
        therapist, before, now=clock.utcnow(), timezone=sender.config["CLINIC_TIMEZONE"]
    )
