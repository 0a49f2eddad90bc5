"""The audit log for admins: who did what to which booking, screening, user or setting, when
and from where. Read-only: no route here or anywhere changes or deletes an entry.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request, url_for

from clinic.admin.forms import AuditFilterForm
from clinic.admin.views import PAGE_SIZE, bp
from clinic.audit import log
from clinic.audit.models import AuditEntry
from clinic.paging import read_page


def _subject_link(entry: AuditEntry) -> str | None:
    """Where an admin reads the thing an entry is about, where there is such a page."""
    if entry.subject_id is None:
        return None
    pages = {
        "booking": ("booking.show", "booking_id"),
        "screening": ("review.show", "screening_id"),
    }
    if entry.subject_type not in pages:
        return None
    endpoint, arg = pages[entry.subject_type]
    return url_for(endpoint, **{arg: entry.subject_id})


def _detail_text(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """Detail pairs as short text; long values are cut, they are context, not a record."""
    pairs = []
    for key, value in sorted(detail.items()):
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        pairs.append((key, text if len(text) <= 200 else text[:199] + "…"))
    return pairs


@bp.route("/audit")
def audit_log() -> str:
    """The log, newest first, filtered by who, action, subject, address and days."""
    form = AuditFilterForm(request.args)
    actions, kinds = log.known_values()
    form.set_choices(actions, log.action_prefixes(actions), kinds)
    page = read_page(request.args)
    zone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    asked = bool(request.args.keys() - {"page"})
    if asked and not form.validate():
        rows, total = [], 0
    else:
        wanted = log.AuditFilter(
            actor=(form.actor.data or "").strip(),
            action=form.action.data or "",
            subject_type=form.subject_type.data or "",
            subject_id=form.subject_id.data,
            ip=(form.ip.data or "").strip(),
            day_from=form.day_from.data,
            day_to=form.day_to.data,
        )
        rows, total = log.entries(wanted, zone=zone, page=page, per_page=PAGE_SIZE)
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/audit.html",
        form=form,
        rows=[(e, _subject_link(e), _detail_text(e.detail or {})) for e in rows],
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        query=query,
    )
