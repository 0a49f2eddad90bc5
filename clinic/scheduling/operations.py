"""Changes to working hours, time off, clinic policies and rooms, and a therapist's coming days.

Every change takes the acting user, records an audit entry and only flushes: the view commits,
so a request is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from clinic.audit.models import record as audit
from clinic.auth.models import User
from clinic.catalog.models import Room, Therapist
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy, TimeOff, WorkingHours
from clinic.scheduling.slots import Interval, local_midnight, local_window, merge, subtract

# (weekday, start, end) on the clinic's wall clock; weekday 0 is Monday.
Hours = tuple[int, time, time]

DASH = "\u2013"  # en dash, between the ends of a range of times


class SchedulingError(Exception):
    """A change the rules refuse; the message is meant for the person who asked."""


# --- local days as instants -------------------------------------------------------------------


def whole_days(first: date, last: date, zone: ZoneInfo) -> Interval:
    """From local midnight of `first` to local midnight after `last`: 23 or 25 hours a day when
    the clocks change."""
    return Interval(local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone))


def exists(day: date, at: time, zone: ZoneInfo) -> bool:
    """False for a wall-clock time skipped when the clocks go forward (02:30 on that day)."""
    local = datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)


# --- working hours ----------------------------------------------------------------------------


def _as_text(hours: Iterable[Hours]) -> list[list[Any]]:
    return [[weekday, f"{start:%H:%M}", f"{end:%H:%M}"] for weekday, start, end in sorted(hours)]


def save_working_hours(
    therapist: Therapist, hours: Sequence[Hours], *, by: User, ip: str = ""
) -> None:
    """Replace all of the therapist's weekly intervals by `hours` (already validated)."""
    before = [(h.weekday, h.start_time, h.end_time) for h in therapist.working_hours]
    # delete-orphan on the relationship removes the old rows in the same flush.
    therapist.working_hours = [
        WorkingHours(weekday=weekday, start_time=start, end_time=end)
        for weekday, start, end in hours
    ]
    db.session.flush()
    audit(
        "working_hours.replaced",
        "therapist",
        therapist.id,
        actor_id=by.id,
        ip=ip,
        detail={"before": _as_text(before), "after": _as_text(hours)},
    )


# --- time off ---------------------------------------------------------------------------------


def add_time_off(
    therapist: Therapist, span: Interval, reason: str, *, by: User, now: datetime, ip: str = ""
) -> TimeOff:
    """Raises SchedulingError when the whole span lies in the past."""
    if span.end <= now:
        raise SchedulingError(_("That time is already over; time off must end in the future."))
    row = TimeOff(
        therapist_id=therapist.id, starts_at=span.start, ends_at=span.end, reason=reason.strip()
    )
    db.session.add(row)
    db.session.flush()
    audit(
        "time_off.added",
        "time_off",
        row.id,
        actor_id=by.id,
        ip=ip,
        detail={
            "therapist_id": therapist.id,
            "starts_at": span.start.isoformat(),
            "ends_at": span.end.isoformat(),
        },
    )
    return row


def delete_time_off(row: TimeOff, *, by: User, ip: str = "") -> None:
    audit(
        "time_off.deleted",
        "time_off",
        row.id,
        actor_id=by.id,
        ip=ip,
        detail={
            "therapist_id": row.therapist_id,
            "starts_at": row.starts_at.isoformat(),
            "ends_at": row.ends_at.isoformat(),
            "reason": row.reason,
        },
    )
    db.session.delete(row)
    db.session.flush()


def upcoming_time_off(therapist_id: int, now: datetime) -> list[TimeOff]:
    """Time off not yet over, soonest first."""
    return list(
        db.session.scalars(
            select(TimeOff)
            .where(TimeOff.therapist_id == therapist_id, TimeOff.ends_at > now)
            .order_by(TimeOff.starts_at, TimeOff.id)
        )
    )


# --- the coming days, as the slot engine sees them --------------------------------------------


