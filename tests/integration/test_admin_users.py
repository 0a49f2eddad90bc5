"""Admins change roles and deactivate accounts; nobody locks the clinic out of its admin."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEntry
from clinic.auth import management
from clinic.auth.models import Role, User
from clinic.extensions import db
from tests.support import (
    NOW,
    TEST_PASSWORD,
    Clinic,
    Person,
    count_queries,
    login,
    post_form,
    user_id,
)


def account(clinic: Clinic, uid: int) -> tuple[Role, bool]:
    with clinic.app.app_context():
        user = db.session.get(User, uid)
        return user.role, user.active


def trail(clinic: Clinic, uid: int) -> list[tuple[str, dict]]:
    with clinic.app.app_context():
        return [
            (e.action, e.detail)
            for e in db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject_type == "user", AuditEntry.subject_id == uid)
                .order_by(AuditEntry.id)
            )
        ]


def set_role(admin, uid: int, role: str):
    return post_form(admin, f"/admin/users/{uid}/role", {"role": role}, page=f"/admin/users/{uid}")


def press(admin, uid: int, action: str):
    return post_form(admin, f"/admin/users/{uid}/{action}", {}, page=f"/admin/users/{uid}")


def test_a_client_made_admin_gets_the_admin_pages_and_back(clinic: Clinic, ida: Person):
    admin = clinic.staff("admin")
    assert ida.web.get("/admin/").status_code == 403
    assert set_role(admin, ida.id, "admin").status_code == 302
    assert account(clinic, ida.id) == (Role.ADMIN, True)
    assert ida.web.get("/admin/").status_code == 200  # the role is read on every request
    assert set_role(admin, ida.id, "client").status_code == 302
    assert account(clinic, ida.id) == (Role.CLIENT, True)
    assert ida.web.get("/admin/").status_code == 403
    assert trail(clinic, ida.id) == [
        ("user.role_changed", {"from": "client", "to": "admin"}),
        ("user.role_changed", {"from": "admin", "to": "client"}),
    ]


def test_deactivating_ends_the_sessions_and_reactivating_lets_them_back(
    clinic: Clinic, ida: Person
):
    admin = clinic.staff("admin")
    assert ida.web.get("/my/bookings").status_code == 200
    assert press(admin, ida.id, "deactivate").status_code == 302
    assert account(clinic, ida.id) == (Role.CLIENT, False)
    assert ida.web.get("/my/bookings").status_code == 302  # logged out
    refused = post_form(clinic.web(), "/login", {"email": ida.email, "password": TEST_PASSWORD})
    assert refused.status_code == 200
    assert press(admin, ida.id, "reactivate").status_code == 302
    login(clinic.web(), ida.email)
    assert [action for action, _ in trail(clinic, ida.id)] == [
        "user.deactivated",
        "user.reactivated",
    ]


def test_an_admin_cannot_demote_or_deactivate_themselves(clinic: Clinic):
    admin = clinic.staff("admin")
    me = user_id(clinic, "admin@lindring.example")
    refused = set_role(admin, me, "client")
    assert refused.status_code == 409
    assert "You cannot change your own role" in refused.get_data(as_text=True)
    shown = admin.get(press(admin, me, "deactivate").headers["Location"]).get_data(as_text=True)
    assert "You cannot change your own role or deactivate yourself" in shown
    assert account(clinic, me) == (Role.ADMIN, True)
    assert trail(clinic, me) == []


def test_the_last_active_admin_stays_one(clinic: Clinic, make_user):
    other = make_user(Role.ADMIN, email="second@example.com")
    demo_admin = user_id(clinic, "admin@lindring.example")
    admin = clinic.staff("admin")
    # With two admins, one may deactivate the other.
    assert press(admin, other.id, "deactivate").status_code == 302
    assert account(clinic, other.id) == (Role.ADMIN, False)
    # The demo admin is now the only active one: an admin whose own account was just
    # deactivated (a request already under way) can neither demote nor deactivate them.
    with clinic.app.app_context():
        target = db.session.get(User, demo_admin)
        acting = db.session.get(User, other.id)
        with pytest.raises(management.UserAdminError, match="last active admin"):
            management.change_role(target, Role.CLIENT, by=acting)
        with pytest.raises(management.UserAdminError, match="last active admin"):
            management.set_active(target, False, by=acting)
        db.session.rollback()
    assert account(clinic, demo_admin) == (Role.ADMIN, True)


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("therapist", "Not a valid choice"),  # therapists are invited, not promoted
        ("wizard", "Not a valid choice"),
        ("", "Choose a role."),
    ],
)
def test_a_role_outside_the_choices_changes_nothing(clinic: Clinic, ida: Person, role, message):
    admin = clinic.staff("admin")
    response = set_role(admin, ida.id, role)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert account(clinic, ida.id) == (Role.CLIENT, True)
    assert trail(clinic, ida.id) == []


def test_therapists_and_erased_accounts_are_not_changed_here(clinic: Clinic, ida: Person):
    admin = clinic.staff("admin")
    anna = user_id(clinic, "anna@lindring.example")
    page = admin.get(f"/admin/users/{anna}").get_data(as_text=True)
    assert "Therapists are managed on their therapist page" in page
    assert f'href="/admin/therapists/{clinic.ids["anna"]}"' in page
    assert set_role(admin, anna, "admin").status_code == 409
    assert account(clinic, anna) == (Role.THERAPIST, True)

    with clinic.app.app_context():
        user = db.session.get(User, ida.id)
        user.erased_at, user.active = NOW, False
        db.session.commit()
    assert "cannot be changed" in admin.get(f"/admin/users/{ida.id}").get_data(as_text=True)
    press(admin, ida.id, "reactivate")
    set_role(admin, ida.id, "admin")
    assert account(clinic, ida.id) == (Role.CLIENT, False)
    assert trail(clinic, ida.id) == []


def names(web, **query) -> list[str]:
    html = web.get("/admin/users", query_string=query).get_data(as_text=True)
    return re.findall(r'<td><a href="/admin/users/\d+">([^<]+)</a>', html)


def test_the_user_list_sorts_and_takes_the_same_statements(clinic: Clinic, make_user):
    admin = clinic.staff("admin")
    # Roles in the order admin, client, therapist; by name within a role.
    assert names(admin, q="lindring.example", sort="role") == [
        "Clinic Admin",
        "Demo Client",
        "Anna Holm",
        "Bo Lindqvist",
        "Clara Nørgaard",
        "David Skov",
    ]
    assert names(admin, sort="name", order="desc") == list(reversed(names(admin)))
    with count_queries(clinic.app) as few:
        before = len(names(admin))
    for n in range(6):
        make_user(email=f"many{n}@example.com")
    with count_queries(clinic.app) as many:
        assert len(names(admin)) == before + 6
    assert len(many) == len(few)
