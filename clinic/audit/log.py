"""Reading the audit log: filters and one page of entries, newest first.

The log is append-only (see `clinic.audit.models`); this module only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.extensions import db


@dataclass(frozen=True)
class AuditFilter:
    """What an admin asked to see; empty fields filter nothing. Dates are clinic-local days."""

    actor: str = ""  # part of the actor's name or e-mail, or "system" for no actor
    action: str = ""  # an exact action, or a prefix ending in "." ("booking.")
    subject_type: str = ""
    subject_id: int | None = None
    ip: str = ""
    day_from: date | None = None
    day_to: date | None = None


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _filtered(stmt: Select, wanted: AuditFilter, zone: ZoneInfo) -> Select:
    if wanted.actor == "system":
        stmt = stmt.where(AuditEntry.actor_id.is_(None))
    elif wanted.actor:
        pattern = f"%{wanted.actor.lower()}%"
        actors = select(User.id).where(
            or_(func.lower(User.name).like(pattern), User.email.like(pattern))
        )
        stmt = stmt.where(AuditEntry.actor_id.in_(actors))
    if wanted.action.endswith("."):
        stmt = stmt.where(AuditEntry.action.startswith(wanted.action, autoescape=True))
    elif wanted.action:
        stmt = stmt.where(AuditEntry.action == wanted.action)
    if wanted.subject_type:
        stmt = stmt.where(AuditEntry.subject_type == wanted.subject_type)
    if wanted.subject_id is not None:
        stmt = stmt.where(AuditEntry.subject_id == wanted.subject_id)
    if wanted.ip:
        stmt = stmt.where(AuditEntry.ip == wanted.ip)
    if wanted.day_from:
        stmt = stmt.where(AuditEntry.at >= _local_midnight(wanted.day_from, zone))
    if wanted.day_to:
        # Inclusive: up to the next local midnight, which DST may put 23 or 25 hours later.
        stmt = stmt.where(AuditEntry.at < _local_midnight(wanted.day_to + timedelta(days=1), zone))
    return stmt


def entries(
    wanted: AuditFilter, *, zone: ZoneInfo, page: int, per_page: int
) -> tuple[list[AuditEntry], int]:
    """One page of matching entries, newest first, with their actors loaded, and the total."""
    total = db.session.scalar(_filtered(select(func.count(AuditEntry.id)), wanted, zone))
    rows = db.session.scalars(
        _filtered(select(AuditEntry), wanted, zone)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total or 0


def known_values() -> tuple[list[str], list[str]]:
    """The actions and subject types the log holds, for the filter's choices."""
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    kinds = db.session.scalars(
        select(AuditEntry.subject_type).distinct().order_by(AuditEntry.subject_type)
    )
    return list(actions), list(kinds)


def action_prefixes(actions: list[str]) -> list[str]:
    """'booking.' for 'booking.confirmed' and the rest: a choice that matches a whole area."""
    return sorted({a.split(".", 1)[0] + "." for a in actions if "." in a})
