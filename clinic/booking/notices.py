"""What happens around every booking change: an audit entry and e-mail to those concerned.

E-mails carry the time, the technique and the people, never health data.
"""

from __future__ import annotations

from datetime import datetime

from flask import request, url_for

from clinic.audit.models import record as audit
from clinic.booking.models import Booking
from clinic.catalog.models import Therapist
from clinic.extensions import db
from clinic.notify.outbox import queue_email, render_email

SUBJECTS = {
    "booked": "Your booking is confirmed",
    "booked_pending": "Your booking is held: we confirm it after a review",
    "confirmed": "Your booking is confirmed",
    "cancelled": "Your booking is cancelled",
    "rescheduled": "Your booking has moved",
    "expired": "Your held booking has expired",
    "completed": "Thank you for your visit",
    "no_show": "We missed you today",
}

# Who hears about what, besides the audit log.
TELL_THERAPIST = {"booked", "booked_pending", "cancelled", "rescheduled", "confirmed"}


def announce(
    booking: Booking, event: str, *, actor_id: int | None, detail: dict | None = None
) -> None:
    """Record the change in the audit log and queue the e-mails, in the current transaction."""
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
    text, html = render_email(
        "booking/email/change",
        booking=booking,
        event=event,
        link=link,
        to_therapist=False,
        previous=previous,
    )
    queue_email(booking.client.email, SUBJECTS[event], text, html)
    if event in TELL_THERAPIST:
        text, html = render_email(
            "booking/email/change",
            booking=booking,
            event=event,
            link=link,
            to_therapist=True,
            previous=previous,
        )
        subject = {
            "booked": "New session booked",
            "booked_pending": "New session held (pending review)",
            "cancelled": "A session was cancelled",
            "rescheduled": "A session has moved",
            "confirmed": "A held session is confirmed",
        }[event]
        queue_email(booking.therapist.user.email, subject, text, html)

    old_therapist = (detail or {}).get("from_therapist_id")
    if event == "rescheduled" and old_therapist and old_therapist != booking.therapist_id:
        # The session left this therapist's calendar: they must hear of it too.
        therapist = db.session.get(Therapist, old_therapist)
        text, html = render_email(
            "booking/email/moved_away", booking=booking, therapist=therapist, previous=previous
        )
        queue_email(therapist.user.email, "A session moved to another therapist", text, html)
