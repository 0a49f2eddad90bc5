"""Audit entries. The app only ever adds them: there is no route that edits or deletes one, and
the session refuses to flush a change to a stored entry or its deletion.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event, insert
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from clinic.auth.models import User
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sqltypes import UTCDateTime


class AuditEntry(db.Model):
    __table_args__ = (Index("ix_audit_entry_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    ip: Mapped[str] = mapped_column(String(45), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.subject_type}:{self.subject_id}>"


def record(
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    actor_id: int | None,
    ip: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction."""
    entry = AuditEntry(
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_id=actor_id,
        ip=ip[:45],
        detail=detail or {},
    )
    db.session.add(entry)
    return entry


def record_each(
    action: str,
    subject_type: str,
    details: Mapping[int, dict[str, Any]],
    *,
    actor_id: int | None,
    ip: str = "",
) -> None:
    """One audit entry per subject (subject id -> the entry's detail), in one INSERT.

    For pages that log many subjects at once: `record` would cost an INSERT per entry on
    SQLite, where the ORM cannot batch rows whose new ids it must read back. The rows are
    written now rather than at the next flush, in the current transaction all the same.
    """
    if details:
        db.session.execute(
            insert(AuditEntry),
            [
                {
                    "action": action,
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "actor_id": actor_id,
                    "ip": ip[:45],
                    "detail": detail,
                }
                for subject_id, detail in details.items()
            ],
        )


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, flush_context: Any, instances: Any) -> None:
    for entry in session.deleted:
        if isinstance(entry, AuditEntry):
            raise AuditLogIsAppendOnly(f"{entry!r} cannot be deleted")
    for entry in session.dirty:
        if isinstance(entry, AuditEntry) and session.is_modified(entry):
            raise AuditLogIsAppendOnly(f"{entry!r} cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    # ORM-enabled UPDATE/DELETE statements (update(AuditEntry)...) skip the flush.
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is AuditEntry for mapper in state.all_mappers
    ):
        raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")
