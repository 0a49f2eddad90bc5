"""Admin operations on therapists' certificates, and the admin's list of them.

Operations flush; the view commits. A therapist is offered for a technique only on days a
certificate for it is valid (DESIGN.md), so each change here changes what the slot search offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, contains_eager

from clinic.audit.models import record as audit
from clinic.auth.models import User
from clinic.catalog.models import Certification, Technique, Therapist
from clinic.extensions import db
from clinic.paging import Page, paged


@dataclass(frozen=True)
class CertificationData:
    therapist_id: int
    technique_id: int
    body: str
    number: str
    valid_from: date
    valid_until: date
    document_ref: str


def _detail(certification: Certification, **extra: Any) -> dict[str, Any]:
    # Ids and dates only: the audit log is never edited, so it holds nothing personal.
    return {
        "therapist_id": certification.therapist_id,
        "technique_id": certification.technique_id,
        "valid_from": certification.valid_from.isoformat(),
        "valid_until": certification.valid_until.isoformat(),
        **extra,
    }


def add_certification(data: CertificationData, *, by: User, ip: str = "") -> Certification:
    certification = Certification(**{f.name: getattr(data, f.name) for f in fields(data)})
    db.session.add(certification)
    db.session.flush()
    audit(
        "certification.added",
        "certification",
        certification.id,
        actor_id=by.id,
        ip=ip,
        detail=_detail(certification),
    )
    return certification


def update_certification(
    certification: Certification, data: CertificationData, *, by: User, ip: str = ""
) -> list[str]:
    """Save the changes; returns the names of the fields that changed (none: no audit entry)."""
    changed = [
        f.name for f in fields(data) if getattr(certification, f.name) != getattr(data, f.name)
    ]
    if not changed:
        return []
    for name in changed:
        setattr(certification, name, getattr(data, name))
    db.session.flush()
    audit(
        "certification.updated",
        "certification",
        certification.id,
        actor_id=by.id,
        ip=ip,
        detail=_detail(certification, changed=changed),
    )
    return changed


def delete_certification(certification: Certification, *, by: User, ip: str = "") -> None:
    detail = _detail(certification)
    audit(
        "certification.deleted",
        "certification",
        certification.id,
        actor_id=by.id,
        ip=ip,
        detail=detail,
    )
    db.session.delete(certification)
    db.session.flush()


# --- the admin list -------------------------------------------------------------------------

_therapist_user = aliased(User)

SORTS: Mapping[str, tuple[str, list[Any]]] = {
    "therapist": (_l("Therapist"), [func.lower(_therapist_user.name), func.lower(Technique.name)]),
    "technique": (_l("Technique"), [func.lower(Technique.name), func.lower(_therapist_user.name)]),
    "body": (_l("Issued by"), [func.lower(Certification.body)]),
    "valid_from": (_l("Valid from"), [Certification.valid_from]),
    "valid_until": (_l("Valid until"), [Certification.valid_until]),
}


def certification_page(
    *, search: str, therapist_id: int | None, sort: str, order: str, page: int
) -> Page:
    """Certificates matching `search` (therapist, technique, body or number), optionally of one
    therapist. Two statements whatever the number of rows: therapist and technique come joined.
    """
    stmt = (
        select(Certification)
        .join(Certification.therapist)
        .join(_therapist_user, _therapist_user.id == Therapist.user_id)
        .join(Certification.technique)
        .options(
            contains_eager(Certification.therapist).contains_eager(
                Therapist.user.of_type(_therapist_user)
            ),
            contains_eager(Certification.technique),
        )
    )
    if therapist_id is not None:
        stmt = stmt.where(Certification.therapist_id == therapist_id)
    if search:
        pattern = f"%{search.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(_therapist_user.name).like(pattern),
                func.lower(Technique.name).like(pattern),
                func.lower(Certification.body).like(pattern),
                func.lower(Certification.number).like(pattern),
            )
        )
    return paged(
        stmt,
        sort_columns=SORTS[sort][1],
        tiebreak=Certification.id,
        sort=sort,
        order=order,
        page=page,
    )
