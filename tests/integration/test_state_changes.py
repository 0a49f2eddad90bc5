"""State changes only through a POST that carries its form's token: every form route refuses a
POST without one (or with another session's), and no GET of any route changes what is stored.

Both walks read the routes from the app's URL map and their paths from the access table, so a
new route cannot escape them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.database import WRITES_ON_GET
from clinic.extensions import db
from tests.hostile import changed, fingerprint
from tests.integration import test_access
from tests.integration.test_access import ROUTES, VISITORS
from tests.support import csrf_token_from

visitors = test_access.visitors  # the fixture: each kind of visitor, logged in

# Uploads read the file's size before the form, so the app-wide check is off for them; their
# form checks the token itself and shows the form again with the error.
CHECKED_BY_THE_FORM = {
    "calendar_sources.my_upload",
    "calendar_sources.my_replace",
    "calendar_sources.therapist_upload",
    "calendar_sources.therapist_replace",
}


def post_routes(app) -> list[tuple[str, str]]:
    """(endpoint, path) of every route that takes a POST from a browser (the API takes none)."""
    found = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint.startswith("api."):
            continue
        assert rule.endpoint in ROUTES, f"{rule.endpoint} is missing from the access table"
        found.append((rule.endpoint, ROUTES[rule.endpoint][0]))
    return sorted(found)


def refused(endpoint: str, response) -> bool:
    if endpoint in CHECKED_BY_THE_FORM:
        # The role is checked first (login page, 403, 404), then the form's token.
        if response.status_code in (302, 403, 404):
            return True
        return response.status_code == 200 and "security token" in response.get_data(as_text=True)
    return response.status_code == 400


@pytest.mark.parametrize("token", ["none", "another session's"])
def test_every_form_refuses_a_post_without_its_own_token_and_changes_nothing(
    app,
    visitors,
    token,
):
    clients, ids = visitors
    other = csrf_token_from(clients["client_b"].get("/account").get_data(as_text=True))
    routes = post_routes(app)
    assert len(routes) >= 40  # the walk found the forms, not an empty list
    with app.app_context():
        before = fingerprint()
    for endpoint, path in routes:
        for visitor in VISITORS:
            if visitor == "client_b" and token != "none":
                continue  # their own token is the one being replayed
            data = {} if token == "none" else {"csrf_token": other}
            response = clients[visitor].post(path.format(**ids), data=data)
            assert refused(endpoint, response), (endpoint, visitor, response.status_code)
    with app.app_context():
        assert changed(before, fingerprint()) == []


def test_no_get_changes_what_is_stored(app, visitors):
    """Every GET of the access table, by every visitor, leaves every row as it was (views of
    health data are audit-logged on purpose: the fingerprint leaves out the `*.viewed`
    entries)."""
    clients, ids = visitors
    with app.app_context():
        before = fingerprint()
    asked = 0
    audited: set[str] = set()
    for endpoint, (path, _) in ROUTES.items():
        for visitor in VISITORS:
            entries = audit_entries(app)
            clients[visitor].get(path.format(**ids)).close()
            if audit_entries(app) != entries:
                audited.add(endpoint)
            asked += 1
    assert asked == len(ROUTES) * len(VISITORS)
    with app.app_context():
        assert changed(before, fingerprint()) == []
    # A GET that writes its audit entry must say so, or on SQLite it can fail under load
    # (clinic.database.writes_on_get); and the walk must have seen some do it.
    assert audited
    unmarked = {e for e in audited if not getattr(app.view_functions[e], WRITES_ON_GET, False)}
    assert not unmarked, f"mark these views @writes_on_get: {sorted(unmarked)}"


def audit_entries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))
