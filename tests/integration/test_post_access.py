"""Who may change what: every route that takes a POST, for every kind of visitor.

The GET walk (test_access.py) only sees a 405 on the routes that take nothing but a POST. Here
each visitor POSTs with their own session's form token to every such route, with ids of objects
that belong to client A and therapist X. Those the table refuses must get their refusal and
change nothing; those it allows must get past the check (their empty form may be refused, which
is the form's business, not the access rule's). A POST route missing from the table fails.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from tests.hostile import changed, fingerprint
from tests.integration import test_access
from tests.integration.test_access import (
    HOME,
    LOGIN,
    ROUTES,
    VISITORS,
    answers,
    make_booking_row,
)
from tests.support import csrf_token_from

visitors = test_access.visitors  # the fixture: each kind of visitor, logged in

OK = 200  # in a table below: past the access check, whatever the form then says of the data
EVERYONE = answers(set(VISITORS))
LOGGED_IN = answers(set(VISITORS) - {"anonymous"})
THERAPISTS = answers({"therapist_x", "therapist_y"})
ADMIN = answers({"admin"})
# A link's token that was never issued: nobody gets further than "no such link".
NO_SUCH_LINK = answers(set(), others=404, anonymous=404)
# The API reads a bearer token, never the browser's session: without one, 401 for everyone.
NO_BEARER = answers(set(), others=401, anonymous=401)


def owner(owner: str, *, same_role: tuple[str, ...], other_roles: tuple[str, ...]) -> dict:
    """The owner (and admins, where they may) pass; the same role's others are told it does not
    exist (404); other roles are refused (403); anonymous visitors are sent to log in."""
    table = {"anonymous": LOGIN, owner: OK}
    table |= {v: 404 for v in same_role}
    table |= {v: 403 for v in other_roles}
    return table


CLIENT_A_ONLY = owner(
    "client_a", same_role=("client_b",), other_roles=("therapist_x", "therapist_y", "admin")
)
THERAPIST_X_ONLY = owner(
    "therapist_x", same_role=("therapist_y",), other_roles=("client_a", "client_b", "admin")
)
# Client A's booking with therapist X: theirs and the clinic's; to everyone else, not there.
BOOKING_A = answers({"client_a", "therapist_x", "admin"}, others=404)
# What only the session's therapist and the clinic do to it: clients are refused by role.
BOOKING_A_STAFF = answers({"therapist_x", "admin"}, others=404) | {"client_a": 403, "client_b": 403}

# endpoint -> (path of the POST, what each visitor gets). {name} fills in the ids below.
POSTS: dict[str, tuple[str, dict]] = {
    # Signing in and up: for visitors only; someone logged in is sent home.
    "auth.login": ("/login", answers({"anonymous"}, others=HOME)),
    "auth.register": ("/register", answers({"anonymous"}, others=HOME)),
    "auth.forgot_password": ("/password/forgot", EVERYONE),
    "auth.reset_password": ("/password/reset/bad-token", answers(set(), others=400, anonymous=400)),
    "auth.accept_invitation": ("/invitation/bad-token", answers(set(), others=400, anonymous=400)),
    "auth.logout": ("/logout", answers(set(VISITORS) - {"anonymous"}, anonymous=HOME)),
    "auth.account": ("/account", LOGGED_IN),
    "auth.change_password": ("/account/password", LOGGED_IN),
    "two_factor.login": ("/login/two-factor", answers(set(), others=HOME, anonymous=LOGIN)),
    "two_factor.setup": ("/account/two-factor/setup", LOGGED_IN),
    "two_factor.confirm": ("/account/two-factor/confirm", LOGGED_IN),
    "two_factor.regenerate": ("/account/two-factor/recovery-codes", LOGGED_IN),
    "two_factor.switch_off": ("/account/two-factor/off", LOGGED_IN),
    "privacy.data": ("/account/data", LOGGED_IN),
    # Staff ask the clinic to close their account; only a client deletes their own.
    "privacy.delete": ("/account/delete", answers({"client_a", "client_b"})),
    "i18n.switch": ("/language", EVERYONE),
    "feeds.regenerate": ("/account/calendar/regenerate", LOGGED_IN),
    "feeds.delete": ("/account/calendar/delete", LOGGED_IN),
    "screening.new": ("/screening/new", answers({"client_a", "client_b"})),
    "review.decide": ("/admin/screenings/{screening_a}/approve", ADMIN),
    # Booking: only clients book; a booking's changes are for the people it belongs to.
    "booking.confirm": ("/book/confirm", answers({"client_a", "client_b"})),
    "booking.series": ("/book/series", answers({"client_a", "client_b"})),
    "booking.reschedule": ("/bookings/{booking_a}/reschedule", BOOKING_A),
    "booking.cancel": ("/bookings/{booking_a}/cancel", BOOKING_A),
    "booking.mark": ("/bookings/{booking_a}/mark", BOOKING_A_STAFF),
    # Only the clinic confirms a held booking: a role check, before any booking is looked up.
    "booking.confirm_pending": ("/bookings/{booking_a}/confirm", ADMIN),
    # The session's note is written once the session has started: client A's session with
    # therapist X that is running now. Clients are refused by role, other therapists told it
    # does not exist.
    "treatment.edit": ("/bookings/{running_a}/treatment", BOOKING_A_STAFF | {"client_b": 403}),
    "waitlist.join": ("/waitlist/join", answers({"client_a", "client_b"})),
    "waitlist.leave": ("/waitlist/{waitlist_a}/leave", CLIENT_A_ONLY),
    "waitlist.offer": ("/waitlist/offers/" + "A" * 43, NO_SUCH_LINK | {"anonymous": LOGIN}),
    "previsit.check": ("/visit-check/" + "A" * 43, NO_SUCH_LINK),
    # A therapist's own calendar, hours, time off and page.
    "catalog.therapist_profile": ("/therapist/profile", THERAPISTS),
    "scheduling.my_hours": ("/therapist/hours", THERAPISTS),
    "scheduling.my_time_off": ("/therapist/time-off", THERAPISTS),
    "scheduling.delete_my_time_off": ("/therapist/time-off/{time_off_x}/delete", THERAPIST_X_ONLY),
    "calendar_sources.my_sources": ("/therapist/calendar-sources", THERAPISTS),
    "calendar_sources.my_upload": ("/therapist/calendar-sources/upload", THERAPISTS),
    "calendar_sources.my_replace": (
        "/therapist/calendar-sources/{source_x}/upload",
        THERAPIST_X_ONLY,
    ),
    "calendar_sources.my_refresh": (
        "/therapist/calendar-sources/{source_x}/refresh",
        THERAPIST_X_ONLY,
    ),
    "calendar_sources.my_delete": (
        "/therapist/calendar-sources/{source_x}/delete",
        THERAPIST_X_ONLY,
    ),
    # The clinic's side: admins only, whatever the object.
    "calendar_sources.therapist_sources": (
        "/admin/therapists/{therapist_x}/calendar-sources",
        ADMIN,
    ),
    "calendar_sources.therapist_upload": (
        "/admin/therapists/{therapist_x}/calendar-sources/upload",
        ADMIN,
    ),
    "calendar_sources.therapist_replace": (
        "/admin/therapists/{therapist_x}/calendar-sources/{source_x}/upload",
        ADMIN,
    ),
    "calendar_sources.therapist_refresh": (
        "/admin/therapists/{therapist_x}/calendar-sources/{source_x}/refresh",
        ADMIN,
    ),
    "calendar_sources.therapist_delete": (
        "/admin/therapists/{therapist_x}/calendar-sources/{source_x}/delete",
        ADMIN,
    ),
    "scheduling_admin.therapist_hours": ("/admin/therapists/{therapist_x}/hours", ADMIN),
    "scheduling_admin.therapist_time_off": ("/admin/therapists/{therapist_x}/time-off", ADMIN),
    "scheduling_admin.delete_therapist_time_off": (
        "/admin/therapists/{therapist_x}/time-off/{time_off_x}/delete",
        ADMIN,
    ),
    "scheduling_admin.policies": ("/admin/policies", ADMIN),
    "scheduling_admin.rooms": ("/admin/rooms", ADMIN),
    "scheduling_admin.rename_room": ("/admin/rooms/{room}/rename", ADMIN),
    "scheduling_admin.room_active": ("/admin/rooms/{room}/deactivate", ADMIN),
    "admin.new_technique": ("/admin/techniques/new", ADMIN),
    "admin.edit_technique": ("/admin/techniques/{technique}", ADMIN),
    "admin.invite_therapist": ("/admin/therapists/invite", ADMIN),
    "admin.deactivate_therapist": ("/admin/therapists/{therapist_x}/deactivate", ADMIN),
    "admin.reactivate_therapist": ("/admin/therapists/{therapist_x}/reactivate", ADMIN),
    "admin.resend_invitation": ("/admin/therapists/{therapist_x}/invitation", ADMIN),
    "admin.new_certification": ("/admin/certifications/new", ADMIN),
    "admin.edit_certification": ("/admin/certifications/{certification_x}", ADMIN),
    "admin.delete_certification": ("/admin/certifications/{certification_x}/delete", ADMIN),
    "admin.change_user_role": ("/admin/users/{user_b}/role", ADMIN),
    "admin.user_active": ("/admin/users/{user_b}/deactivate", ADMIN),
    "admin.retry_email": ("/admin/emails/{failed_email}/retry", ADMIN),
    # The API: bearer tokens only (its own tests cover who may do what with one). Asking for a
    # token needs no session at all; an empty body is refused for everyone alike.
    "api.issue_token": ("/api/v1/tokens", answers(set(), others=422, anonymous=422)),
    "api.submit_screening": ("/api/v1/screenings", NO_BEARER),
    "api.create_booking": ("/api/v1/bookings", NO_BEARER),
    "api.cancel_booking": ("/api/v1/bookings/{booking_a}/cancel", NO_BEARER),
}


def post_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}


@pytest.fixture
def owned(app, visitors):
    """The ids of objects that belong to client A and therapist X, beside the fixture's own."""
    from clinic.auth.models import User
    from clinic.calendars.models import CalendarSource
    from clinic.catalog.models import Certification, Room, Technique, Therapist
    from clinic.clock import utcnow
    from clinic.notify.models import OutboxMessage
    from clinic.scheduling.models import TimeOff
    from clinic.waitlist.models import WaitlistEntry

    clients, ids = visitors
    with app.app_context():
        x = db.session.get(Therapist, ids["therapist_x"])
        now = utcnow()
        time_off = TimeOff(
            therapist_id=x.id, starts_at=now + timedelta(days=20), ends_at=now + timedelta(days=21)
        )
        source = CalendarSource(therapist_id=x.id, name="X's own calendar")
        certification = db.session.scalar(
            select(Certification).where(Certification.therapist_id == x.id).limit(1)
        )
        client_a = User.by_email("client.a@example.com")
        technique = db.session.scalar(select(Technique).where(Technique.slug == "sports-massage"))
        entry = WaitlistEntry(client_id=client_a.id, technique_id=technique.id, duration_minutes=60)
        failed = OutboxMessage(
            to_address="someone@example.com", subject="Failed", body_text="Body."
        )
        failed.attempts = 5
        db.session.add_all([time_off, source, entry, failed])
        db.session.commit()
        ids = ids | {
            "time_off_x": time_off.id,
            "source_x": source.id,
            "waitlist_a": entry.id,
            "certification_x": certification.id,
            "technique": technique.id,
            "room": db.session.scalar(select(Room.id).limit(1)),
            "user_b": User.by_email("client.b@example.com").id,
            "failed_email": failed.id,
            "running_a": make_booking_row(
                client_a.id, x.id, start=now.replace(microsecond=0) - timedelta(minutes=30)
            ),
        }
    return clients, ids


