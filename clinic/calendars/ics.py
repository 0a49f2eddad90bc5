"""iCalendar files: building them for bookings and feeds, reading busy time from other calendars.

Pure: plain values in and out, no Flask, no database. Built on the icalendar package; recurring
events are expanded by recurring-ical-events.

Exported events carry DTSTART/DTEND with the TZID of the clinic's zone and a VTIMEZONE for it,
so every calendar program shows the same wall-clock time the clinic does, on both sides of a
DST change. Nothing about a client's health goes in here: callers pass only what the event says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import recurring_ical_events
from dateutil.rrule import rrule, rrulestr
from icalendar import (
    Calendar,
    Event,
    vCalAddress,
    vRecur,
    vText,
)
from icalendar.error import BrokenCalendarProperty

from clinic.calendars.vtimezone import vtimezone
from clinic.text import N_

PRODID = "-//Lindring//Lindring booking//EN"

# More occurrences than this inside the asked window means the file is not a person's calendar
# (or is an attack): reading stops and IcsError is raised rather than importing part of it,
# because a truncated import would silently leave busy time bookable.
MAX_OCCURRENCES = 10_000
# Repetitions walked from each rule's DTSTART to the end of the window, for the whole file: a
# daily event started ten years ago costs 3,650. About a second of work at most.
MAX_RULE_STEPS = 500_000

_TOO_MANY = N_(
    "This calendar has more than %(count)s events in the period we read, which is more than a "
    "person's calendar holds. Please export a calendar with only the events that should block "
    "time."
)

# Properties that say when an event happens: damage to one makes the file unreadable for us.
# Damage elsewhere (a description, an alarm) does not matter for busy time and is ignored.
_TIME_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class EventSpec:
    """One event of an exported calendar. Never put health data in any field."""

    uid: str  # stable per booking, e.g. "booking-42@<domain>"
    start: datetime  # aware (any zone; written with TZID of the calendar's zone)
    end: datetime
    summary: str
    stamp: datetime  # DTSTAMP / LAST-MODIFIED (aware)
    sequence: int = 0
    cancelled: bool = False  # STATUS:CANCELLED instead of CONFIRMED
    tentative: bool = False  # STATUS:TENTATIVE (pending bookings)
    location: str = ""
    description: str = ""
    url: str = ""
    organizer: Person | None = None
    attendees: tuple[Person, ...] = ()

    def __post_init__(self) -> None:
        for name in ("start", "end", "stamp"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"EventSpec.{name} must be an aware datetime")
        if self.end <= self.start:
            raise ValueError("EventSpec.end must be after its start")


@dataclass(frozen=True)
class Busy:
    """A busy stretch [start, end) of an external calendar, in UTC."""

    start: datetime  # aware UTC
    end: datetime  # aware UTC
    all_day: bool


class Phrase:
    """Text for people: English when made a string, and the template and values to show it in
    another language, `_(phrase.template, **values)` (clinic/calendars/imports.py does it).

    A value may be a Phrase itself (a part of the sentence to translate too); whole numbers
    are written with thousands separators (10,000).
    """

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = values

    def __str__(self) -> str:
        if not self.values:
            return self.template
        return self.template % {
            key: f"{value:,}" if isinstance(value, int) else str(value)
            for key, value in self.values.items()
        }

    def __repr__(self) -> str:
        return f"Phrase({str(self)!r})"


class IcsError(ValueError):
    """A file that is not a readable iCalendar file; the message is written for people, in
    English as str(error), and as `phrase` for other languages."""

    def __init__(self, template: str, **values: object) -> None:
        self.phrase = Phrase(template, **values)
        super().__init__(str(self.phrase))


# --- building -------------------------------------------------------------------------------


def build_calendar(
    events: Iterable[EventSpec], *, timezone: str, method: str | None = None, name: str = ""
) -> str:
    """A VCALENDAR (PRODID, VERSION 2.0, CALSCALE, optional METHOD and X-WR-CALNAME) with one
    VTIMEZONE for `timezone` (covering the events' years) and the events, DTSTART/DTEND with TZID.

    `method` is an iTIP method ("REQUEST", "CANCEL", "PUBLISH") for e-mail attachments; leave it
    None for downloads and feeds. A `name` marks the calendar as a subscribed feed: it also gets
    REFRESH-INTERVAL and X-PUBLISHED-TTL of an hour, which tell calendar programs how often to
    look again. With no events there is no VTIMEZONE (nothing refers to it).
    Raises ValueError for an unknown time zone.
    """
    zone = _zone(timezone)
    specs = list(events)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method.upper())
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", timezone)
        calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
    if specs:
        first = min(spec.start.astimezone(zone).year for spec in specs)
        last = max(spec.end.astimezone(zone).year for spec in specs)
        calendar.add_component(vtimezone(timezone, first, last))
    for spec in specs:
        calendar.add_component(_event(spec, zone))
    return calendar.to_ical().decode("utf-8")


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone: {timezone!r}") from None


def _event(spec: EventSpec, zone: ZoneInfo) -> Event:
    event = Event()
    event.add("uid", spec.uid)
    event.add("dtstamp", spec.stamp.astimezone(UTC))
    event.add("last-modified", spec.stamp.astimezone(UTC))
    event.add("dtstart", spec.start.astimezone(zone))
    event.add("dtend", spec.end.astimezone(zone))
    event.add("sequence", spec.sequence)
    if spec.cancelled:
        status = "CANCELLED"
    elif spec.tentative:
        status = "TENTATIVE"
    else:
        status = "CONFIRMED"
    event.add("status", status)
    event.add("summary", _text(spec.summary))
    # A cancelled session keeps no time: calendar programs show it free.
    event.add("transp", "TRANSPARENT" if spec.cancelled else "OPAQUE")
    if spec.location:
        event.add("location", _text(spec.location))
    if spec.description:
        event.add("description", _text(spec.description))
    if spec.url:
        event.add("url", spec.url)
    if spec.organizer is not None:
        event.add("organizer", _address(spec.organizer))
    for attendee in spec.attendees:
        address = _address(attendee)
        address.params["ROLE"] = "REQ-PARTICIPANT"
        # The client booked the session themselves, so no reply is asked of them.
        address.params["PARTSTAT"] = "ACCEPTED"
        address.params["RSVP"] = "FALSE"
        event.add("attendee", address, encode=False)
    return event


def _text(value: str) -> str:
    """Text as iCalendar can carry it: line breaks as \\n, no other control characters."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in value if c in "\n\t" or (c >= " " and c != "\x7f"))


def _address(person: Person) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    # A double quote cannot be written inside a quoted parameter value (RFC 5545 3.2).
    name = " ".join(_text(person.name).replace('"', "'").split())
    if name:
        address.params["CN"] = vText(name)
    return address


# --- reading --------------------------------------------------------------------------------


def parse_busy(data: bytes | str, *, start: datetime, end: datetime, timezone: str) -> list[Busy]:
    """Busy intervals overlapping [start, end) from an external calendar file, recurring events
    expanded (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides); TRANSP:TRANSPARENT and
    STATUS:CANCELLED events are free; all-day and floating times are read in `timezone`.
    Sorted by start.

    An all-day event covers whole local days in `timezone` (midnight to midnight, so 23 or 25
    hours on a DST day). An event with DURATION ends after it; a timed event with neither DTEND
    nor DURATION lasts no time (RFC 5545) and blocks nothing; an all-day one without DTEND lasts
    one day. Intervals keep the file's own edges and are neither clipped to the window nor
    merged.

    A TZID that is neither a known zone nor defined by a VTIMEZONE in the file is read as
    floating (in `timezone`), as icalendar does.

    Raises IcsError, with a message for people, for a malformed file; and, rather than reading
    part of it (which would leave busy time bookable), for a file with more than
    MAX_OCCURRENCES occurrences overlapping the window, with rules that repeat more than
    MAX_RULE_STEPS times in all between their starts and the window's end, or with a rule that
    repeats every second or minute.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("parse_busy needs an aware start and end")
    zone = _zone(timezone)
    calendars = _read_calendars(data)
    window_start, window_end = start.astimezone(UTC), end.astimezone(UTC)
    _check_repetition(calendars, window_start, window_end)
    found: list[Busy] = []
    seen = 0
    for calendar in calendars:
        for component in _occurrences(calendar, window_start, window_end, zone):
            busy = _busy(component, zone)
            if busy is None or busy.end <= window_start or busy.start >= window_end:
                continue
            seen += 1
            if seen > MAX_OCCURRENCES:
                raise IcsError(_TOO_MANY, count=MAX_OCCURRENCES)
            if not _is_free(component):
                found.append(busy)
    found.sort(key=lambda busy: (busy.start, busy.end))
    return found


def _read_calendars(data: bytes | str) -> list[Calendar]:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Older programs write Latin-1; a file that is not text at all fails below.
            text = data.decode("latin-1")
    else:
        text = data
    if not text.strip():
        raise IcsError(N_("The file is empty."))
    if "BEGIN:VCALENDAR" not in text.upper():
        raise IcsError(
            N_(
                "This is not an iCalendar file: it has no BEGIN:VCALENDAR. "
                "Export the calendar as .ics (iCalendar) and try again."
            )
        )
    try:
        components = Calendar.from_ical(text, multiple=True)
    except (ValueError, IndexError, KeyError) as error:
        raise IcsError(_UNREADABLE, problem=_first_line(error)) from None
    calendars = [c for c in components if isinstance(c, Calendar)]
    if not calendars:
        raise IcsError(
            N_(
                "The calendar file is incomplete: it does not end with END:VCALENDAR. "
                "It may have been cut off while downloading."
            )
        )
    for calendar in calendars:
        for event in calendar.walk("VEVENT"):
            _check_event(event)
    return calendars


def _check_event(event: Event) -> None:
    for prop, message in getattr(event, "errors", ()):
        if prop in _TIME_PROPERTIES:
            raise IcsError(
                N_("The event %(event)s has a %(property)s that could not be read (%(problem)s)."),
                event=_describe(event),
                property=prop,
                problem=_first_line(message),
            )
    if "DTSTART" not in event:
        raise IcsError(
            N_("The event %(event)s has no start time (DTSTART)."), event=_describe(event)
        )


def _describe(event: Event) -> Phrase:
    """How a message names the event: its title in quotes, else its UID."""
    summary = str(event.get("SUMMARY", "")).strip()
    if summary:
        return Phrase("“%(title)s”", title=summary[:80])
    uid = str(event.get("UID", "")).strip()
    if uid:
        return Phrase(N_("with UID %(uid)s"), uid=uid[:80])
    return Phrase(N_("without a title"))


_UNREADABLE = N_("The calendar file could not be read: %(problem)s")


def _first_line(error: object) -> str | Phrase:
    """The first line of a library's error (in English, as the library wrote it)."""
    text = str(error).strip().splitlines()
    return text[0][:200] if text else Phrase(N_("unknown error"))


def _check_repetition(calendars: list[Calendar], start: datetime, end: datetime) -> None:
    """Refuse rules that would cost too much to expand, before expanding anything.

    Expanding a rule walks it from its DTSTART, so the cost is the number of repetitions from
    DTSTART to the end of the window, whatever the window's start; and each repetition inside
    the window becomes an event, which costs far more. The rules are walked here, lazily and
    with one budget for the whole file, so a hostile rule is refused after MAX_RULE_STEPS
    repetitions, or MAX_OCCURRENCES inside the window, instead of building millions of them.
    """
    # Two days of margin: the walk is in rough wall-clock time, hours off at most.
    first = start.replace(tzinfo=None) - timedelta(days=2)
    limit = end.replace(tzinfo=None) + timedelta(days=2)
    steps = inside = 0
    for calendar in calendars:
        for event in calendar.walk("VEVENT"):
            rules = event.get("RRULE")
            if rules is None:
                continue
            begin = _wall_clock(event.get("DTSTART").dt)
            for recur in rules if isinstance(rules, list) else [rules]:
                for repetition in _dateutil_rule(event, recur, begin):
                    if repetition > limit:
                        break
                    steps += 1
                    inside += repetition >= first
                    if steps > MAX_RULE_STEPS:
                        raise IcsError(
                            N_(
                                "The event %(event)s and the other repeating events repeat too "
                                "often to be read. Please export a calendar with only the "
                                "events that should block time."
                            ),
                            event=_describe(event),
                        )
                    if inside > MAX_OCCURRENCES:
                        raise IcsError(_TOO_MANY, count=MAX_OCCURRENCES)


def _dateutil_rule(event: Event, recur: vRecur, begin: datetime) -> rrule:
    frequency = "".join(str(value) for value in recur.get("FREQ", ())).upper()
    if frequency == "SECONDLY":
        raise IcsError(
            N_(
                "The event %(event)s repeats every second, which a calendar of appointments "
                "never does. Please remove it or export the calendar without it."
            ),
            event=_describe(event),
        )
    if frequency == "MINUTELY":
        raise IcsError(
            N_(
                "The event %(event)s repeats every minute, which a calendar of appointments "
                "never does. Please remove it or export the calendar without it."
            ),
            event=_describe(event),
        )
    if _on_no_real_day(recur):
        raise IcsError(
            N_(
                "The event %(event)s repeats on a day no month has (such as 30 February), so it "
                "never happens. Please remove it or export the calendar without it."
            ),
            event=_describe(event),
        )
    rule_text = recur.copy()
    # UNTIL is applied separately: its zone need not match DTSTART's, which dateutil refuses.
    ends = rule_text.pop("UNTIL", None)
    try:
        rule = rrulestr(rule_text.to_ical().decode(), dtstart=begin, cache=False)
        if ends:
            rule = rule.replace(until=_wall_clock(ends[0]))
    except (ValueError, TypeError, KeyError) as error:
        raise IcsError(
            N_("The event %(event)s repeats by a rule that could not be read (%(problem)s)."),
            event=_describe(event),
            problem=_first_line(error),
        ) from None
    return rule


# The most days each month can have (February: in a leap year).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _on_no_real_day(recur: vRecur) -> bool:
    """True for a rule whose BYMONTHDAY exists in none of its BYMONTH months.

    dateutil looks for such a day until the year 9999 before giving up: seconds of work for
    one event, which a file can repeat many times over. Other rules that never match (rarer,
    and odder) are not caught here.
    """
    try:
        days = [int(day) for day in recur.get("BYMONTHDAY", ())]
        months = [int(month) for month in recur.get("BYMONTH", ())] or list(range(1, 13))
    except (TypeError, ValueError):
        return False  # dateutil refuses it with its own message
    if not days:
        return False
    return not any(
        0 < abs(day) <= _MONTH_DAYS[month - 1]
        for day in days
        for month in months
        if 1 <= month <= 12
    )


def _wall_clock(value: date | datetime) -> datetime:
    """A naive datetime close enough to the value for counting repetitions (hours off at most)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0))
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _occurrences(calendar: Calendar, start: datetime, end: datetime, zone: ZoneInfo) -> list[Event]:
    # A day of margin on both sides: floating and all-day times are local, and the library
    # compares them with the bounds in its own way. The exact filter is done in parse_busy.
    try:
        occurrences = recurring_ical_events.of(calendar).between(
            (start - timedelta(days=1)).astimezone(zone), (end + timedelta(days=1)).astimezone(zone)
        )
    except (recurring_ical_events.InvalidCalendar, BrokenCalendarProperty) as error:
        raise IcsError(
            N_("A repeating event in the calendar could not be read: %(problem)s"),
            problem=_first_line(error),
        ) from None
    except (ValueError, TypeError, OverflowError, AttributeError) as error:
        raise IcsError(_UNREADABLE, problem=_first_line(error)) from None
    return occurrences


def _busy(component: Event, zone: ZoneInfo) -> Busy | None:
    begin = component.get("DTSTART").dt
    all_day = not isinstance(begin, datetime)
    if "DTEND" in component:
        finish = component.get("DTEND").dt
    elif "DURATION" in component:
        finish = begin + component.get("DURATION").dt
    elif all_day:
        finish = begin + timedelta(days=1)
    else:
        finish = begin
    start, end = _instant(begin, zone), _instant(finish, zone)
    if end <= start:
        return None
    return Busy(start=start, end=end, all_day=all_day)


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    """A DATE as the local midnight starting it, a floating time as local, both in UTC."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _is_free(component: Event) -> bool:
    transparency = str(component.get("TRANSP", "OPAQUE")).upper()
    status = str(component.get("STATUS", "")).upper()
    return transparency == "TRANSPARENT" or status == "CANCELLED"
