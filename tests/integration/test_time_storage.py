"""Instants are stored in UTC and come back aware, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select, text

from clinic.extensions import db
from clinic.notify.models import OutboxMessage


def test_an_instant_in_clinic_time_comes_back_as_the_same_instant_in_utc(app):
    copenhagen_summer = timezone(timedelta(hours=2))
    written = datetime(2027, 3, 29, 9, 0, tzinfo=copenhagen_summer)
    with app.app_context():
        db.session.add(
            OutboxMessage(to_address="a@b.dk", subject="s", body_text="b", sent_at=written)
        )
        db.session.commit()
        db.session.expunge_all()
        read = db.session.scalar(select(OutboxMessage.sent_at))
        raw = db.session.execute(text("SELECT sent_at FROM outbox_message")).scalar()
    assert read == written
    assert read.tzinfo is UTC and read.hour == 7
    # What the database holds is 07:00 UTC, whichever way it represents it.
    raw_utc = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    if raw_utc.tzinfo is not None:
        raw_utc = raw_utc.astimezone(UTC).replace(tzinfo=None)
    assert raw_utc == datetime(2027, 3, 29, 7, 0)  # noqa: DTZ001


def test_defaults_are_taken_at_insert_time(app, make_user):
    before = datetime.now(UTC)
    first = make_user()
    second = make_user()
    assert before <= first.created_at <= second.created_at <= datetime.now(UTC)
