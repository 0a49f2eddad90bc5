"""A booking in Danish: a client whose own language is Danish books through the pages and gets
the confirmation in Danish, with the date and the price written the Danish way, while the
therapist, whose language is English, gets theirs in English.

The Danish comes from the catalogue as `make translations` compiles it.
"""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message

from sqlalchemy import update

from clinic.auth.models import User
from clinic.extensions import db
from tests.integration.test_booking import book, flashed, params
from tests.support import MONDAY, Clinic, Mailbox, Person, local

# Monday 29 March 2027, the day after the clocks go forward: 09:00 CEST is 07:00 UTC.
MONDAY_29_AT_9 = local(MONDAY.replace(day=29), "09:00")


def set_locale(clinic: Clinic, email: str, locale: str) -> None:
    with clinic.app.app_context():
        db.session.execute(update(User).where(User.email == email).values(locale=locale))
        db.session.commit()


def subject(message: Message) -> str:
    """The Subject header decoded (a Danish one travels as =?utf-8?q?...?=)."""
    return str(make_header(decode_header(message["Subject"])))


def test_a_danish_client_is_written_to_in_danish_and_the_therapist_in_english(
    clinic: Clinic, make_client, mailbox: Mailbox
):
    ida: Person = make_client("ida@example.com")
    set_locale(clinic, "ida@example.com", "da")
    set_locale(clinic, "anna@lindring.example", "en")
    query = params(clinic, start=MONDAY_29_AT_9)

    page = ida.web.get("/book/confirm", query_string=query).get_data(as_text=True)
    assert "Bekræft din booking" in page
    assert "650 kr." in page
    assert "mandag 29. marts 2027" in page

    shown = flashed(ida.web, book(ida.web, query))
    assert "Din booking er bekræftet. En bekræftelse er på vej på e-mail." in shown
    assert ">Bekræftet<" in shown  # the status label

    [to_ida] = mailbox.to("ida@example.com")
    assert subject(to_ida) == "Din booking er bekræftet"
    for body in (mailbox.body(to_ida), mailbox.html(to_ida)):
        assert "Hej Ida" in body
        assert "Din behandling er booket og bekræftet." in body
        assert "29. marts 2027 kl. 09:00 CEST" in body
        assert "650 kr." in body
        assert "Se bookingen" in body
        assert "Hello" not in body and "DKK" not in body

    [to_anna] = mailbox.to("anna@lindring.example")
    assert subject(to_anna) == "New session booked"
    for body in (mailbox.body(to_anna), mailbox.html(to_anna)):
        assert "Hello Anna Holm," in body
        assert "A new session is booked with you." in body
        assert "29 March 2027, 09:00 CEST" in body
        assert "Hej" not in body and "marts" not in body