def test_every_post_route_is_in_the_table(app):
    assert post_endpoints(app) - POSTS.keys() == set(), "add the new POST routes to POSTS"
    assert POSTS.keys() - post_endpoints(app) == set(), "POSTS names a route that takes no POST"
    for endpoint, (path, table) in POSTS.items():
        assert set(table) == set(VISITORS), endpoint
        assert path.split("/")[:2] == ROUTES[endpoint][0].split("/")[:2], endpoint


def token_of(client, visitor: str) -> str:
    page = client.get("/login" if visitor == "anonymous" else "/account")
    return csrf_token_from(page.get_data(as_text=True))


def refusal(response) -> str | int | None:
    """What kind of refusal an answer is, in the table's terms; None if it got past the check."""
    location = response.headers.get("Location", "")
    if response.status_code == 302 and location.startswith("/login"):
        return LOGIN
    if response.status_code == 302 and location in ("/", "/admin/"):
        return HOME
    if response.status_code in (400, 401, 403, 404, 405, 422):
        return response.status_code
    return None


@pytest.mark.parametrize("endpoint", sorted(POSTS))
def test_post_answers_match_the_table_and_refusals_change_nothing(app, owned, endpoint):
    clients, ids = owned
    path, expected = POSTS[endpoint]
    path = path.format(**ids)
    tokens = {v: token_of(clients[v], v) for v in VISITORS}
    refused = [v for v in VISITORS if expected[v] != OK]
    allowed = [v for v in VISITORS if expected[v] == OK]

    with app.app_context():
        before = fingerprint()
    for visitor in refused:
        response = clients[visitor].post(path, data={"csrf_token": tokens[visitor]})
        assert refusal(response) == expected[visitor], (visitor, path, response.status_code)
        if expected[visitor] == 403:
            assert "Not for you" in response.get_data(as_text=True)
    with app.app_context():
        assert changed(before, fingerprint()) == [], f"a refused POST to {path} changed rows"

    for visitor in allowed:
        response = clients[visitor].post(path, data={"csrf_token": tokens[visitor]})
        # An allowed visitor's empty form may be refused as a form (400 or the page again),
        # never as an access decision.
        assert refusal(response) not in (LOGIN, 401, 403, 404, 405), (
            visitor,
            path,
            response.status_code,
        )
