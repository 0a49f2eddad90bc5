"""How clients keep their sessions: no-shows and late cancellations, counted per client.

The admins' clients page reads one row per client from `client_records`; the booking flow asks
`needs_missed_sessions_review` whether the clinic confirms a client's new bookings itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, or_, select

from clinic.auth.models import Role, User
from clinic.booking.models import Booking, BookingStatus
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from clinic.text import N_

MISSED_SESSIONS_NOTICE = N_(
    "Because of missed sessions, the clinic confirms this booking: we hold the time for you "
    "and tell you by e-mail once it is confirmed."
)


def no_show_count(client_id: int) -> int:
    """How many of the client's sessions were marked no-show."""
    return db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.client_id == client_id, Booking.status == BookingStatus.NO_SHOW)
    )


def needs_missed_sessions_review(client_id: int, policy: ClinicPolicy) -> bool:
    """Whether the clinic confirms this client's new bookings itself (they are made pending).

    True when the policy's no-show threshold is on (above 0) and the client has reached it.
    Nothing stores why a booking is pending: while this holds, a pending booking of the client
    is taken to be held for the missed sessions, whatever the screening says, so approving the
    screening leaves it for an admin to confirm.
    """
    threshold = policy.no_show_review_threshold
    return threshold > 0 and no_show_count(client_id) >= threshold


# --- the admins' clients page ---------------------------------------------------------------


@dataclass(frozen=True)
class ClientRecord:
    """One client's bookings, counted. `last_visit` is the start of the last completed one."""

    id: int
    name: str
    email: str
    bookings: int
    completed: int
    no_shows: int
    late_cancellations: int
    last_visit: datetime | None


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # SUM(CASE ...) rather than COUNT(...) FILTER: the same SQL on SQLite and PostgreSQL.
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# sort key -> (label, ORDER BY); every order ends with the name and id, so pages are stable.
SORTS = {
    "name": _l("Name"),
    "no_shows": _l("Most no-shows"),
    "late": _l("Most late cancellations"),
}


def client_records(
    *, search: str = "", sort: str = "name", page: int = 1, per_page: int = 50
) -> tuple[list[ClientRecord], int]:
    """A page of clients with their counts, and how many clients match in all.

    `search` matches part of the name or e-mail, ignoring case. Two queries whatever the page
    size: the count, and the page with every count computed by one GROUP BY.
    """
    visited = case((Booking.status == BookingStatus.COMPLETED, Booking.starts_at))
    tally = (
        select(
            Booking.client_id.label("client_id"),
            func.count().label("bookings"),
            _count_where(Booking.status == BookingStatus.COMPLETED).label("completed"),
            _count_where(Booking.status == BookingStatus.NO_SHOW).label("no_shows"),
            _count_where(Booking.late_cancellation.is_(True)).label("late"),
            func.max(visited).label("last_visit"),
        )
        .group_by(Booking.client_id)
        .subquery()
    )
    matching = [User.role == Role.CLIENT]
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        matching.append(
            or_(
                func.lower(User.name).like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(User).where(*matching))

    bookings = func.coalesce(tally.c.bookings, 0)
    no_shows = func.coalesce(tally.c.no_shows, 0)
    late = func.coalesce(tally.c.late, 0)
    order = {
        "name": (),
        "no_shows": (no_shows.desc(), late.desc()),
        "late": (late.desc(), no_shows.desc()),
    }.get(sort, ())
    rows = db.session.execute(
        select(
            User.id,
            User.name,
            User.email,
            bookings,
            func.coalesce(tally.c.completed, 0),
            no_shows,
            late,
            tally.c.last_visit,
        )
        .outerjoin(tally, tally.c.client_id == User.id)
        .where(*matching)
        .order_by(*order, User.name, User.id)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return [ClientRecord(*row) for row in rows], total
