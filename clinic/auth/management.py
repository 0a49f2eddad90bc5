"""The admin's changes to accounts: role (client or admin) and deactivation. They flush; the
view commits.

A therapist's role comes with a therapist profile and is managed on the therapist's pages
(catalog/staffing.py), where deactivation lists the bookings it leaves. An erased account
(`erased_at` set) is never changed again. No admin can demote or deactivate themselves, and the
last active admin stays one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from clinic.audit.models import record as audit
from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.paging import Page, paged

CHANGEABLE_ROLES = (Role.CLIENT, Role.ADMIN)


class UserAdminError(ValueError):
    """A change to an account was refused; the message is fit to show."""


def why_not_change(user: User, *, by: User) -> str | None:
    """Why this admin may not change the account's role or activity at all, or None."""
    if user.erased_at is not None:
        return _("This account was erased at the client's request; it cannot be changed.")
    if user.role is Role.THERAPIST:
        return _("Therapists are managed on their therapist page, which lists their bookings.")
    if user.id == by.id:
        return _("You cannot change your own role or deactivate yourself; ask another admin.")
    return None


def _is_last_active_admin(user: User) -> bool:
    # Lock the active admins' rows in a fixed order, so that two admins demoting each other at
    # once take turns and the second sees the first's change (PostgreSQL); SQLite writers
    # already take turns (BEGIN IMMEDIATE).
    admins = db.session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN, User.active)
        .order_by(User.id)
        .with_for_update()
    ).all()
    return user.id in admins and len(admins) == 1


def change_role(user: User, role: Role, *, by: User, ip: str = "") -> bool:
    """Make the account a client's or an admin's; False when it already was.

    Raises UserAdminError when refused (see why_not_change, and the last admin).
    """
    problem = why_not_change(user, by=by)
    if problem:
        raise UserAdminError(problem)
    if role not in CHANGEABLE_ROLES:
        raise UserAdminError(_("Make someone a therapist by inviting them as one."))
    if user.role is role:
        return False
    if user.role is Role.ADMIN and _is_last_active_admin(user):
        raise UserAdminError(_("This is the last active admin; make someone else admin first."))
    before, user.role = user.role, role
    db.session.flush()
    audit(
        "user.role_changed",
        "user",
        user.id,
        actor_id=by.id,
        ip=ip,
        detail={"from": before.value, "to": role.value},
    )
    return True


def set_active(user: User, active: bool, *, by: User, ip: str = "") -> bool:
    """Deactivate (no logins, every session ended) or reactivate; False when it already was.

    Raises UserAdminError when refused.
    """
    problem = why_not_change(user, by=by)
    if problem:
        raise UserAdminError(problem)
    if user.active == active:
        return False
    if not active and user.role is Role.ADMIN and _is_last_active_admin(user):
        raise UserAdminError(_("This is the last active admin; it cannot be deactivated."))
    user.active = active
    if not active:
        user.end_all_sessions()
    db.session.flush()
    action = "user.reactivated" if active else "user.deactivated"
    audit(action, "user", user.id, actor_id=by.id, ip=ip)
    return True


# --- the admin list -------------------------------------------------------------------------

SORTS: Mapping[str, tuple[str, list[Any]]] = {
    "name": (_l("Name"), [func.lower(User.name)]),
    "email": (_l("E-mail"), [User.email]),
    "role": (_l("Role"), [User.role, func.lower(User.name)]),
    "active": (_l("Active"), [User.active, func.lower(User.name)]),
    "created": (_l("Since"), [User.created_at]),
}


def user_page(*, search: str, role: Role | None, sort: str, order: str, page: int) -> Page:
    """Accounts matching `search` (name or e-mail), optionally of one role: two statements."""
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if search:
        pattern = f"%{search.lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(pattern), User.email.like(pattern)))
    return paged(
        stmt, sort_columns=SORTS[sort][1], tiebreak=User.id, sort=sort, order=order, page=page
    )
