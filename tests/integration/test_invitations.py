"""The calendar invitations that booking e-mails carry, as they arrive at a real SMTP server.

A confirmation carries METHOD:REQUEST; a move a REQUEST with a higher SEQUENCE; a cancellation
METHOD:CANCEL with STATUS:CANCELLED, the same UID and a higher SEQUENCE again, so that calendar
programs update the one event. Each is read back with icalendar and with vobject.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from tests.integration.test_booking import TUE_10, book, booked_id, params, post_on_page
from tests.integration.test_booking_changes import move
from tests.support import Clinic, Mailbox, Person, invitation, local


def event_of(calendar: icalendar.Calendar) -> icalendar.Event:
    [event] = calendar.walk("VEVENT")
    return event


def test_confirmation_move_and_cancellation_update_one_event(
    clinic: Clinic, ida: Person, mailbox: Mailbox
):
    booking_id = booked_id(book(ida.web, params(clinic)))
    [to_ida] = mailbox.to("ida@example.com")
    [to_anna] = mailbox.to("anna@lindring.example")

    method, calendar, parsed = invitation(to_ida)
    assert method == "REQUEST" and calendar["METHOD"] == "REQUEST"
    event = event_of(calendar)
    uid = str(event["UID"])
    assert uid.startswith(f"booking-{booking_id}@")
    assert event["SEQUENCE"] == 0 and event["STATUS"] == "CONFIRMED"
    assert event["DTSTART"].params["TZID"] == "Europe/Copenhagen"
    assert event.decoded("DTSTART").astimezone(UTC) == TUE_10.astimezone(UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=60)
    assert "Anna Holm" in str(event["SUMMARY"]) and "Room 1" in str(event["LOCATION"])
    assert str(event["ATTENDEE"]).lower() == "mailto:ida@example.com"
    # The independent parser reads the same instant from the TZID and the VTIMEZONE.
    assert parsed.vevent.dtstart.value.astimezone(UTC) == TUE_10.astimezone(UTC)
    assert parsed.vevent.uid.value == uid

    # The therapist's copy: the same event, with the client's name, and them as attendee.
    method, calendar, _ = invitation(to_anna)
    event = event_of(calendar)
    assert method == "REQUEST" and str(event["UID"]) == uid
    assert "Ida" in str(event["SUMMARY"])
    assert str(event["ATTENDEE"]).lower() == "mailto:anna@lindring.example"

    # Moved an hour later by the client: a new REQUEST for the same UID, one SEQUENCE up.
    mailbox.messages.clear()
    later = local(TUE_10.date(), "11:00")
    response = move(ida.web, booking_id, later, clinic.ids["anna"])
    assert response.status_code == 302
    [moved] = mailbox.to("ida@example.com")
    method, calendar, parsed = invitation(moved)
    event = event_of(calendar)
    assert method == "REQUEST" and str(event["UID"]) == uid and event["SEQUENCE"] == 1
    assert event.decoded("DTSTART").astimezone(UTC) == later.astimezone(UTC)
    assert parsed.vevent.dtstart.value.astimezone(UTC) == later.astimezone(UTC)

    # Cancelled: METHOD:CANCEL, STATUS:CANCELLED, the same UID, SEQUENCE up again.
    mailbox.messages.clear()
    post_on_page(ida.web, f"/bookings/{booking_id}", f"/bookings/{booking_id}/cancel")
    for message in (*mailbox.to("ida@example.com"), *mailbox.to("anna@lindring.example")):
        method, calendar, parsed = invitation(message)
        event = event_of(calendar)
        assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
        assert str(event["UID"]) == uid and event["SEQUENCE"] == 2
        assert event["STATUS"] == "CANCELLED" and parsed.vevent.status.value == "CANCELLED"


def test_no_invitation_carries_health_data(clinic: Clinic, make_client, mailbox: Mailbox):
    ida = make_client("ida@example.com", yes=("varicose_veins", "skin_allergy"))
    book(ida.web, params(clinic))
    messages = mailbox.messages
    assert len(messages) == 2
    for message in messages:
        _, calendar, _ = invitation(message)
        text = calendar.to_ical().decode().lower()
        for health in ("varicose", "allerg", "screening", "caution"):
            assert health not in text


def test_a_download_is_the_same_event_without_the_invitation(clinic: Clinic, ida: Person):
    booking_id = booked_id(book(ida.web, params(clinic)))
    response = ida.web.get(f"/bookings/{booking_id}.ics")
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.get_data(as_text=True))
    event = event_of(calendar)
    assert "METHOD" not in calendar and "ATTENDEE" not in event
    assert str(event["UID"]).startswith(f"booking-{booking_id}@")
    assert event.decoded("DTSTART").astimezone(UTC) == TUE_10.astimezone(UTC)
    assert isinstance(event.decoded("DTSTAMP"), datetime)
