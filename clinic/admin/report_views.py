"""Report pages of the admin area: a period form, a chart, the table under it, and a CSV.

The routes join the admin blueprint, so its admins-only guard covers them. Reading a report
changes nothing, so it is a GET with the period in the query string (`from`, `to`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from clinic import clock
from clinic.admin.periods import Period
from clinic.admin.report_forms import PeriodForm
from clinic.admin.report_kinds import BY_NAME, KINDS, ReportKind
from clinic.admin.report_tables import shown, to_csv
from clinic.admin.views import bp
from clinic.i18n import current_locale


def _period() -> tuple[PeriodForm, Period | None, bool]:
    form = PeriodForm(request.args)
    period, is_default = form.period(clock.local_today(current_app.config["CLINIC_TIMEZONE"]))
    return form, period, is_default


def _kind(name: str) -> ReportKind:
    kind = BY_NAME.get(name)
    if kind is None:
        abort(404)
    return kind


def _args(period: Period | None) -> dict[str, str]:
    """The query string that names the period in links (nothing for a bad one)."""
    if period is None:
        return {}
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}


@bp.get("/reports")
def reports() -> str:
    form, period, is_default = _period()
    return render_template(
        "admin/reports/index.html",
        form=form,
        period=period,
        is_default=is_default,
        kinds=KINDS,
        args=_args(period if not is_default else None),
    )


@bp.get("/reports/<name>")
def report(name: str) -> str:
    kind = _kind(name)
    form, period, is_default = _period()
    result = None
    if period is not None:
        result = kind.build(period, ZoneInfo(current_app.config["CLINIC_TIMEZONE"]))
    locale = current_locale()
    return render_template(
        "admin/reports/report.html",
        kind=kind,
        form=form,
        period=period,
        is_default=is_default,
        report=result,
        # Drawn by charts.py, which escapes every name itself.
        charts=[Markup(svg) for svg in result.charts] if result else [],  # noqa: S704
        shown=lambda cell, column: shown(cell, column, locale),
        args=_args(period),
        index_args=_args(period if not is_default else None),
    )


@bp.get("/reports/<name>.csv")
def report_csv(name: str) -> Response:
    kind = _kind(name)
    form, period, _is_default = _period()
    if period is None:
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return Response(
            _("No report for that period: %(problems)s", problems=problems) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    # Always English, whatever the reader's language: spreadsheets and scripts read the CSV by
    # its column headers, and its week labels and row names stay the same for them.
    with force_locale("en"):
        body = to_csv(kind.build(period, ZoneInfo(current_app.config["CLINIC_TIMEZONE"])))
    return Response(
        body,
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="lindring-{kind.name}-{period.slug}.csv"'
        },
    )
