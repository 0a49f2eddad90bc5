"""The arithmetic of the reports: periods, ISO weeks, rates and working time. Pure: no Flask, no DB.

A period is a run of local dates on the clinic's calendar, both ends included; it begins at the
first date's local midnight and ends at the local midnight after the last date, converted to
UTC (so a period holding a DST change is an hour shorter or longer than its days times 24).
Weeks are ISO weeks, Monday to Sunday; the first and last week of a period may be cut by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.scheduling.slots import Interval, local_midnight, local_window, merge, subtract
from clinic.text import N_

DEFAULT_WEEKS = 8
MAX_DAYS = 366  # about a year: longer periods are refused

# Why dates make no period: English here, translated by the form that shows them.
BACKWARDS = N_("The end date is before the start date.")
TOO_LONG = N_("Choose a period of at most %(days)s days.")


@dataclass(frozen=True)
class Period:
    """Local dates `first` to `last`, both included."""

    first: date
    last: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants [start, end)."""
        return local_midnight(self.first, zone), local_midnight(self.last + timedelta(1), zone)

    def days(self) -> list[date]:
        return [self.first + timedelta(n) for n in range((self.last - self.first).days + 1)]

    def weeks(self) -> list[date]:
        """The Mondays of the ISO weeks the period touches, oldest first."""
        monday = week_of(self.first)
        weeks = []
        while monday <= self.last:
            weeks.append(monday)
            monday += timedelta(7)
        return weeks

    @property
    def slug(self) -> str:
        """For file names: '2027-03-22_2027-04-04'."""
        return f"{self.first.isoformat()}_{self.last.isoformat()}"


def default_period(today: date) -> Period:
    """The last DEFAULT_WEEKS full ISO weeks before the week of `today`."""
    this_monday = week_of(today)
    return Period(this_monday - timedelta(weeks=DEFAULT_WEEKS), this_monday - timedelta(1))


def period_problem(first: date, last: date) -> tuple[str, dict[str, int]] | None:
    """Why these dates make no period, as a message (BACKWARDS, TOO_LONG) and its values to
    translate it with, or None when they do."""
    if last < first:
        return BACKWARDS, {}
    if (last - first).days + 1 > MAX_DAYS:
        return TOO_LONG, {"days": MAX_DAYS}
    return None


def period_error(first: date, last: date) -> str | None:
    """Why these dates make no period, in English, or None when they do."""
    problem = period_problem(first, last)
    if problem is None:
        return None
    message, values = problem
    return message % values if values else message


def week_of(day: date) -> date:
    """The Monday of the ISO week holding `day`."""
    return day - timedelta(day.weekday())


def week_label(monday: date) -> str:
    """'2027-W12' for the week starting Monday 22 March 2027."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The clinic's calendar date of a UTC instant."""
    return instant.astimezone(zone).date()


def rate(part: int, whole: int | float) -> float | None:
    """`part` of `whole` in per cent, to one decimal; None when there is no whole to share."""
    if not whole:
        return None
    return round(100 * part / whole, 1)


def working_minutes(
    period: Period,
    hours: Mapping[int, Sequence[tuple[time, time]]],
    time_off: Iterable[Interval],
    zone: ZoneInfo,
) -> int:
    """Minutes a therapist works in the period: weekly hours (weekday -> wall-clock intervals)
    on each local date, as the slot engine builds its windows, less time off.

    On the spring-forward night a window across 02:00-03:00 is an hour shorter; on the
    fall-back night one across the repeated hour an hour longer.
    """
    windows = []
    for day in period.days():
        for start, end in hours.get(day.weekday(), ()):
            window = local_window(day, start, end, zone)
            if window is not None:
                windows.append(window)
    free = subtract(merge(windows), merge(time_off))
    return int(sum((i.end - i.start for i in free), timedelta()) // timedelta(minutes=1))


@dataclass(frozen=True)
class ClientWeek:
    week: date  # its Monday
    new: int
    returning: int

    @property
    def total(self) -> int:
        return self.new + self.returning


def new_and_returning(
    period: Period,
    sessions: Iterable[tuple[int, datetime]],
    first_ever: Mapping[int, datetime],
    zone: ZoneInfo,
) -> list[ClientWeek]:
    """Per week of the period: the clients with a session in it, split into new (their first
    session ever lies in that week's part of the period) and returning (everyone else).

    `sessions` are (client, start) pairs inside the period; `first_ever` is each client's first
    session start of all time. A client with two sessions in a week counts once.
    """
    seen: dict[date, dict[int, bool]] = {monday: {} for monday in period.weeks()}
    for client, starts in sessions:
        day = local_date(starts, zone)
        monday = week_of(day)
        if monday not in seen or not period.first <= day <= period.last:
            continue
        first = local_date(first_ever.get(client, starts), zone)
        seen[monday][client] = first >= max(monday, period.first)
    return [
        ClientWeek(
            monday,
            sum(1 for is_new in clients.values() if is_new),
            sum(1 for is_new in clients.values() if not is_new),
        )
        for monday, clients in seen.items()
    ]
