"""The waitlist: joining and leaving it, offers when a time frees up, and claiming them.

The clock is pinned to Monday 22 March 2027, 07:00 in Copenhagen, and the demo clinic is seeded
for that day. The freed time is mostly Anna's sports massage on Tuesday 23 March at 10:00.
Offers travel by e-mail to the real SMTP server of the `mailbox` fixture; the claim link is
read from there, as a client would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking import operations
from clinic.booking.models import Booking, BookingStatus
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.screening.operations import VALID_FOR
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer
from clinic.waitlist.offers import SUBJECT, wanted
from tests.integration.test_booking import booked_id, flashed, post_on_page
from tests.support import (
    CPH,
    MONDAY,
    NOW,
    Clinic,
    Mailbox,
    Person,
    csrf_token_from,
    local,
    screen,
)

TZ = "Europe/Copenhagen"
TUESDAY = MONDAY + timedelta(days=1)
SATURDAY = MONDAY + timedelta(days=5)
TUE_10 = local(TUESDAY, "10:00")
LINK_RE = re.compile(r"https?://[^/\s]+(/waitlist/offers/[A-Za-z0-9_-]{43})")
MakeClient = Callable[..., Person]


# --- helpers --------------------------------------------------------------------------------


def join(person: Person, **fields: object):
    """Fill in and send the join form: sports massage, 60 minutes, any therapist by default."""
    data = {"technique": "sports-massage", "duration": 60, "therapist": 0, **fields}
    return post_on_page(person.web, "/waitlist/join", "/waitlist/join", data)


def joined(person: Person, **fields: object) -> None:
    response = join(person, **fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/waitlist"


def book(
    clinic: Clinic,
    person: Person,
    start: datetime = TUE_10,
    therapist: str = "anna",
    minutes: int = 60,
) -> int:
    """A sports massage booked through the operation, without e-mail."""
    with clinic.app.app_context():
        booking = operations.book(
            db.session.get(User, person.id),
            operations.Request("sports-massage", minutes, clinic.ids[therapist], start),
            now=clinic.now(),
            timezone=TZ,
        )
        db.session.commit()
        return booking.id


def cancel(web: FlaskClient, booking_id: int, reason: str = ""):
    page = f"/bookings/{booking_id}"
    response = post_on_page(web, page, f"{page}/cancel", {"reason": reason})
    assert response.status_code == 302
    return response


def offers_mailed(mailbox: Mailbox) -> list[tuple[str, str]]:
    """(recipient, claim link path) of each offer e-mail, in the order the server got them."""
    found = []
    for message in mailbox.messages:
        if message["Subject"] == SUBJECT:
            match = LINK_RE.search(Mailbox.body(message))
            assert match, Mailbox.body(message)
            found.append((message["To"], match.group(1)))
    return found


def claim(web: FlaskClient, link: str):
    """Open the offer and press "Book this time"."""
    page = web.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    return web.post(link, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})


def offers(clinic: Clinic) -> list[WaitlistOffer]:
    with clinic.app.app_context():
        found = list(db.session.scalars(select(WaitlistOffer).order_by(WaitlistOffer.id)))
        db.session.expunge_all()
        return found


def entry_of(clinic: Clinic, person: Person) -> WaitlistEntry:
    with clinic.app.app_context():
        found = db.session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.client_id == person.id)
            .order_by(WaitlistEntry.id.desc())
        ).first()
        assert found is not None
        db.session.expunge(found)
        return found


def count(clinic: Clinic, model, *where) -> int:
    with clinic.app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- joining and leaving --------------------------------------------------------------------


def test_a_refused_join_keeps_what_was_typed_and_says_why(clinic: Clinic, ida: Person):
    response = join(
        ida,
        duration=45,
        therapist=clinic.ids["bo"],
        weekdays=["1", "3"],
        day_parts=["evening"],
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Sports massage comes in 60 or 90 minutes." in page
    assert "Bo Lindqvist does not offer sports massage" in page
    for day in ("1", "3"):
        assert re.search(rf'<input checked[^>]*name="weekdays"[^>]*value="{day}"', page), day
    assert not re.search(r'<input checked[^>]*name="weekdays"[^>]*value="2"', page)
    assert re.search(r'<input checked[^>]*name="day_parts"[^>]*value="evening"', page)
    assert re.search(rf'<option selected value="{clinic.ids["bo"]}">', page)
    assert count(clinic, WaitlistEntry) == 0


def test_the_free_times_page_links_to_the_join_form_prefilled(clinic: Clinic, ida: Person):
    anna = clinic.ids["anna"]
    search = ida.web.get(
        "/book",
        query_string={"technique": "trigger-point-therapy", "duration": 30, "therapist": anna},
    ).get_data(as_text=True)
    [href] = re.findall(r'href="(/waitlist/join\?[^"]+)"', search)
    page = ida.web.get(href.replace("&amp;", "&")).get_data(as_text=True)
    assert '<option selected value="trigger-point-therapy">' in page
    assert '<option selected value="30">' in page
    assert f'<option selected value="{anna}">' in page


def test_a_screening_that_rules_the_technique_out_refuses_the_join(
    clinic: Clinic, make_client: MakeClient
):
    ill = make_client("ill@example.com", yes=("fever_infection",))
    response = join(ill)
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "does not allow sports massage now" in page
    assert 'href="/screening"' in page
    unscreened = make_client("new@example.com", screened=False)
    page = join(unscreened).get_data(as_text=True)
    assert "Please answer the health screening before you join the waitlist." in page
    assert 'href="/screening/new"' in page
    assert count(clinic, WaitlistEntry) == 0


def test_a_client_waits_for_at_most_five_things_and_never_twice_for_one(
    clinic: Clinic, ida: Person
):
    for weekday in range(5):
        joined(ida, weekdays=[str(weekday)])
    again = join(ida, weekdays=["0"])
    assert again.status_code == 409
    assert "You can wait for at most 5 things at once." in again.get_data(as_text=True)
    page = ida.web.get("/waitlist").get_data(as_text=True)
    assert page.count("data-entry=") == 5
    assert "the most at once" in page

    leave_first(ida)
    duplicate = join(ida, weekdays=["1"])
    assert duplicate.status_code == 409
    assert "already on the waitlist for exactly this" in duplicate.get_data(as_text=True)


def leave_first(person: Person):
    page = person.web.get("/waitlist").get_data(as_text=True)
    entry_id = re.search(r'data-entry="(\d+)"', page).group(1)
    return post_on_page(person.web, "/waitlist", f"/waitlist/{entry_id}/leave")


def test_a_client_sees_and_leaves_their_entries_and_nobody_elses(
    clinic: Clinic, ida: Person, make_client: MakeClient
):
    joined(ida, therapist=clinic.ids["anna"], weekdays=["1", "3"], day_parts=["morning"])
    page = ida.web.get("/waitlist").get_data(as_text=True)
    assert "Sports massage, 60 min" in page and "Anna Holm" in page
    assert "Tuesdays, Thursdays; morning (06:00\u201312:00)" in page
    entry = entry_of(clinic, ida)

    eve = make_client("eve@example.com")
    assert "data-entry=" not in eve.web.get("/waitlist").get_data(as_text=True)
    stranger = post_on_page(eve.web, "/waitlist", f"/waitlist/{entry.id}/leave")
    assert stranger.status_code == 404
    assert entry_of(clinic, ida).is_active

    shown = flashed(ida.web, leave_first(ida))
    assert "You have left the waitlist for sports massage." in shown
    assert "data-entry=" not in shown
    assert entry_of(clinic, ida).left_at == NOW
    with clinic.app.app_context():
        trail = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id)
            .where(AuditEntry.subject_type == "waitlist_entry", AuditEntry.subject_id == entry.id)
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(r) for r in trail] == [("waitlist.joined", ida.id), ("waitlist.left", ida.id)]


@pytest.mark.parametrize(
    ("weekdays", "parts", "local_start", "fits"),
    [
        ([], [], "2027-03-23T10:00", True),  # no wishes: anything
        ([1], [], "2027-03-23T10:00", True),  # a Tuesday
        ([2], [], "2027-03-23T10:00", False),  # Wednesdays only
        ([], ["morning"], "2027-03-23T11:45", True),  # starts before noon
        ([], ["morning"], "2027-03-23T12:00", False),  # noon is the afternoon
        ([], ["afternoon", "evening"], "2027-03-23T17:00", True),
        ([1], ["evening"], "2027-03-23T16:45", False),  # right day, wrong time
    ],
)
def test_wishes_match_the_local_start(weekdays, parts, local_start, fits):
    start = datetime.fromisoformat(local_start).replace(tzinfo=CPH)
    assert wanted(weekdays, parts, start) is fits


# --- offers when a cancellation frees a time ------------------------------------------------


@dataclass
class Waiting:
    """The clients of the `waiting` fixture by name, and the booking whose time frees up."""

    people: dict[str, Person]
    booking_id: int

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    def cancel_idas_booking(self) -> None:
        cancel(self.people["ida"].web, self.booking_id)


@pytest.fixture
def waiting(clinic: Clinic, make_client: MakeClient, ida: Person) -> Waiting:
    """Ida holds Tuesday 10:00 with Anna; nine clients wait, three of whom fit when it frees.

    The clock then stands at 09:00 on Monday: Ida may still cancel, and one waiting client's
    screening has expired meanwhile.
    """
    people = {"ida": ida}
    people["first"] = make_client("first@example.com")
    joined(people["first"])
    people["wednesday"] = make_client("wednesday@example.com")
    joined(people["wednesday"], weekdays=["2"])
    people["second"] = make_client("second@example.com")
    joined(people["second"], therapist=clinic.ids["anna"], weekdays=["1"], day_parts=["morning"])
    # Valid when joining, expired an hour later.
    people["expired"] = make_client(
        "expired@example.com", screened_at=NOW - VALID_FOR + timedelta(hours=1)
    )
    joined(people["expired"])
    people["blocked"] = make_client("blocked@example.com")
    joined(people["blocked"])
    screen(clinic.app, people["blocked"].id, ("fever_infection",))  # not now, for every technique
    people["evening"] = make_client("evening@example.com")
    joined(people["evening"], day_parts=["evening"])
    people["classic"] = make_client("classic@example.com")
    joined(people["classic"], technique="classic-massage")
    people["busy"] = make_client("busy@example.com")
    joined(people["busy"])
    # Booked with David from 09:00 to 11:45 (a break at 10:30): every time the cancellation
    # opens for Anna (09:00 to 11:00, the buffer included) overlaps one of these.
    book(clinic, people["busy"], local(TUESDAY, "09:00"), "david", minutes=90)
    book(clinic, people["busy"], local(TUESDAY, "10:45"), "david")
    people["third"] = make_client("third@example.com")
    joined(people["third"])
    booking_id = book(clinic, ida)
    clinic.set_clock(NOW + timedelta(hours=2))
    return Waiting(people, booking_id)


def test_a_cancellation_offers_the_time_to_the_right_clients_in_join_order(
    clinic: Clinic, waiting: Waiting, mailbox: Mailbox
):
    waiting.cancel_idas_booking()

    mailed = offers_mailed(mailbox)
    assert [to for to, _ in mailed] == [
        "first@example.com",
        "second@example.com",
        "third@example.com",
    ]
    made = offers(clinic)
    assert [o.entry_id for o in made] == [
        entry_of(clinic, waiting[name]).id for name in ("first", "second", "third")
    ]
    later = clinic.now() + timedelta(minutes=120)
    for offer in made:
        assert (offer.therapist_id, offer.starts_at, offer.duration_minutes) == (
            clinic.ids["anna"],
            TUE_10,
            60,
        )
        assert offer.expires_at == later and offer.outcome == ""
        assert len(offer.token_hash) == 64
    assert len({link for _, link in mailed}) == 3
    assert all(link.rsplit("/", 1)[1] not in o.token_hash for o in made for _, link in mailed)

    message = next(m for m in mailbox.messages if m["Subject"] == SUBJECT)
    for part in (Mailbox.body(message), Mailbox.html(message)):
        assert "Sports massage" in part and "60 minutes" in part
        assert "Anna Holm" in part
        assert "Tue 23 Mar 2027" in part or "23 March 2027" in part or "2027-03-23" in part
        assert "screening" not in part.lower()
    assert "10:00" in Mailbox.body(message) and "11:00" in Mailbox.body(message)


def test_claiming_books_the_time_and_later_claims_see_it_taken(
    clinic: Clinic, waiting: Waiting, mailbox: Mailbox
):
    waiting.cancel_idas_booking()
    (_, first_link), (_, second_link), (_, third_link) = offers_mailed(mailbox)
    first, second = waiting["first"], waiting["second"]
    mailbox.messages.clear()

    page = first.web.get(first_link).get_data(as_text=True)
    assert "Book this time" in page and "Anna Holm" in page
    response = claim(first.web, first_link)
    booking_id = booked_id(response)
    assert "The time is yours." in flashed(first.web, response)
    with clinic.app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert (booking.client_id, booking.therapist_id, booking.starts_at) == (
            first.id,
            clinic.ids["anna"],
            TUE_10,
        )
        assert booking.status is BookingStatus.CONFIRMED
    entry = entry_of(clinic, first)
    assert entry.booked_id == booking_id and not entry.is_active
    claimed = [o for o in offers(clinic) if o.entry_id == entry.id]
    assert [(o.outcome, o.booking_id) for o in claimed] == [("claimed", booking_id)]
    assert [m["Subject"] for m in mailbox.to(first.email)] == ["Your booking is confirmed"]
    assert "data-entry=" not in first.web.get("/waitlist").get_data(as_text=True)

    # Second opens the link: the page says so at once, and pressing the button changes nothing.
    assert "already taken" in second.web.get(second_link).get_data(as_text=True)
    late = second.web.post(
        second_link,
        data={"csrf_token": csrf_token_from(second.web.get("/waitlist").get_data(as_text=True))},
    )
    page = late.get_data(as_text=True)
    assert late.status_code == 409
    assert "already taken" in page and "You stay on the waitlist" in page
    assert entry_of(clinic, second).is_active
    assert [o.outcome for o in offers(clinic) if o.entry_id == entry_of(clinic, second).id] == [
        "taken"
    ]
    assert count(clinic, Booking, Booking.starts_at == TUE_10, Booking.status != "cancelled") == 1

    # The admins' list shows who waits, in order, and what came of each offer.
    admin = clinic.staff("admin").get("/admin/waitlist?technique=sports-massage")
    page = admin.get_data(as_text=True)
    assert admin.status_code == 200
    order = [page.index(name) for name in ("Second", "Expired", "Blocked", "Evening", "Third")]
    assert order == sorted(order)
    assert page.index("Wednesday") < page.index("Second")
    # Third has not opened the link yet: the offer is taken all the same.
    assert page.count("Anna Holm: claimed") == 1 and page.count("Anna Holm: taken") == 2
    assert first.web.get("/admin/waitlist").status_code == 403
    assert "already taken" in waiting["third"].web.get(third_link).get_data(as_text=True)


def test_a_replayed_claim_books_once(clinic: Clinic, waiting: Waiting, mailbox: Mailbox):
    waiting.cancel_idas_booking()
    (_, link), *_ = offers_mailed(mailbox)
    first = waiting["first"]
    page = first.web.get(link).get_data(as_text=True)
    form = {"csrf_token": csrf_token_from(page)}
    one = booked_id(first.web.post(link, data=form))
    again = first.web.post(link, data=form)
    assert booked_id(again) == one
    assert "You had already booked this time" in flashed(first.web, again)
    assert count(clinic, Booking, Booking.client_id == first.id) == 1


def test_an_expired_offer_books_nothing_and_the_client_keeps_waiting(
    clinic: Clinic, waiting: Waiting, mailbox: Mailbox
):
    waiting.cancel_idas_booking()
    *_, (_, link) = offers_mailed(mailbox)
    third = waiting["third"]
    page = third.web.get(link).get_data(as_text=True)
    clinic.set_clock(clinic.now() + timedelta(minutes=121))
    assert "This offer has expired" in third.web.get(link).get_data(as_text=True)
    response = third.web.post(link, data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 410
    assert "This offer has expired" in response.get_data(as_text=True)
    assert "You stay on the waitlist" in response.get_data(as_text=True)
    assert count(clinic, Booking, Booking.client_id == third.id) == 0
    assert entry_of(clinic, third).is_active
    mine = [o for o in offers(clinic) if o.entry_id == entry_of(clinic, third).id]
    assert [o.outcome for o in mine] == ["expired"]


def test_an_offer_is_for_its_own_client_only(clinic: Clinic, waiting: Waiting, mailbox: Mailbox):
    waiting.cancel_idas_booking()
    (_, link), *_ = offers_mailed(mailbox)
    second = waiting["second"]
    assert second.web.get(link).status_code == 404
    token = csrf_token_from(second.web.get("/waitlist").get_data(as_text=True))
    assert second.web.post(link, data={"csrf_token": token}).status_code == 404
    assert clinic.staff("admin").get(link).status_code == 404
    anonymous = clinic.web().get(link)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    unknown = second.web.get("/waitlist/offers/" + "A" * 43)
    assert unknown.status_code == 404
    assert "We cannot find this offer" in unknown.get_data(as_text=True)
    assert all(o.outcome == "" for o in offers(clinic))
    assert count(clinic, Booking, Booking.status != "cancelled") == 2  # busy's, with David


def test_an_offer_ends_when_the_time_can_no_longer_be_booked(
    clinic: Clinic, make_client: MakeClient, ida: Person
):
    joined(ida)
    eve = make_client("eve@example.com")
    soon = local(MONDAY, "10:00")  # 2 hours' notice: bookable until 08:00, now is 07:00
    booking_id = book(clinic, eve, soon)
    cancel(clinic.staff("anna"), booking_id, reason="Anna is ill")
    [offer] = offers(clinic)
    assert offer.starts_at == soon
    assert offer.expires_at == soon - timedelta(hours=2)


# --- other ways time frees up ---------------------------------------------------------------


def test_an_expired_pending_booking_frees_its_time_for_the_waitlist(
    clinic: Clinic, make_client: MakeClient, ida: Person
):
    clinic.app.config["PUBLIC_URL"] = "https://booking.clinic.example"
    joined(ida)
    eva = make_client("eva@example.com", yes=("pregnancy",))  # her bookings wait for a review
    held = book(clinic, eva)
    clinic.set_clock(local(MONDAY, "10:30"))  # within 24 hours of Tuesday 10:00
    result = clinic.app.test_cli_runner().invoke(args=["expire-pending"])
    assert "Expired 1 pending booking(s)" in result.output, result.output

    [offer] = offers(clinic)
    assert (offer.entry_id, offer.starts_at) == (entry_of(clinic, ida).id, TUE_10)
    with clinic.app.app_context():
        [mail] = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.subject == SUBJECT)
        ).all()
    assert mail.to_address == ida.email
    assert "https://booking.clinic.example/waitlist/offers/" in mail.body_text
    with clinic.app.app_context():
        assert db.session.get(Booking, held).status is BookingStatus.CANCELLED


def test_a_moved_booking_offers_its_old_time(
    clinic: Clinic, make_client: MakeClient, ida: Person, mailbox: Mailbox
):
    eve = make_client("eve@example.com")
    joined(eve, therapist=clinic.ids["anna"])
    booking_id = book(clinic, ida)
    page = f"/bookings/{booking_id}/reschedule"
    new_start = local(TUESDAY, "14:00")
    shown = ida.web.get(page, query_string={"start": new_start.isoformat()})
    moved = ida.web.post(
        page,
        data={
            "csrf_token": csrf_token_from(shown.get_data(as_text=True)),
            "start": new_start.isoformat(),
            "therapist": clinic.ids["anna"],
        },
    )
    assert moved.status_code == 302, moved.get_data(as_text=True)
    [offer] = offers(clinic)
    assert (offer.starts_at, offer.therapist_id) == (TUE_10, clinic.ids["anna"])
    [(to, link)] = offers_mailed(mailbox)
    assert to == eve.email
    assert booked_id(claim(eve.web, link))


def test_new_working_hours_offer_the_times_they_open(
    clinic: Clinic, make_client: MakeClient, ida: Person, mailbox: Mailbox
):
    joined(ida, weekdays=["5"])  # Saturdays: Anna does not work then
    eve = make_client("eve@example.com")
    joined(eve, weekdays=["1"])  # Tuesdays: Anna's Tuesdays are open already
    anna = clinic.staff("anna")
    week = {}
    for weekday in range(7):
        for n in (1, 2, 3):
            week[f"d{weekday}_{n}_start"] = week[f"d{weekday}_{n}_end"] = ""
    for weekday in range(5):
        week |= {f"d{weekday}_1_start": "09:00", f"d{weekday}_1_end": "12:00"}
        week |= {f"d{weekday}_2_start": "12:30", f"d{weekday}_2_end": "17:00"}
    week |= {"d5_1_start": "09:00", "d5_1_end": "12:00"}
    saved = post_on_page(anna, "/therapist/hours", "/therapist/hours", week)
    assert saved.status_code == 302, saved.get_data(as_text=True)

    [offer] = offers(clinic)
    assert offer.entry_id == entry_of(clinic, ida).id
    assert offer.starts_at == local(SATURDAY, "09:00")
    assert [to for to, _ in offers_mailed(mailbox)] == [ida.email]
    # Saving the same hours again opens nothing new.
    again = post_on_page(anna, "/therapist/hours", "/therapist/hours", week)
    assert again.status_code == 302
    assert len(offers(clinic)) == 1


def test_the_admin_dashboard_of_waitlists_lists_every_technique(clinic: Clinic, ida: Person):
    joined(ida, technique="classic-massage", duration=30)
    page = clinic.staff("admin").get("/admin/waitlist").get_data(as_text=True)
    assert "Waitlist: Sports massage" in page  # the first technique unless one is chosen
    assert "Nobody is waiting for this technique." in page
    page = (
        clinic.staff("admin")
        .get("/admin/waitlist?technique=classic-massage")
        .get_data(as_text=True)
    )
    assert "Ida" in page and "30 min" in page and "any day; any time of day" in page
