"""Who may open what: every registered route, for every kind of visitor.

The table below names each route; a route the app registers that is missing from it fails the
test, so a new page cannot slip past this check.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.catalog.models import Therapist
from clinic.extensions import db
from tests.support import csrf_token_from, login, post_form

VISITORS = ("anonymous", "client_a", "client_b", "therapist_x", "therapist_y", "admin")
EVERYONE = set(VISITORS)
LOGGED_IN = EVERYONE - {"anonymous"}

# endpoint -> (path template, who gets a page; others are sent to login or refused)
ROUTES: dict[str, tuple[str, set[str]]] = {
    "catalog.home": ("/", EVERYONE),
    "catalog.techniques": ("/techniques", EVERYONE),
    "catalog.technique": ("/techniques/sports-massage", EVERYONE),
    "catalog.therapists": ("/therapists", EVERYONE),
    "catalog.therapist": ("/therapists/{therapist_x}", EVERYONE),
    "catalog.therapist_profile": ("/therapist/profile", {"therapist_x", "therapist_y"}),
    "auth.register": ("/register", {"anonymous"}),  # logged-in users are sent home
    "auth.login": ("/login", {"anonymous"}),  # logged-in users are sent home
    "auth.logout": ("/logout", LOGGED_IN),
    "auth.forgot_password": ("/password/forgot", EVERYONE),
    "auth.reset_password": ("/password/reset/bad-token", set()),  # 400 for a bad token
    "auth.account": ("/account", LOGGED_IN),
    "auth.change_password": ("/account/password", LOGGED_IN),
    "admin.dashboard": ("/admin/", {"admin"}),
    "admin.users": ("/admin/users", {"admin"}),
    "healthz": ("/healthz", EVERYONE),
    "static": ("/static/css/lindring.css", EVERYONE),
    "bootstrap.static": ("/bootstrap/static/css/bootstrap.min.css", EVERYONE),
}

# Those who are not let in here are sent to the start page instead: no use for them.
SENT_HOME = {"auth.register", "auth.login", "auth.logout"}


@pytest.fixture
def visitors(app, demo, make_user, make_therapist):
    """A test client logged in as each kind of visitor, and the ids their pages use."""
    make_user(email="client.a@example.com")
    make_user(email="client.b@example.com")
    x = make_therapist("sports-massage", email="x@example.com", name="Therapist X")
    make_therapist("classic-massage", email="y@example.com", name="Therapist Y")
    clients = {name: app.test_client() for name in VISITORS}
    login(clients["client_a"], "client.a@example.com")
    login(clients["client_b"], "client.b@example.com")
    login(clients["therapist_x"], "x@example.com")
    login(clients["therapist_y"], "y@example.com")
    login(clients["admin"], "admin@lindring.example", "demo-password")
    return clients, {"therapist_x": x.id}


def test_every_route_is_in_the_table(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert registered - ROUTES.keys() == set(), "add the new routes to ROUTES"
    assert ROUTES.keys() - registered == set(), "ROUTES names a route that no longer exists"


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_get_answers_match_the_table(visitors, endpoint):
    clients, ids = visitors
    path, allowed = ROUTES[endpoint]
    path = path.format(**ids)
    for visitor in VISITORS:
        response = clients[visitor].get(path)
        response.close()  # static files hold an open file until closed
        if visitor in allowed:
            assert response.status_code == 200, (visitor, path, response.status_code)
        elif visitor == "anonymous" and endpoint not in SENT_HOME | {"auth.reset_password"}:
            assert response.status_code == 302, (visitor, path)
            assert response.headers["Location"].startswith("/login"), (visitor, path)
        elif endpoint in SENT_HOME:
            assert response.status_code == 302, (visitor, path)
            assert not response.headers["Location"].startswith("/login")
        elif endpoint == "auth.reset_password":
            assert response.status_code == 400, (visitor, path)
        else:
            assert response.status_code == 403, (visitor, path, response.status_code)
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
