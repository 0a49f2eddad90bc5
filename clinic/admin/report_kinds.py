"""The reports an admin can open, with what each one counts, in the words the pages show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from clinic.admin import client_reports, reports
from clinic.admin.periods import Period
from clinic.admin.report_tables import Report


@dataclass(frozen=True)
class ReportKind:
    name: str  # in the URL
    title: str  # this and the texts below are lazy: shown in the reader's language
    summary: str  # one line on the reports index
    definitions: tuple[str, ...]  # what is counted, stated on the page
    build: Callable[[Period, ZoneInfo], Report]


_WEEKS = _l(
    "Weeks are ISO weeks, Monday to Sunday, on the clinic's calendar; the first and last week "
    "may be cut by the period."
)

KINDS = (
    ReportKind(
        "bookings",
        _l("Bookings per technique"),
        _l("How many sessions of each technique were booked, week by week."),
        (
            _l(
                "Counts every booking whose session starts in the period (clinic time), whatever "
                "its status except cancelled: pending, confirmed, completed and no-show."
            ),
            _WEEKS,
        ),
        reports.bookings_per_week,
    ),
    ReportKind(
        "utilisation",
        _l("Utilisation per therapist"),
        _l("Booked minutes as a share of each therapist's working minutes."),
        (
            _l("Utilisation = booked minutes ÷ working minutes."),
            _l(
                "Working minutes: the therapist's weekly working hours, as they are set now, on "
                "each date of the period, less their time off. Busy time imported from external "
                "calendars is not taken off."
            ),
            _l(
                "Booked minutes: the length of their confirmed, completed and no-show sessions "
                "starting in the period. Pending and cancelled bookings are left out."
            ),
        ),
        reports.utilisation,
    ),
    ReportKind(
        "cancellations",
        _l("Cancellations and no-shows"),
        _l("Cancellation and no-show rates per therapist and per technique."),
        (
            _l("Bookings: every booking whose session starts in the period, any status."),
            _l(
                "Cancellation rate = cancelled ÷ bookings. Late cancellations are the cancelled "
                "bookings the clinic marked as cancelled late by the client (after their cut-off); "
                "they are part of the cancelled."
            ),
            _l(
                "No-show rate = no-shows ÷ (completed + no-shows): sessions still pending or "
                "confirmed have no outcome yet. — means there is nothing to divide by."
            ),
        ),
        reports.cancellations,
    ),
    ReportKind(
        "screenings",
        _l("Screening outcomes"),
        _l("Health screenings by their overall outcome, and the admins' review decisions."),
        (
            _l(
                "Screenings submitted in the period, by their overall (most severe) outcome, "
                "including ones since replaced by a newer answer. Screenings erased after the "
                "retention period or with the client's account are no longer counted."
            ),
            _l("Review decisions: every decision an admin made in the period."),
        ),
        client_reports.screening_outcomes,
    ),
    ReportKind(
        "clients",
        _l("New and returning clients"),
        _l("Clients with a completed session each week, first-timers apart."),
        (
            _l(
                "A client counts in a week when they had a completed session in it, once however "
                "many sessions they had."
            ),
            _l(
                "New: their first completed session ever is in that week (within the period). "
                "Returning: they had a completed session before."
            ),
            _l("Deleted accounts still count: their past sessions stay as anonymous statistics."),
            _WEEKS,
        ),
        client_reports.clients_per_week,
    ),
)

BY_NAME = {kind.name: kind for kind in KINDS}
