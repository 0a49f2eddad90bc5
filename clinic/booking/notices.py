"""What happens around every booking change: an audit entry and e-mail to those concerned.

E-mails carry the time, the technique and the people, never health data.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from clinic.audit.models import record as audit
from clinic.booking.models import Booking
from clinic.booking.signals import booking_changed
from clinic.calendars.export import booking_filename, booking_ics, left_calendar_ics
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.i18n import speaking
from clinic.notify.outbox import Attachment, queue_email, render_email

SUBJECTS = {
    "booked": _l("Your booking is confirmed"),
    "booked_pending": _l("Your booking is held: we confirm it after a review"),
    "confirmed": _l("Your booking is confirmed"),
    "cancelled": _l("Your booking is cancelled"),
    "rescheduled": _l("Your booking has moved"),
    "expired": _l("Your held booking has expired"),
    "completed": _l("Thank you for your visit"),
    "no_show": _l("We missed you today"),
}
THERAPIST_SUBJECTS = {
    "booked": _l("New session booked"),
    "booked_pending": _l("New session held (pending review)"),
    "cancelled": _l("A session was cancelled"),
    "rescheduled": _l("A session has moved"),
    "confirmed": _l("A held session is confirmed"),
}

# Who hears about what, besides the audit log.
TELL_THERAPIST = {"booked", "booked_pending", "cancelled", "rescheduled", "confirmed"}

# The calendar invitation each e-mail carries: the same UID every time, with the booking's
# SEQUENCE, so that calendar programs update the one event instead of adding another.
INVITATION = {
    "booked": "REQUEST",
    "booked_pending": "REQUEST",  # a tentative event: the slot is held for the client
    "confirmed": "REQUEST",
    "rescheduled": "REQUEST",
    "cancelled": "CANCEL",
    "expired": "CANCEL",
}


def invitation(booking: Booking, event: str, *, for_therapist: bool) -> Attachment | None:
    """The .ics attachment for this change, or None when the calendar has nothing to follow."""
    method = INVITATION.get(event)
    if method is None:
        return None
    return Attachment(
        booking_filename(booking),
        f"text/calendar; method={method}; charset=UTF-8",
        booking_ics(booking, method=method, for_therapist=for_therapist),
    )


def announce(
    booking: Booking,
    event: str,
    *,
    actor_id: int | None,
    detail: dict | None = None,
) -> None:
    """Record the change in the audit log and queue the e-mails, in the current transaction.

    A client who deleted their account (clinic.privacy) gets no more e-mail; the staff still do.
    """
    audit(
        f"booking.{event}",
        "booking",
        booking.id,
        actor_id=actor_id,
        ip=(request.remote_addr or "") if request else "",
        detail={"status": booking.status.value, **(detail or {})},
    )
    link = url_for("booking.show", booking_id=booking.id, _external=True)
    # A move says where the session was, so nobody has to remember it.
    was = (detail or {}).get("from")
    previous = datetime.fromisoformat(was) if was else None
    if booking.client.erased_at is None:
        with speaking(booking.client):
            text, html = render_email(
                "booking/email/change",
                booking=booking,
                event=event,
                link=link,
                to_therapist=False,
                previous=previous,
            )
            subject = str(SUBJECTS[event])
            attachment = invitation(booking, event, for_therapist=False)
        queue_email(booking.client.email, subject, text, html, attachment)
    if event in TELL_THERAPIST:
        with speaking(booking.therapist.user):
            text, html = render_email(
                "booking/email/change",
                booking=booking,
                event=event,
                link=link,
                to_therapist=True,
                previous=previous,
            )
            subject = str(THERAPIST_SUBJECTS[event])
            attachment = invitation(booking, event, for_therapist=True)
        queue_email(booking.therapist.user.email, subject, text, html, attachment)

    old_therapist = (detail or {}).get("from_therapist_id")
    if event == "rescheduled" and old_therapist and old_therapist != booking.therapist_id:
        # The session left this therapist's calendar: they must hear of it too.
        therapist = db.session.get(Therapist, old_therapist)
        with speaking(therapist.user):
            text, html = render_email(
                "booking/email/moved_away", booking=booking, therapist=therapist, previous=previous
            )
            left = Attachment(
                booking_filename(booking),
                "text/calendar; method=CANCEL; charset=UTF-8",
                left_calendar_ics(booking, therapist.user),
            )
            subject = _("A session moved to another therapist")
        queue_email(therapist.user.email, subject, text, html, left)

    # Time a cancellation, an expiry or a move freed goes to the waitlist, in this transaction.
    booking_changed.send(
        current_app._get_current_object(), booking=booking, event=event, detail=detail or {}
    )
