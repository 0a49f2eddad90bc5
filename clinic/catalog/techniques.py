"""Admin operations on techniques and their options. They flush; the view commits.

A deactivated technique disappears from the public pages, the API and the slot search (they
all filter on `Technique.active`); bookings made before keep it, and can still be moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from clinic.audit.models import record as audit
from clinic.auth.models import User
from clinic.catalog.models import TRANSLATED, Pressure, Technique, TechniqueOption
from clinic.extensions import db
from clinic.paging import Page, paged

TEXT_FIELDS = ("name", "slug", "summary", "description", "helps_with", "not_suitable_for")


@dataclass(frozen=True)
class TechniqueData:
    """A technique as the admin entered it; options are (minutes, price in øre), sorted. The
    texts are English; `danish` holds their Danish versions by field name (blank: none)."""

    name: str
    slug: str
    summary: str
    description: str
    helps_with: str
    not_suitable_for: str
    pressure: Pressure
    active: bool
    options: tuple[tuple[int, int], ...]
    danish: dict[str, str] = field(default_factory=dict)


def _english(technique: Technique, name: str) -> str:
    return technique.text(name, "en") if name in TRANSLATED else getattr(technique, name)


def _set_danish(technique: Technique, danish: dict[str, str]) -> list[str]:
    """Store the Danish texts; returns the names (`name_da`, ...) of those that changed."""
    changed = []
    for name in TRANSLATED:
        wanted = danish.get(name, "").strip()
        if (technique.translations or {}).get("da", {}).get(name, "") != wanted:
            technique.set_text(name, "da", wanted)
            changed.append(f"{name}_da")
    return changed


def create_technique(data: TechniqueData, *, by: User, ip: str = "") -> Technique:
    """Add a technique at the end of the public list."""
    last = db.session.scalar(select(func.max(Technique.position)))
    technique = Technique(
        **{name: getattr(data, name) for name in TEXT_FIELDS},
        pressure=data.pressure,
        active=data.active,
        position=(last or 0) + 1,
        options=[TechniqueOption(duration_minutes=d, price_minor=p) for d, p in data.options],
    )
    _set_danish(technique, data.danish)
    db.session.add(technique)
    db.session.flush()
    audit(
        "technique.created",
        "technique",
        technique.id,
        actor_id=by.id,
        ip=ip,
        detail={"active": data.active, "durations": [d for d, _ in data.options]},
    )
    return technique


def update_technique(
    technique: Technique, data: TechniqueData, *, by: User, ip: str = ""
) -> list[str]:
    """Save the changes; returns the names of the fields that changed (nothing is audited when
    none did). Options are matched by length: a kept length keeps its row and takes the new
    price, a cleared one is deleted. Bookings keep the length and price they were made with."""
    changed = [name for name in TEXT_FIELDS if _english(technique, name) != getattr(data, name)]
    for name in changed:
        setattr(technique, name, getattr(data, name))
    changed += _set_danish(technique, data.danish)
    if technique.pressure is not data.pressure:
        technique.pressure = data.pressure
        changed.append("pressure")
    if technique.active != data.active:
        technique.active = data.active
        changed.append("active")
    before = [(o.duration_minutes, o.price_minor) for o in technique.options]
    if tuple(before) != data.options:
        wanted = dict(data.options)
        for option in list(technique.options):
            if option.duration_minutes in wanted:
                option.price_minor = wanted.pop(option.duration_minutes)
            else:
                technique.options.remove(option)
        # Deleted rows go first, so that the unique (technique, length) pair is free again.
        db.session.flush()
        for minutes, minor in wanted.items():
            technique.options.append(TechniqueOption(duration_minutes=minutes, price_minor=minor))
        changed.append("options")
    if not changed:
        return []
    db.session.flush()
    detail: dict[str, Any] = {"changed": changed}
    if "active" in changed:
        detail["active"] = data.active
    if "options" in changed:
        detail["durations"] = [d for d, _ in data.options]
    audit("technique.updated", "technique", technique.id, actor_id=by.id, ip=ip, detail=detail)
    return changed


# --- the admin list -------------------------------------------------------------------------

_OPTION_COUNT = (
    select(func.count(TechniqueOption.id))
    .where(TechniqueOption.technique_id == Technique.id)
    .correlate(Technique)
    .scalar_subquery()
)

SORTS: Mapping[str, tuple[str, list[Any]]] = {
    "name": (_l("Name"), [func.lower(Technique.name)]),
    "pressure": (_l("Pressure"), [Technique.pressure, func.lower(Technique.name)]),
    "active": (_l("Offered"), [Technique.active, func.lower(Technique.name)]),
    "options": (_l("Options"), [_OPTION_COUNT, func.lower(Technique.name)]),
}


def technique_page(*, search: str, sort: str, order: str, page: int) -> Page:
    """Techniques matching `search` (name or slug), as rows of (technique, number of options).

    Two statements whatever the number of techniques: the count and the page.
    """
    stmt = select(Technique, _OPTION_COUNT.label("option_count")).options(
        selectinload(Technique.options)
    )
    if search:
        pattern = f"%{search.lower()}%"
        stmt = stmt.where(
            or_(func.lower(Technique.name).like(pattern), Technique.slug.like(pattern))
        )
    return paged(
        stmt,
        sort_columns=SORTS[sort][1],
        tiebreak=Technique.id,
        sort=sort,
        order=order,
        page=page,
        scalars=False,
    )
