"""Who may open what: every registered route, for every kind of visitor.

The table below names each route; a route the app registers that is missing from it fails the
test, so a new page cannot slip past this check.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.assets import asset_url
from clinic.catalog.models import Therapist
from clinic.extensions import db
from tests.support import csrf_token_from, login, post_form

VISITORS = ("anonymous", "client_a", "client_b", "therapist_x", "therapist_y", "admin")
LOGIN = "login"  # a redirect to the login page
SEARCH = "search"  # a redirect to the free times: the request named no time
HOME = "home"  # a redirect to the start page: the page is of no use to this visitor


def answers(allowed: set[str], *, others: int | str = 403, anonymous: int | str = LOGIN) -> dict:
    """What each visitor gets: 200 for those allowed, else `others` (anonymous: `anonymous`)."""
    return {
        v: 200 if v in allowed else (anonymous if v == "anonymous" else others) for v in VISITORS
    }


EVERYONE = answers(set(VISITORS))
LOGGED_IN = answers(set(VISITORS) - {"anonymous"})
CLIENTS = answers({"client_a", "client_b"})
THERAPISTS = answers({"therapist_x", "therapist_y"})
ADMIN = answers({"admin"})
# POST only: a GET is refused before anyone is asked who they are.
POST_ONLY = answers(set(), others=405, anonymous=405)

# endpoint -> (path for a GET, what each visitor gets). {name} fills in the ids of objects
# that belong to someone: client A's screening, therapist X's page.
ROUTES: dict[str, tuple[str, dict]] = {
    "catalog.home": ("/", EVERYONE),
    "catalog.techniques": ("/techniques", EVERYONE),
    "catalog.technique": ("/techniques/sports-massage", EVERYONE),
    "catalog.therapists": ("/therapists", EVERYONE),
    "catalog.therapist": ("/therapists/{therapist_x}", EVERYONE),
    "catalog.therapist_profile": ("/therapist/profile", THERAPISTS),
    "auth.register": ("/register", answers({"anonymous"}, others=HOME)),
    "auth.login": ("/login", answers({"anonymous"}, others=HOME)),
    "auth.logout": ("/logout", answers(set(VISITORS) - {"anonymous"}, anonymous=HOME)),
    "auth.forgot_password": ("/password/forgot", EVERYONE),
    "auth.reset_password": ("/password/reset/bad-token", answers(set(), others=400, anonymous=400)),
    "auth.account": ("/account", LOGGED_IN),
    "auth.change_password": ("/account/password", LOGGED_IN),
    "screening.current": ("/screening", CLIENTS),
    "screening.new": ("/screening/new", CLIENTS),
    # Someone else's screening is not found, not forbidden: its existence is private too.
    "screening.show": ("/screening/{screening_a}", answers({"client_a", "admin"}, others=404)),
    "review.queue": ("/admin/screenings/", ADMIN),
    "review.show": ("/admin/screenings/{screening_a}", ADMIN),
    # POST only: a GET is refused before anyone is asked who they are.
    "review.decide": (
        "/admin/screenings/{screening_a}/approve",
        answers(set(), others=405, anonymous=405),
    ),
    # The API answers bearer tokens only: a logged-in browser session is not enough.
    "api.screening_questions": ("/api/v1/screening/questions", EVERYONE),
    "api.show_screening": (
        "/api/v1/screenings/{screening_a}",
        answers(set(), others=401, anonymous=401),
    ),
    "api.issue_token": ("/api/v1/tokens", answers(set(), others=405, anonymous=405)),
    "api.revoke_token": ("/api/v1/tokens/current", answers(set(), others=405, anonymous=405)),
    "api.submit_screening": ("/api/v1/screenings", answers(set(), others=405, anonymous=405)),
    "api.techniques": ("/api/v1/techniques", EVERYONE),
    "api.therapists": ("/api/v1/therapists", EVERYONE),
    # Public, but it needs its parameters: without them everyone gets 422.
    "api.slots": ("/api/v1/slots", answers(set(), others=422, anonymous=422)),
    "booking.search": ("/book", EVERYONE),
    "booking.reschedule": (
        "/bookings/{booking_a}/reschedule",
        answers({"client_a", "therapist_x", "admin"}, others=404),
    ),
    "booking.sessions": ("/therapist/sessions", THERAPISTS),
    "waitlist.mine": ("/waitlist", CLIENTS),
    "waitlist.join": ("/waitlist/join", CLIENTS),
    "waitlist.leave": ("/waitlist/1/leave", POST_ONLY),
    # A claim link answers its own client only; to everyone else, and for a made-up token, 404.
    "waitlist.offer": (
        "/waitlist/offers/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        answers(set(), others=404),
    ),
    "waitlist.admin_list": ("/admin/waitlist", ADMIN),
    # The client reads the aftercare on the booking page; the note page is for staff who treat.
    "treatment.edit": (
        "/bookings/{booking_a}/treatment",
        answers({"therapist_x", "admin"}, others=404) | {"client_a": 403, "client_b": 403},
    ),
    "treatment.book_plan": (
        "/bookings/{booking_a}/plan",
        answers(set(), others=404) | {"therapist_x": 403, "therapist_y": 403, "admin": 403},
    ),
    "calendar.week": ("/therapist/calendar", THERAPISTS),
    "calendar.day": ("/therapist/calendar/day", THERAPISTS),
    "calendar.therapist_week": ("/admin/therapists/{therapist_x}/calendar", ADMIN),
    "calendar.therapist_day": ("/admin/therapists/{therapist_x}/calendar/day", ADMIN),
    "calendar.clinic_day": ("/admin/calendar/day", ADMIN),
    "feeds.booking_download": (
        "/bookings/{booking_a}.ics",
        answers({"client_a", "therapist_x", "admin"}, others=404),
    ),
    # A private feed answers its token only, never a login: a made-up token is not found.
    "feeds.feed": (
        "/calendar/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics",
        answers(set(), others=404, anonymous=404),
    ),
    "feeds.settings": ("/account/calendar", LOGGED_IN),
    # The pre-visit check answers its link's token only; a made-up token is not found by anyone.
    "previsit.check": (
        "/visit-check/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        answers(set(), others=404, anonymous=404),
    ),
    "feeds.regenerate": ("/account/calendar/regenerate", POST_ONLY),
    "feeds.delete": ("/account/calendar/delete", POST_ONLY),
    "calendar_sources.my_sources": ("/therapist/calendar-sources", THERAPISTS),
    "calendar_sources.therapist_sources": (
        "/admin/therapists/{therapist_x}/calendar-sources",
        ADMIN,
    ),
    "calendar_sources.my_upload": ("/therapist/calendar-sources/upload", POST_ONLY),
    "calendar_sources.my_replace": ("/therapist/calendar-sources/1/upload", POST_ONLY),
    "calendar_sources.my_refresh": ("/therapist/calendar-sources/1/refresh", POST_ONLY),
    "calendar_sources.my_delete": ("/therapist/calendar-sources/1/delete", POST_ONLY),
    "calendar_sources.therapist_upload": (
        "/admin/therapists/{therapist_x}/calendar-sources/upload",
        POST_ONLY,
    ),
    "calendar_sources.therapist_replace": (
        "/admin/therapists/{therapist_x}/calendar-sources/1/upload",
        POST_ONLY,
    ),
    "calendar_sources.therapist_refresh": (
        "/admin/therapists/{therapist_x}/calendar-sources/1/refresh",
        POST_ONLY,
    ),
    "calendar_sources.therapist_delete": (
        "/admin/therapists/{therapist_x}/calendar-sources/1/delete",
        POST_ONLY,
    ),
    "booking.admin_list": ("/admin/bookings", ADMIN),
    # The browser's session is no API credential: without a bearer token, 401.
    "api.create_booking": ("/api/v1/bookings", answers(set(), others=401, anonymous=401)),
    "api.list_bookings": ("/api/v1/bookings", answers(set(), others=401, anonymous=401)),
    "api.cancel_booking": (
        "/api/v1/bookings/{booking_a}/cancel",
        answers(set(), others=405, anonymous=405),
    ),
    "booking.confirm": (
        "/book/confirm",
        answers(set(), others=403) | {"client_a": SEARCH, "client_b": SEARCH},
    ),
    "booking.mine": ("/my/bookings", CLIENTS),
    # Without a time to start from, a client is sent to the free times.
    "booking.series": (
        "/book/series",
        answers(set(), others=403) | {"client_a": SEARCH, "client_b": SEARCH},
    ),
    # A booking is seen by its client, its therapist and admins; to others it does not exist.
    "booking.show": (
        "/bookings/{booking_a}",
        answers({"client_a", "therapist_x", "admin"}, others=404),
    ),
    "booking.cancel": ("/bookings/{booking_a}/cancel", answers(set(), others=405, anonymous=405)),
    "booking.mark": ("/bookings/{booking_a}/mark", answers(set(), others=405, anonymous=405)),
    "booking.confirm_pending": (
        "/bookings/{booking_a}/confirm",
        answers(set(), others=405, anonymous=405),
    ),
    "scheduling.my_hours": ("/therapist/hours", THERAPISTS),
    "scheduling.my_time_off": ("/therapist/time-off", THERAPISTS),
    "scheduling.delete_my_time_off": (
        "/therapist/time-off/1/delete",
        answers(set(), others=405, anonymous=405),
    ),
    "scheduling_admin.therapists": ("/admin/therapists", ADMIN),
    "scheduling_admin.therapist_hours": ("/admin/therapists/{therapist_x}/hours", ADMIN),
    "scheduling_admin.therapist_time_off": ("/admin/therapists/{therapist_x}/time-off", ADMIN),
    "scheduling_admin.delete_therapist_time_off": (
        "/admin/therapists/{therapist_x}/time-off/1/delete",
        answers(set(), others=405, anonymous=405),
    ),
    "scheduling_admin.policies": ("/admin/policies", ADMIN),
    "scheduling_admin.rooms": ("/admin/rooms", ADMIN),
    "scheduling_admin.rename_room": (
        "/admin/rooms/1/rename",
        answers(set(), others=405, anonymous=405),
    ),
    "scheduling_admin.room_active": (
        "/admin/rooms/1/deactivate",
        answers(set(), others=405, anonymous=405),
    ),
    "admin.dashboard": ("/admin/", ADMIN),
    "admin.users": ("/admin/users", ADMIN),
    "admin.clients": ("/admin/clients", ADMIN),
    # Admin management of techniques, therapists, certificates and users (issue 8).
    "admin.techniques": ("/admin/techniques", ADMIN),
    "admin.new_technique": ("/admin/techniques/new", ADMIN),
    "admin.edit_technique": ("/admin/techniques/1", ADMIN),
    "admin.invite_therapist": ("/admin/therapists/invite", ADMIN),
    "admin.therapist": ("/admin/therapists/{therapist_x}", ADMIN),
    "admin.deactivate_therapist": ("/admin/therapists/{therapist_x}/deactivate", ADMIN),
    "admin.reactivate_therapist": ("/admin/therapists/{therapist_x}/reactivate", POST_ONLY),
    "admin.resend_invitation": ("/admin/therapists/{therapist_x}/invitation", POST_ONLY),
    "admin.certifications": ("/admin/certifications", ADMIN),
    "admin.new_certification": ("/admin/certifications/new", ADMIN),
    "admin.edit_certification": ("/admin/certifications/1", ADMIN),
    "admin.delete_certification": ("/admin/certifications/1/delete", POST_ONLY),
    "admin.certification_expiry": ("/admin/certifications/expiry", ADMIN),
    "admin.user": ("/admin/users/1", ADMIN),
    "admin.change_user_role": ("/admin/users/1/role", POST_ONLY),
    "admin.user_active": ("/admin/users/1/deactivate", POST_ONLY),
    # An invitation link that is not valid: the same answer for everyone.
    "auth.accept_invitation": ("/invitation/bad-token", answers(set(), others=400, anonymous=400)),
    # Reports (issue 8): the index, one report page and its CSV download.
    "admin.reports": ("/admin/reports", ADMIN),
    "admin.report": ("/admin/reports/bookings", ADMIN),
    "admin.report_csv": ("/admin/reports/bookings.csv", ADMIN),
    # The admin start page's own pages: the audit log (read-only) and failed e-mails.
    "admin.audit_log": ("/admin/audit", ADMIN),
    "admin.failed_emails": ("/admin/emails", ADMIN),
    "admin.retry_email": ("/admin/emails/1/retry", POST_ONLY),
    # Data rights: everyone downloads their own data; clients delete their account, staff are
    # told to ask the clinic (their POST is 403); the confirmation shows only right after one.
    "privacy.data": ("/account/data", LOGGED_IN),
    "privacy.delete": ("/account/delete", LOGGED_IN),
    "privacy.deleted": ("/account/deleted", answers(set(), others=HOME, anonymous=HOME)),
    # Two-factor sign-in: everyone's own account page; the code page of a login is only for a
    # visitor who just gave a right password (others are sent back to the login page or home).
    "two_factor.status": ("/account/two-factor", LOGGED_IN),
    "two_factor.setup": ("/account/two-factor/setup", POST_ONLY),
    "two_factor.confirm": ("/account/two-factor/confirm", POST_ONLY),
    "two_factor.regenerate": ("/account/two-factor/recovery-codes", POST_ONLY),
    "two_factor.switch_off": ("/account/two-factor/off", POST_ONLY),
    "two_factor.login": ("/login/two-factor", answers(set(), others=HOME, anonymous=302)),
    # The layout's language switch: a POST from any page, by anyone.
    "i18n.switch": ("/language", POST_ONLY),
    "healthz": ("/healthz", EVERYONE),
    "static": ("/static/css/lindring.css", EVERYONE),
    "bootstrap.static": ("/bootstrap/static/css/bootstrap.min.css", EVERYONE),
    # The pages' files under their content's hash ({asset}: the style sheet's current name).
    "assets.file": ("{asset}", EVERYONE),
}


@pytest.fixture
def visitors(app, demo, make_user, make_therapist):
    """A test client logged in as each kind of visitor, and the ids their pages use."""
    from clinic.auth.models import User
    from clinic.clock import utcnow
    from clinic.screening.operations import submit_screening
    from clinic.screening.rules import questions

    make_user(email="client.a@example.com")
    make_user(email="client.b@example.com")
    x = make_therapist("sports-massage", email="x@example.com", name="Therapist X")
    make_therapist("classic-massage", email="y@example.com", name="Therapist Y")
    with app.app_context():
        answers_a = {q.id: q.kind == "yes_no" and q.id == "anticoagulants" for q in questions()}
        answers_a["other_conditions"] = ""
        screening = submit_screening(
            User.by_email("client.a@example.com"), answers_a, consent=True, now=utcnow()
        )
        db.session.commit()
        screening_a = screening.id
        booking_a = make_booking_row(screening.client_id, x.id)
    clients = {name: app.test_client() for name in VISITORS}
    login(clients["client_a"], "client.a@example.com")
    login(clients["client_b"], "client.b@example.com")
    login(clients["therapist_x"], "x@example.com")
    login(clients["therapist_y"], "y@example.com")
    login(clients["admin"], "admin@lindring.example", "demo-password")
    with app.test_request_context():
        asset = asset_url("css/lindring.css")
    ids = {"therapist_x": x.id, "screening_a": screening_a, "booking_a": booking_a}
    return clients, ids | {"asset": asset}


def make_booking_row(client_id: int, therapist_id: int, start: datetime | None = None) -> int:
    """A confirmed booking of client A with therapist X, by default tomorrow at ten (needs an
    app context)."""
    from clinic.booking.models import Booking
    from clinic.catalog.models import Room, Technique
    from clinic.clock import utcnow

    if start is None:
        start = utcnow().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    booking = Booking(
        client_id=client_id,
        therapist_id=therapist_id,
        technique_id=db.session.scalar(
            select(Technique.id).where(Technique.slug == "sports-massage")
        ),
        room_id=db.session.scalar(select(Room.id).limit(1)),
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        duration_minutes=60,
        price_minor=65000,
    )
    db.session.add(booking)
    db.session.commit()
    return booking.id


def test_every_route_is_in_the_table(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert registered - ROUTES.keys() == set(), "add the new routes to ROUTES"
    assert ROUTES.keys() - registered == set(), "ROUTES names a route that no longer exists"


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_get_answers_match_the_table(visitors, endpoint):
    clients, ids = visitors
    path, expected = ROUTES[endpoint]
    path = path.format(**ids)
    for visitor in VISITORS:
        response = clients[visitor].get(path)
        response.close()  # static files hold an open file until closed
        want = expected[visitor]
        where = (visitor, path, response.status_code)
        if want == LOGIN:
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/login?next="), where
        elif want == SEARCH:
            assert response.status_code == 302, where
            assert response.headers["Location"] == "/book", where
        elif want == HOME:
            assert response.status_code == 302, where
            assert response.headers["Location"] in ("/", "/admin/"), where
        else:
            assert response.status_code == want, where
        if want == 403:
            assert "Not for you" in response.get_data(as_text=True)


def test_a_therapist_edits_only_their_own_page(app, visitors):
    clients, _ = visitors
    response = post_form(clients["therapist_y"], "/therapist/profile", {"bio": "Y's new words."})
    assert response.status_code == 302
    with app.app_context():
        bios = {t.user.email: t.bio for t in db.session.scalars(select(Therapist))}
    assert bios["y@example.com"] == "Y's new words."
    assert bios["x@example.com"] == "Bio of Therapist X."


def test_a_client_cannot_post_to_a_therapist_page(visitors):
    clients, _ = visitors
    page = clients["client_a"].get("/account").get_data(as_text=True)
    response = clients["client_a"].post(
        "/therapist/profile", data={"bio": "hijack", "csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 403


def test_navigation_shows_what_the_role_can_do(visitors):
    clients, _ = visitors
    nav = {v: clients[v].get("/").get_data(as_text=True) for v in VISITORS}
    assert "Log in" in nav["anonymous"] and "Log out" not in nav["anonymous"]
    assert ">Admin<" in nav["admin"]
    for visitor in ("client_a", "therapist_x"):
        assert ">Admin<" not in nav[visitor]
    assert "My public page" in nav["therapist_x"]
    assert "My public page" not in nav["client_a"] and "My public page" not in nav["admin"]


def test_admin_user_list_searches_and_filters_by_role(visitors):
    clients, _ = visitors
    admin = clients["admin"]
    therapists = admin.get("/admin/users?role=therapist").get_data(as_text=True)
    assert "x@example.com" in therapists and "client.a@example.com" not in therapists
    found = admin.get("/admin/users?q=CLIENT.B").get_data(as_text=True)
    assert "client.b@example.com" in found and "client.a@example.com" not in found
    assert "1 account" in found
    odd = admin.get("/admin/users?role=wizard&page=-3").get_data(as_text=True)
    assert "client.a@example.com" in odd  # an unknown role or page shows everyone, page 1
