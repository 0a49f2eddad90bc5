"""Bookings as iCalendar: one booking's event (download, e-mail attachment) and a user's feed.

The building is done by the pure module ics.py; this module only reads the database and the
settings and decides what an event says. An event carries the time, the technique, the room
and the people, and a link to the booking: never screening answers, notes or a cancellation
reason (free text that may mention someone's health).

Links are made with url_for(_external=True), so callers outside a request push a request
context on PUBLIC_URL first, as clinic/notify/reminders.py does.

What an event says (SUMMARY, DESCRIPTION, the feed's name) is written in the current locale:
callers wrap the building in `with speaking(user):` for the user the file is for (a download,
a feed, an e-mail's invitation). UIDs, times and the structure do not depend on it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from clinic import clock
from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus
from clinic.calendars.ics import EventSpec, Person, build_calendar
from clinic.catalog.models import Therapist
from clinic.extensions import db

# A feed shows this much of the past, so last month's sessions stay in the subscriber's
# calendar; everything later is in it, cancelled bookings included, so a subscribed calendar
# learns of a cancellation instead of keeping the old event.
FEED_PAST = timedelta(days=90)

FALLBACK_UID_DOMAIN = "lindring.invalid"


def uid_domain() -> str:
    """The right-hand side of every UID: CALENDAR_UID_DOMAIN if set, else PUBLIC_URL's host.

    It must never change once events are out in people's calendars, or they get each booking
    twice: set CALENDAR_UID_DOMAIN before moving the site to another address.
    """
    configured = current_app.config.get("CALENDAR_UID_DOMAIN")
    if configured:
        return str(configured)
    host = urlsplit(current_app.config.get("PUBLIC_URL") or "").hostname
    return host or FALLBACK_UID_DOMAIN


def booking_uid(booking: Booking) -> str:
    """The booking's UID, the same in every download, e-mail and feed, for ever."""
    return f"booking-{booking.id}@{uid_domain()}"


def clinic_person() -> Person:
    """The clinic as ORGANIZER: its name and the address e-mail is sent from."""
    name, address = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    return Person(current_app.config.get("CLINIC_NAME") or name, address or "noreply@localhost")


def booking_event(booking: Booking, *, for_therapist: bool, invite: bool = False) -> EventSpec:
    """The booking as an event for its client, or for its therapist (who sees the client's name).

    `invite` adds ORGANIZER (the clinic) and ATTENDEE (the recipient: the client, or the
    therapist in their version), which an e-mail with METHOD:REQUEST or CANCEL needs. Downloads
    and feeds leave them out, so calendar programs do not treat them as invitations to answer.
    Needs a request context (for the link) and the booking's technique, room, client and
    therapist with its user.
    """
    clinic_name = current_app.config["CLINIC_NAME"]
    therapist = booking.therapist.user
    other = booking.client.name if for_therapist else therapist.name
    summary = _(
        "%(technique)s, %(minutes)d min (%(other)s)",
        technique=booking.technique.name,
        minutes=booking.duration_minutes,
        other=other,
    )
    cancelled = booking.status is BookingStatus.CANCELLED
    if cancelled:
        # Some programs ignore STATUS in subscribed calendars; the title says it too.
        summary = _("Cancelled: %(summary)s", summary=summary)
    link = url_for("booking.show", booking_id=booking.id, _external=True)
    description = link
    if booking.status is BookingStatus.PENDING:
        if for_therapist:
            held = _("Held until the clinic confirms it.")
        else:
            held = _("Held for you until the clinic confirms it.")
        description = f"{held}\n{link}"
    addressee = therapist if for_therapist else booking.client
    recipient = Person(addressee.name, addressee.email)
    return EventSpec(
        uid=booking_uid(booking),
        start=booking.starts_at,
        end=booking.ends_at,
        summary=summary,
        stamp=booking.updated_at or clock.utcnow(),
        sequence=booking.sequence,
        cancelled=cancelled,
        tentative=booking.status is BookingStatus.PENDING,
        location=f"{clinic_name}, {booking.room.name}",
        description=description,
        url=link,
        organizer=clinic_person() if invite else None,
        attendees=(recipient,) if invite else (),
    )


def booking_ics(booking: Booking, *, method: str | None = None, for_therapist: bool = False) -> str:
    """One booking as an .ics file. `method` is "REQUEST" (a confirmation or change e-mail) or
    "CANCEL" (a cancellation e-mail), which also make it an invitation with ORGANIZER and
    ATTENDEE; None for a download."""
    event = booking_event(booking, for_therapist=for_therapist, invite=method is not None)
    return build_calendar([event], timezone=current_app.config["CLINIC_TIMEZONE"], method=method)


def left_calendar_ics(booking: Booking, former: User) -> str:
    """A CANCEL of the booking's event for the therapist whose calendar it left (it moved to a
    colleague): the same UID and SEQUENCE as the new therapist's invitation."""
    event = booking_event(booking, for_therapist=True, invite=True)
    event = replace(
        event,
        cancelled=True,
        summary=_(
            "Moved to %(name)s: %(summary)s",
            name=booking.therapist.user.name,
            summary=event.summary,
        ),
        attendees=(Person(former.name, former.email),),
    )
    return build_calendar([event], timezone=current_app.config["CLINIC_TIMEZONE"], method="CANCEL")


def booking_filename(booking: Booking) -> str:
    """A name for the downloaded file, e.g. "booking-42-2027-03-29.ics"."""
    zone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    return f"booking-{booking.id}-{booking.starts_at.astimezone(zone).date().isoformat()}.ics"


def feed_bookings(user: User, *, now: datetime | None = None) -> list[Booking]:
    """The user's bookings as a client and sessions as a therapist, from FEED_PAST ago on.

    An admin who is neither has none: their feed is an empty calendar (the clinic's whole
    diary, with every client's name, does not belong in a URL on someone's phone).
    One query for the bookings and one per related table, however many there are.
    """
    since = (now or clock.utcnow()) - FEED_PAST
    return list(
        db.session.scalars(
            select(Booking)
            .join(Therapist, Therapist.id == Booking.therapist_id)
            .where(
                or_(Booking.client_id == user.id, Therapist.user_id == user.id),
                Booking.starts_at >= since,
            )
            .options(
                selectinload(Booking.client),
                selectinload(Booking.technique),
                selectinload(Booking.room),
                selectinload(Booking.therapist).selectinload(Therapist.user),
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )


def feed_name(user: User) -> str:
    """The calendar's name as the subscriber's program shows it."""
    clinic_name = current_app.config["CLINIC_NAME"]
    if user.is_therapist:
        return _("%(clinic)s: sessions", clinic=clinic_name)
    return _("%(clinic)s: bookings", clinic=clinic_name)


def feed_ics(user: User, *, now: datetime | None = None) -> str:
    """The user's private feed: their bookings, and as a therapist their sessions with the
    clients' names. Needs a request context for the links."""
    events = [
        booking_event(booking, for_therapist=booking.client_id != user.id)
        for booking in feed_bookings(user, now=now)
    ]
    return build_calendar(
        events, timezone=current_app.config["CLINIC_TIMEZONE"], name=feed_name(user)
    )