@dataclass(frozen=True)
class PreviewDay:
    day: date
    scheduled: bool  # the weekday has working hours
    periods: tuple[str, ...]  # what is left after time off: '09:00-12:00 CET'

    @property
    def off(self) -> bool:
        """Working hours that time off covers completely."""
        return self.scheduled and not self.periods


def _period(interval: Interval, zone: ZoneInfo) -> str:
    start, end = interval.start.astimezone(zone), interval.end.astimezone(zone)
    if start.tzname() == end.tzname():
        return f"{start:%H:%M}{DASH}{end:%H:%M} {start.tzname()}"
    return f"{start:%H:%M} {start.tzname()}{DASH}{end:%H:%M} {end.tzname()}"


def preview(
    hours: Iterable[Hours],
    time_off: Iterable[Interval],
    first_day: date,
    days: int,
    zone: ZoneInfo,
) -> list[PreviewDay]:
    """Working time per local day from `first_day` on, minus time off. Pure."""
    by_weekday: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in hours:
        by_weekday.setdefault(weekday, []).append((start, end))
    taken = merge(time_off)
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        spans = by_weekday.get(day.weekday(), [])
        windows = merge(
            w for w in (local_window(day, start, end, zone) for start, end in spans) if w
        )
        free = subtract(windows, taken)
        result.append(PreviewDay(day, bool(spans), tuple(_period(i, zone) for i in free)))
    return result


def load_preview(
    therapist_id: int, hours: Iterable[Hours], first_day: date, days: int, zone: ZoneInfo
) -> list[PreviewDay]:
    """`preview` with the therapist's time off in those days: one query."""
    begin = local_midnight(first_day, zone)
    finish = local_midnight(first_day + timedelta(days=days), zone)
    time_off = [
        Interval(starts, ends)
        for starts, ends in db.session.execute(
            select(TimeOff.starts_at, TimeOff.ends_at).where(
                TimeOff.therapist_id == therapist_id,
                TimeOff.starts_at < finish,
                TimeOff.ends_at > begin,
            )
        )
    ]
    return preview(hours, time_off, first_day, days, zone)


# --- clinic policies --------------------------------------------------------------------------


def update_policy(values: dict[str, int], *, by: User, ip: str = "") -> ClinicPolicy:
    """Store the policy values, creating the single policy row if there is none yet."""
    policy = db.session.get(ClinicPolicy, 1)
    if policy is None:
        policy = ClinicPolicy.current()
        db.session.add(policy)
    changed = {
        name: [getattr(policy, name), value]
        for name, value in values.items()
        if getattr(policy, name) != value
    }
    for name, value in values.items():
        setattr(policy, name, value)
    db.session.flush()
    audit("policy.updated", "clinic_policy", policy.id, actor_id=by.id, ip=ip, detail=changed)
    return policy


# --- rooms ------------------------------------------------------------------------------------


def room_names() -> dict[str, int]:
    """Every room's case-folded name and its id, to keep names unique regardless of case.

    Compared in Python: SQLite's lower() folds only ASCII letters ('Ø' stays 'Ø')."""
    return {
        name.casefold(): room_id for room_id, name in db.session.execute(select(Room.id, Room.name))
    }


def add_room(name: str, *, by: User, ip: str = "") -> Room:
    room = Room(name=name, active=True)
    db.session.add(room)
    db.session.flush()
    audit("room.added", "room", room.id, actor_id=by.id, ip=ip, detail={"name": name})
    return room


def rename_room(room: Room, name: str, *, by: User, ip: str = "") -> None:
    if room.name == name:
        return
    old, room.name = room.name, name
    db.session.flush()
    audit("room.renamed", "room", room.id, actor_id=by.id, ip=ip, detail={"from": old, "to": name})


def set_room_active(room: Room, active: bool, *, by: User, ip: str = "") -> None:
    if room.active == active:
        return  # a resent form changes nothing and records nothing
    room.active = active
    db.session.flush()
    action = "room.reactivated" if active else "room.deactivated"
    audit(action, "room", room.id, actor_id=by.id, ip=ip, detail={"name": room.name})
