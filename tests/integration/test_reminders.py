"""The reminder e-mail 24 hours before each confirmed session.

The clock starts on Monday 22 March 2027, 07:00 in Copenhagen (CET), with the demo clinic. The
reminders are looked for at Monday 11:00, when Tuesday 10:00 is 23 hours ahead and Tuesday
12:30 is 25 and a half.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.auth.models import User
from clinic.booking import changes
from clinic.booking.models import Booking
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.notify.reminders import queue_due_reminders
from clinic.scheduling.models import ClinicPolicy
from tests.integration.test_booking_changes import book
from tests.support import MONDAY, Clinic, Mailbox, load, local

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
MON_11 = local(MONDAY, "11:00")
TUE_10 = local(TUESDAY, "10:00")  # 23 hours after MON_11
TUE_1230 = local(TUESDAY, "12:30")  # 25.5 hours after MON_11


def run(clinic: Clinic, now: datetime) -> int:
    """Look for due reminders at `now`, as the command does: one transaction."""
    with clinic.app.app_context():
        queued = queue_due_reminders(now)
        db.session.commit()
        return queued


def reminders(clinic: Clinic) -> list[tuple[str, str]]:
    """The queued reminders as (to, subject), oldest first."""
    with clinic.app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.to_address, OutboxMessage.subject)
            .where(OutboxMessage.subject.startswith("Reminder:"))
            .order_by(OutboxMessage.id)
        )
        return [tuple(r) for r in rows]


def user(clinic: Clinic, email: str) -> User:
    with clinic.app.app_context():
        found = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(found)
        return found


def test_a_reminder_is_queued_once_for_a_confirmed_session_within_24_hours(
    clinic, ida, make_client
):
    soon = book(clinic, ida, TUE_10)  # 23 hours ahead at MON_11
    later = book(clinic, ida, TUE_1230)  # 25.5 hours ahead
    eva = make_client("eva@example.com", yes=("pregnancy",))  # held until a review
    pending = book(clinic, eva, TUE_10, "bo", "classic-massage")
    ole = make_client("ole@example.com")
    cancelled = book(clinic, ole, local(TUESDAY, "10:30"), "clara")
    with clinic.app.app_context():
        changes.cancel(
            db.session.get(Booking, cancelled),
            by=db.session.get(User, ole.id),
            reason="",
            now=clinic.now(),
        )
        db.session.commit()
    assert load(clinic, pending).status.value == "pending"

    assert run(clinic, MON_11 - timedelta(hours=1, minutes=1)) == 0  # 24 h 1 min ahead: not yet
    assert run(clinic, MON_11) == 1
    assert reminders(clinic) == [
        ("ida@example.com", "Reminder: your session on 23 March 2027, 10:00 CET")
    ]
    assert load(clinic, soon).reminder_queued_at == MON_11
    assert load(clinic, later).reminder_queued_at is None
    assert load(clinic, pending).reminder_queued_at is None  # pending bookings get none
    assert load(clinic, cancelled).reminder_queued_at is None

    # Run again, and again later: still one for the first, and the second when its time comes.
    assert run(clinic, MON_11) == 0
    assert run(clinic, MON_11 + timedelta(hours=2)) == 1
    assert [subject for _, subject in reminders(clinic)] == [
        "Reminder: your session on 23 March 2027, 10:00 CET",
        "Reminder: your session on 23 March 2027, 12:30 CET",
    ]
    # A session that has begun is past reminding, even if no run caught it in time.
    assert run(clinic, TUE_10 + timedelta(hours=3)) == 0


def test_a_reminder_is_queued_exactly_at_24_hours_and_not_once_the_session_started(clinic, ida):
    booking_id = book(clinic, ida, TUE_10)
    assert run(clinic, TUE_10 - timedelta(hours=24, seconds=1)) == 0
    assert run(clinic, TUE_10 - timedelta(hours=24)) == 1
    assert load(clinic, booking_id).reminder_queued_at == TUE_10 - timedelta(hours=24)


def test_queueing_a_reminder_is_no_change_to_the_booking(clinic, ida):
    booking_id = book(clinic, ida, TUE_10)
    before = load(clinic, booking_id)
    run(clinic, MON_11)
    after = load(clinic, booking_id)
    # Calendars read these: a reminder must not look like a change of the session.
    assert (after.sequence, after.updated_at) == (before.sequence, before.updated_at)
    assert after.reminder_queued_at == MON_11


@pytest.mark.parametrize(
    ("cutoff_hours", "policy"),
    [
        # The usual 24 hours: at the reminder it is too late to change online.
        (24, "so this one can no longer be changed online. If you cannot come, please call"),
        # A clinic with a 12-hour cut-off: the client may still change it.
        (12, "You can still cancel or move it free of charge until 22 March 2027, 22:00 CET"),
    ],
)
def test_the_reminder_says_when_where_what_with_whom_and_the_policy_but_no_health_data(
    clinic, make_client, mailbox, cutoff_hours, policy
):
    with clinic.app.app_context():
        stored = db.session.get(ClinicPolicy, 1)
        stored.cancellation_cutoff_hours = cutoff_hours
        db.session.commit()
    vera = make_client("vera@example.com", yes=("varicose_veins", "skin_allergy"))
    booking_id = book(clinic, vera, TUE_10)
    assert load(clinic, booking_id).status.value == "confirmed"  # caution only

    clinic.set_clock(MON_11)
    result = clinic.app.test_cli_runner().invoke(args=["send-outbox"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 reminder(s). Sent 1 e-mail(s), 0 failed." in result.output

    [message] = mailbox.to("vera@example.com")
    assert message["Subject"] == "Reminder: your session on 23 March 2027, 10:00 CET"
    text, html = Mailbox.body(message), Mailbox.html(message)
    with clinic.app.app_context():
        booking = db.session.get(Booking, booking_id)
        therapist, room = booking.therapist.user.name, booking.room.name
        link = f"{clinic.app.config['PUBLIC_URL']}/bookings/{booking_id}"
        clinic_name = clinic.app.config["CLINIC_NAME"]
    for part in (text, html):
        assert "Hello Vera," in part
        assert "Sports massage, 60 minutes" in part
        assert "23 March 2027, 10:00 CET" in part
        assert therapist in part and room in part and clinic_name in part
        assert link in part
        assert policy in " ".join(part.split())
    assert f'href="{link}"' in html
    # Never health data: not the answers, not the therapist's notes, not even the word.
    for part in (text.lower(), html.lower()):
        for word in ("varicose", "vein", "allerg", "lotion", "nut-free", "screening", "health"):
            assert word not in part, word


def test_two_runs_at_once_queue_each_reminder_once(clinic, make_client):
    clients = [make_client(f"c{n}@example.com") for n in range(3)]
    booked = []
    for hhmm in ("09:00", "10:30", "13:00"):
        for person, (therapist, technique) in zip(
            clients,
            [("anna", "sports-massage"), ("bo", "classic-massage"), ("david", "sports-massage")],
            strict=True,
        ):
            booked.append(book(clinic, person, local(TUESDAY, hhmm), therapist, technique))
    at = local(MONDAY, "17:00")  # every one of them within the next 24 hours
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def one_run() -> None:
        try:
            start.wait(timeout=10)
            counts.append(run(clinic, at))
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(counts) == len(booked) == 9
    with clinic.app.app_context():
        per_client = dict(
            db.session.execute(
                select(OutboxMessage.to_address, func.count())
                .where(OutboxMessage.subject.startswith("Reminder:"))
                .group_by(OutboxMessage.to_address)
            ).all()
        )
    assert per_client == {p.email: 3 for p in clients}


def test_a_session_moved_after_its_reminder_gets_a_new_one(clinic, ida):
    booking_id = book(clinic, ida, TUE_10)
    assert run(clinic, MON_11) == 1
    admin = user(clinic, "admin@lindring.example")
    with clinic.app.app_context():
        changes.reschedule(
            db.session.get(Booking, booking_id),
            by=db.session.get(User, admin.id),
            new_start=local(WEDNESDAY, "10:00"),
            now=MON_11,
            timezone="Europe/Copenhagen",
        )
        db.session.commit()
    assert load(clinic, booking_id).reminder_queued_at is None
    assert run(clinic, local(TUESDAY, "11:00")) == 1
    assert reminders(clinic)[-1] == (
        "ida@example.com",
        "Reminder: your session on 24 March 2027, 10:00 CET",
    )


def test_queue_reminders_command(clinic, ida):
    book(clinic, ida, TUE_10)
    clinic.set_clock(MON_11)
    runner = clinic.app.test_cli_runner()
    first = runner.invoke(args=["queue-reminders"])
    assert first.exit_code == 0, first.output
    assert "Queued 1 reminder(s)" in first.output
    assert "Queued 0 reminder(s)" in runner.invoke(args=["queue-reminders"]).output
    assert len(reminders(clinic)) == 1
