"""iCalendar building and reading, alone: exported files read back by two independent parsers
(icalendar and vobject) with the right instants around the DST changes, and busy time read from
other programs' files: repeats, exceptions, moved occurrences, all-day and foreign zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.calendars import ics
from clinic.calendars.ics import Busy, EventSpec, IcsError, Person, build_calendar, parse_busy

ZONE = "Europe/Copenhagen"
CPH = ZoneInfo(ZONE)
STAMP = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
YEAR_2027 = {
    "start": datetime(2027, 1, 1, tzinfo=UTC),
    "end": datetime(2028, 1, 1, tzinfo=UTC),
    "timezone": ZONE,
}


def local(day: str, hhmm: str = "09:00", zone: ZoneInfo = CPH) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=zone)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def session(day: str, hhmm: str = "09:00", minutes: int = 60, **fields: object) -> EventSpec:
    start = local(day, hhmm)
    values: dict[str, object] = {
        "uid": f"booking-{day}-{hhmm}@clinic.example",
        "start": start,
        "end": start + timedelta(minutes=minutes),
        "summary": "Sports massage, 60 min (Anna Berg)",
        "stamp": STAMP,
    }
    values.update(fields)
    return EventSpec(**values)  # type: ignore[arg-type]


def vcal(*events: str, extra: str = "") -> str:
    """A calendar as another program would write it, one VEVENT per argument."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Elsewhere//EN"]
    lines += [line for line in extra.strip().splitlines() if line]
    for event in events:
        lines += ["BEGIN:VEVENT", *[line.strip() for line in event.strip().splitlines()]]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def icalendar_events(text: str) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(text).walk("VEVENT"))


def vobject_events(text: str) -> list:
    return list(vobject.readOne(text).vevent_list)


def busy(start: str, end: str, all_day: bool = False) -> Busy:
    return Busy(utc(start), utc(end), all_day)


# --- building -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        ("2027-03-26", "2027-03-26T08:00"),  # the Friday before spring forward: CET, +01:00
        ("2027-03-28", "2027-03-28T07:00"),  # the change day itself, after 02:00: CEST
        ("2027-03-29", "2027-03-29T07:00"),  # the Monday after: CEST, +02:00
        ("2027-10-29", "2027-10-29T07:00"),  # the Friday before fall back: still CEST
        ("2027-10-31", "2027-10-31T08:00"),  # the change day itself, after 03:00: CET
        ("2027-11-01", "2027-11-01T08:00"),  # the Monday after: CET
    ],
)
def test_a_session_at_nine_local_reads_back_at_the_same_instant_in_both_parsers(
    day: str, expected_utc: str
) -> None:
    text = build_calendar([session(day)], timezone=ZONE)

    (event,) = icalendar_events(text)
    assert event.start.astimezone(UTC) == utc(expected_utc)
    assert event.end.astimezone(UTC) == utc(expected_utc) + timedelta(hours=1)
    (other,) = vobject_events(text)
    assert other.dtstart.value.astimezone(UTC) == utc(expected_utc)
    assert other.dtend.value.astimezone(UTC) == utc(expected_utc) + timedelta(hours=1)
    # Both show the clinic's wall clock, not a UTC time.
    assert other.dtstart.value.strftime("%H:%M") == "09:00"
    assert f"DTSTART;TZID={ZONE}:{day.replace('-', '')}T090000" in text


def test_one_vtimezone_for_the_clinic_zone_covers_every_year_of_the_events() -> None:
    events = [session("2027-12-30"), session("2028-07-03"), session("2029-01-08")]

    text = build_calendar(events, timezone=ZONE)

    calendar = icalendar.Calendar.from_ical(text)
    (timezone,) = calendar.walk("VTIMEZONE")
    assert timezone["TZID"] == ZONE
    # Summer 2028 needs the 2028 daylight rule: 09:00 CEST is 07:00Z, in both parsers.
    middle = next(e for e in vobject_events(text) if e.uid.value == events[1].uid)
    assert middle.dtstart.value.astimezone(UTC) == utc("2028-07-03T07:00")
    assert sorted(e.start.astimezone(UTC) for e in calendar.walk("VEVENT")) == [
        utc("2027-12-30T08:00"),
        utc("2028-07-03T07:00"),
        utc("2029-01-08T08:00"),
    ]


def test_the_vtimezone_states_the_yearly_rule_so_later_years_stay_right() -> None:
    text = build_calendar([session("2027-03-29")], timezone=ZONE)

    (timezone,) = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")
    rules = {
        sub.name: (sub["DTSTART"].dt.strftime("%H:%M"), sub["RRULE"].to_ical().decode())
        for sub in timezone.subcomponents
    }
    # The onset is on the clock as it read before the change (RFC 5545 3.6.5).
    assert rules == {
        "DAYLIGHT": ("02:00", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"),
        "STANDARD": ("03:00", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
    }
    # vobject remembers a VTIMEZONE by its TZID, as some calendar programs do: the one from
    # the 2027 file must still be right for a session in 2035.
    later = build_calendar([session("2035-07-02")], timezone=ZONE)
    assert vobject.readOne(later).vevent.dtstart.value.astimezone(UTC) == utc("2035-07-02T07:00")


def test_a_zone_without_a_yearly_rule_lists_its_changes() -> None:
    # Morocco leaves summer time for Ramadan, which moves every year.
    zone = ZoneInfo("Africa/Casablanca")
    start = datetime(2027, 2, 20, 9, 0, tzinfo=zone)
    spec = EventSpec(
        uid="x@y", start=start, end=start + timedelta(hours=1), summary="x", stamp=STAMP
    )

    text = build_calendar([spec], timezone="Africa/Casablanca")

    (timezone,) = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")
    assert all("RRULE" not in sub for sub in timezone.subcomponents)
    assert vobject.readOne(text).vevent.dtstart.value.astimezone(UTC) == utc("2027-02-20T09:00")


@pytest.mark.parametrize(
    ("method", "cancelled", "tentative", "status"),
    [
        ("REQUEST", False, False, "CONFIRMED"),  # a confirmation e-mail
        ("REQUEST", False, True, "TENTATIVE"),  # a pending booking's e-mail
        ("CANCEL", True, False, "CANCELLED"),  # a cancellation e-mail
        (None, True, False, "CANCELLED"),  # a cancelled booking in a feed
        (None, False, False, "CONFIRMED"),  # a download
    ],
)
def test_uid_sequence_status_and_method_survive_both_parsers(
    method: str | None, cancelled: bool, tentative: bool, status: str
) -> None:
    spec = session("2027-03-29", uid="booking-42@clinic.example", sequence=3)
    spec = EventSpec(**{**spec.__dict__, "cancelled": cancelled, "tentative": tentative})

    text = build_calendar([spec], timezone=ZONE, method=method)

    calendar = icalendar.Calendar.from_ical(text)
    assert calendar.get("METHOD") == method
    (event,) = calendar.walk("VEVENT")
    assert (event["UID"], event["SEQUENCE"], event["STATUS"]) == (
        "booking-42@clinic.example",
        3,
        status,
    )
    parsed = vobject.readOne(text)
    assert (parsed.method.value if method else None) == method
    other = parsed.vevent
    assert (other.uid.value, int(other.sequence.value), other.status.value) == (
        "booking-42@clinic.example",
        3,
        status,
    )
    # A cancelled session no longer takes the subscriber's time.
    assert event["TRANSP"] == ("TRANSPARENT" if cancelled else "OPAQUE")


def test_text_with_commas_semicolons_newlines_and_non_ascii_survives_both_parsers() -> None:
    summary = "Sports massage, 60 min (Søren Ærø; senior)"
    location = "Demo clinic, Room 2; Østergade 12, Ærøskøbing"
    description = "Your booking:\nhttps://clinic.example/bookings/42\nSee you, Ærø!"
    organizer = Person("Lindring, Østergade", "booking@clinic.example")
    attendee = Person('Åse "Ås" Ærø', "ase@example.org")
    spec = session(
        "2027-03-29",
        summary=summary,
        location=location,
        description=description,
        url="https://clinic.example/bookings/42",
        organizer=organizer,
        attendees=(attendee,),
    )

    text = build_calendar([spec], timezone=ZONE, method="REQUEST")

    (event,) = icalendar_events(text)
    assert (str(event["SUMMARY"]), str(event["LOCATION"]), str(event["DESCRIPTION"])) == (
        summary,
        location,
        description,
    )
    assert str(event["URL"]) == "https://clinic.example/bookings/42"
    assert str(event["ORGANIZER"]) == "mailto:booking@clinic.example"
    assert event["ORGANIZER"].params["CN"] == "Lindring, Østergade"
    assert str(event["ATTENDEE"]) == "mailto:ase@example.org"
    assert event["ATTENDEE"].params["CN"] == "Åse 'Ås' Ærø"
    other = vobject.readOne(text).vevent
    assert (other.summary.value, other.location.value, other.description.value) == (
        summary,
        location,
        description,
    )
    assert other.organizer.params["CN"] == ["Lindring, Østergade"]
    assert other.attendee.value == "mailto:ase@example.org"


def test_the_file_is_valid_utf8_with_crlf_lines_of_at_most_75_octets() -> None:
    long_summary = "Myofascial release, 90 min (" + "Ærø Østergaard " * 12 + ")"
    text = build_calendar([session("2027-03-29", summary=long_summary)], timezone=ZONE)

    raw = text.encode("utf-8")
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in b"".join(lines)
    (event,) = icalendar_events(text)
    assert str(event["SUMMARY"]) == long_summary


def test_carriage_returns_become_line_breaks_and_other_control_characters_are_dropped() -> None:
    spec = session(
        "2027-03-29",
        summary="Sports\r\nmassage\rtoday\x00\x07\x1b",
        attendees=(Person("Anna\r\nBerg\t", "anna@example.org"),),
    )

    text = build_calendar([spec], timezone=ZONE)

    (event,) = icalendar_events(text)
    assert str(event["SUMMARY"]) == "Sports\nmassage\ntoday"
    assert event["ATTENDEE"].params["CN"] == "Anna Berg"
    assert vobject.readOne(text).vevent.summary.value == "Sports\nmassage\ntoday"


def test_a_named_calendar_is_a_feed_with_a_name_and_a_refresh_interval() -> None:
    text = build_calendar([session("2027-03-29")], timezone=ZONE, name="Lindring: Anna Berg")

    calendar = icalendar.Calendar.from_ical(text)
    assert calendar["X-WR-CALNAME"] == "Lindring: Anna Berg"
    assert calendar["PRODID"] == ics.PRODID
    assert calendar["VERSION"] == "2.0"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text
    assert "METHOD" not in calendar


def test_an_empty_calendar_is_still_a_calendar_both_parsers_read() -> None:
    text = build_calendar([], timezone=ZONE, name="Nothing yet")

    calendar = icalendar.Calendar.from_ical(text)
    assert calendar.walk("VEVENT") == []
    assert calendar.walk("VTIMEZONE") == []
    assert vobject.readOne(text).name == "VCALENDAR"


@pytest.mark.parametrize(
    "change",
    [
        {"start": local("2027-03-29").replace(tzinfo=None)},  # naive: in which zone?
        {"stamp": STAMP.replace(tzinfo=None)},  # a naive stamp
        {"end": local("2027-03-29", "09:00")},  # ends when it starts
    ],
)
def test_an_event_spec_with_naive_times_or_no_length_is_refused(
    change: dict[str, datetime],
) -> None:
    values = {**session("2027-03-29").__dict__, **change}
    with pytest.raises(ValueError):
        EventSpec(**values)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        build_calendar([session("2027-03-29")], timezone="Mars/Olympus_Mons")


def test_an_exported_calendar_reads_back_as_busy_time() -> None:
    events = [session("2027-03-26"), session("2027-03-29", minutes=90)]

    found = parse_busy(build_calendar(events, timezone=ZONE), **YEAR_2027)

    assert found == [
        busy("2027-03-26T08:00", "2027-03-26T09:00"),
        busy("2027-03-29T07:00", "2027-03-29T08:30"),
    ]


# --- reading busy time ----------------------------------------------------------------------


def test_a_single_event_in_utc() -> None:
    text = vcal("UID:1\nDTSTART:20270301T100000Z\nDTEND:20270301T113000Z")

    assert parse_busy(text, **YEAR_2027) == [busy("2027-03-01T10:00", "2027-03-01T11:30")]


def test_a_weekly_rule_keeps_its_local_time_across_the_spring_change() -> None:
    text = vcal(
        """UID:weekly
        DTSTART;TZID=Europe/Copenhagen:20270315T090000
        DTEND;TZID=Europe/Copenhagen:20270315T100000
        RRULE:FREQ=WEEKLY;COUNT=4"""
    )

    found = parse_busy(text, **YEAR_2027)

    assert [b.start for b in found] == [
        utc("2027-03-15T08:00"),
        utc("2027-03-22T08:00"),
        utc("2027-03-29T07:00"),  # 09:00 CEST
        utc("2027-04-05T07:00"),
    ]
    assert all(b.end - b.start == timedelta(hours=1) for b in found)


def test_exdate_removes_occurrences_and_rdate_adds_them() -> None:
    text = vcal(
        """UID:weekly
        DTSTART;TZID=Europe/Copenhagen:20270301T090000
        DTEND;TZID=Europe/Copenhagen:20270301T100000
        RRULE:FREQ=WEEKLY;COUNT=4
        EXDATE;TZID=Europe/Copenhagen:20270308T090000,20270322T090000
        RDATE;TZID=Europe/Copenhagen:20270304T140000"""
    )

    found = parse_busy(text, **YEAR_2027)

    assert [b.start for b in found] == [
        utc("2027-03-01T08:00"),
        utc("2027-03-04T13:00"),  # the extra date, an hour long like the rest
        utc("2027-03-15T08:00"),
    ]
    assert found[1].end == utc("2027-03-04T14:00")


def test_a_moved_occurrence_replaces_the_one_it_overrides() -> None:
    text = vcal(
        """UID:weekly
        DTSTART;TZID=Europe/Copenhagen:20270301T090000
        DTEND;TZID=Europe/Copenhagen:20270301T100000
        RRULE:FREQ=WEEKLY;COUNT=3""",
        """UID:weekly
        RECURRENCE-ID;TZID=Europe/Copenhagen:20270308T090000
        DTSTART;TZID=Europe/Copenhagen:20270309T150000
        DTEND;TZID=Europe/Copenhagen:20270309T163000
        SEQUENCE:1""",
    )

    found = parse_busy(text, **YEAR_2027)

    assert found == [
        busy("2027-03-01T08:00", "2027-03-01T09:00"),
        busy("2027-03-09T14:00", "2027-03-09T15:30"),  # moved, and longer
        busy("2027-03-15T08:00", "2027-03-15T09:00"),
    ]


def test_a_cancelled_occurrence_of_a_series_is_free() -> None:
    text = vcal(
        """UID:weekly
        DTSTART:20270301T080000Z
        DTEND:20270301T090000Z
        RRULE:FREQ=WEEKLY;COUNT=3""",
        """UID:weekly
        RECURRENCE-ID:20270308T080000Z
        DTSTART:20270308T080000Z
        DTEND:20270308T090000Z
        STATUS:CANCELLED
        SEQUENCE:1""",
    )

    found = parse_busy(text, **YEAR_2027)

    assert [b.start for b in found] == [utc("2027-03-01T08:00"), utc("2027-03-15T08:00")]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        # a whole local day: midnight to midnight in Copenhagen
        (
            "DTSTART;VALUE=DATE:20270301\nDTEND;VALUE=DATE:20270302",
            busy("2027-02-28T23:00", "2027-03-01T23:00", all_day=True),
        ),
        # the spring-forward day has 23 hours
        (
            "DTSTART;VALUE=DATE:20270328\nDTEND;VALUE=DATE:20270329",
            busy("2027-03-27T23:00", "2027-03-28T22:00", all_day=True),
        ),
        # the fall-back day has 25 hours
        (
            "DTSTART;VALUE=DATE:20271031\nDTEND;VALUE=DATE:20271101",
            busy("2027-10-30T22:00", "2027-10-31T23:00", all_day=True),
        ),
        # three days of holiday
        (
            "DTSTART;VALUE=DATE:20270701\nDTEND;VALUE=DATE:20270704",
            busy("2027-06-30T22:00", "2027-07-03T22:00", all_day=True),
        ),
        # an all-day event without DTEND lasts one day
        (
            "DTSTART;VALUE=DATE:20270701",
            busy("2027-06-30T22:00", "2027-07-01T22:00", all_day=True),
        ),
        # a floating time is clinic time
        (
            "DTSTART:20270701T090000\nDTEND:20270701T100000",
            busy("2027-07-01T07:00", "2027-07-01T08:00"),
        ),
        # a time in New York, named by TZID only (icalendar knows the zone)
        (
            "DTSTART;TZID=America/New_York:20270701T090000\n"
            "DTEND;TZID=America/New_York:20270701T100000",
            busy("2027-07-01T13:00", "2027-07-01T14:00"),
        ),
        # a start with a DURATION instead of an end
        (
            "DTSTART:20270701T090000Z\nDURATION:PT1H30M",
            busy("2027-07-01T09:00", "2027-07-01T10:30"),
        ),
        # Outlook names zones the Windows way
        (
            "DTSTART;TZID=W. Europe Standard Time:20270701T090000\n"
            "DTEND;TZID=W. Europe Standard Time:20270701T100000",
            busy("2027-07-01T07:00", "2027-07-01T08:00"),
        ),
    ],
)
def test_times_are_read_in_their_own_zone_and_dates_as_whole_local_days(
    event: str, expected: Busy
) -> None:
    assert parse_busy(vcal("UID:x\n" + event), **YEAR_2027) == [expected]


def test_a_time_in_new_york_with_the_files_own_vtimezone() -> None:
    new_york = """BEGIN:VTIMEZONE
        TZID:Eastern Time
        BEGIN:STANDARD
        DTSTART:19701101T020000
        RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
        TZOFFSETFROM:-0400
        TZOFFSETTO:-0500
        END:STANDARD
        BEGIN:DAYLIGHT
        DTSTART:19700308T020000
        RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
        TZOFFSETFROM:-0500
        TZOFFSETTO:-0400
        END:DAYLIGHT
        END:VTIMEZONE"""
    text = vcal(
        # 12 March 2027: New York is already on summer time, Copenhagen not yet.
        "UID:ny\nDTSTART;TZID=Eastern Time:20270315T090000\n"
        "DTEND;TZID=Eastern Time:20270315T100000\nRRULE:FREQ=DAILY;COUNT=2",
        extra="\n".join(line.strip() for line in new_york.splitlines()),
    )

    assert [b.start for b in parse_busy(text, **YEAR_2027)] == [
        utc("2027-03-15T13:00"),
        utc("2027-03-16T13:00"),
    ]


@pytest.mark.parametrize(
    "marker",
    [
        "TRANSP:TRANSPARENT",  # shown as free in the other program
        "STATUS:CANCELLED",  # called off
    ],
)
def test_free_and_cancelled_events_block_nothing(marker: str) -> None:
    text = vcal(
        f"UID:free\nDTSTART:20270301T100000Z\nDTEND:20270301T110000Z\n{marker}",
        "UID:busy\nDTSTART:20270302T100000Z\nDTEND:20270302T110000Z\nTRANSP:OPAQUE",
    )

    assert parse_busy(text, **YEAR_2027) == [busy("2027-03-02T10:00", "2027-03-02T11:00")]


def test_a_timed_event_without_end_or_duration_lasts_no_time_and_blocks_nothing() -> None:
    text = vcal("UID:reminder\nDTSTART:20270301T100000Z")

    assert parse_busy(text, **YEAR_2027) == []


def test_only_events_overlapping_the_window_are_returned_unclipped_and_sorted() -> None:
    text = vcal(
        "UID:late\nDTSTART:20270310T100000Z\nDTEND:20270310T110000Z",
        "UID:edge\nDTSTART:20270228T230000Z\nDTEND:20270301T010000Z",
        "UID:before\nDTSTART:20270227T100000Z\nDTEND:20270228T230000Z",
        "UID:after\nDTSTART:20270401T000000Z\nDTEND:20270401T010000Z",
        "UID:early\nDTSTART:20270305T100000Z\nDTEND:20270305T110000Z",
    )

    found = parse_busy(
        text, start=utc("2027-03-01T00:00"), end=utc("2027-04-01T00:00"), timezone=ZONE
    )

    assert found == [
        busy("2027-02-28T23:00", "2027-03-01T01:00"),
        busy("2027-03-05T10:00", "2027-03-05T11:00"),
        busy("2027-03-10T10:00", "2027-03-10T11:00"),
    ]


def test_an_endless_rule_is_expanded_only_inside_the_window() -> None:
    text = vcal("UID:daily\nDTSTART:20200101T080000Z\nDTEND:20200101T090000Z\nRRULE:FREQ=DAILY")

    found = parse_busy(
        text, start=utc("2027-03-01T00:00"), end=utc("2027-03-08T00:00"), timezone=ZONE
    )

    assert [b.start.date() for b in found] == [date(2027, 3, day) for day in range(1, 8)]


@pytest.mark.parametrize(
    ("rule", "days"),
    [
        # the 31st exists in seven months of the year
        ("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4", ["01-31", "03-31", "05-31", "07-31"]),
        # 29 February exists in leap years only
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=2", ["01-31", "2028-02-29"]),
        # the last day of every month
        ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4", ["01-31", "02-28", "03-31", "04-30"]),
    ],
)
def test_rules_on_days_some_months_lack_are_kept(rule: str, days: list[str]) -> None:
    text = vcal(f"UID:x\nDTSTART:20270131T100000Z\nDURATION:PT1H\nRRULE:{rule}")

    found = parse_busy(
        text, start=utc("2027-01-01T00:00"), end=utc("2028-08-01T00:00"), timezone=ZONE
    )

    # DTSTART is always the first occurrence, even when the rule would not pick it.
    assert [b.start.date().isoformat() for b in found] == [
        day if len(day) > 5 else f"2027-{day}" for day in days
    ]


def test_several_calendars_in_one_file_are_all_read() -> None:
    text = vcal("UID:a\nDTSTART:20270301T100000Z\nDTEND:20270301T110000Z") + vcal(
        "UID:b\nDTSTART:20270302T100000Z\nDTEND:20270302T110000Z"
    )

    assert len(parse_busy(text, **YEAR_2027)) == 2


@pytest.mark.parametrize(
    "data",
    [
        vcal("UID:a\nSUMMARY:Tandlæge\nDTSTART:20270301T100000Z\nDTEND:20270301T110000Z").encode(
            "utf-8-sig"
        ),  # UTF-8 with a byte-order mark
        vcal("UID:a\nSUMMARY:Tandlæge\nDTSTART:20270301T100000Z\nDTEND:20270301T110000Z").encode(
            "latin-1"
        ),  # an old program's Latin-1
    ],
)
def test_bytes_are_read_whatever_the_encoding(data: bytes) -> None:
    assert parse_busy(data, **YEAR_2027) == [busy("2027-03-01T10:00", "2027-03-01T11:00")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "empty"),
        ("   \r\n", "empty"),
        ("<!doctype html><html><body>Sign in</body></html>", "not an iCalendar file"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\n", "incomplete"),
        ("BEGIN:VCALENDAR\r\nthis is not a content line\r\nEND:VCALENDAR\r\n", "could not be read"),
        (vcal("UID:a\nSUMMARY:Lunch\nDTSTART:tomorrow\nDTEND:20270301T110000Z"), "“Lunch”"),
        (vcal("UID:a\nSUMMARY:Lunch\nDTSTART:20270301T100000Z\nRRULE:FREQ=SOMETIMES"), "RRULE"),
        (vcal("UID:a\nSUMMARY:Lunch\nDTEND:20270301T110000Z"), "no start time"),
        (vcal("UID:tick\nDTSTART:20270301T100000Z\nRRULE:FREQ=SECONDLY"), "every second"),
        (vcal("UID:tick\nDTSTART:20270301T100000Z\nRRULE:FREQ=MINUTELY"), "every minute"),
        (
            vcal("UID:x\nDTSTART:20270301T100000Z\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"),
            "never happens",
        ),
        (
            vcal("UID:x\nDTSTART:20270301T100000Z\nRRULE:FREQ=DAILY;BYMONTH=4,6;BYMONTHDAY=-31"),
            "never happens",
        ),
    ],
)
def test_a_malformed_file_raises_an_error_a_person_can_read(data: str, message: str) -> None:
    with pytest.raises(IcsError, match=message) as raised:
        parse_busy(data, **YEAR_2027)
    # One sentence or two, not a traceback.
    assert "Traceback" not in str(raised.value)
    assert len(str(raised.value)) < 400


def test_more_occurrences_in_the_window_than_the_cap_refuses_the_file() -> None:
    # Every 10 minutes of every hour: 144 a day, over 10,000 in ten weeks.
    rule = "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=0,10,20,30,40,50"
    text = vcal(f"UID:x\nDTSTART:20270101T000000Z\nDURATION:PT5M\nRRULE:{rule}")

    with pytest.raises(IcsError, match="more than 10,000 events"):
        parse_busy(text, **YEAR_2027)


def test_rules_repeating_too_often_since_long_ago_are_refused_before_expanding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A smaller budget keeps the test fast; the walk is the same.
    monkeypatch.setattr(ics, "MAX_RULE_STEPS", 5_000)
    text = vcal(
        *[f"UID:{n}\nDTSTART:20100101T0{n}0000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY" for n in range(3)]
    )

    with pytest.raises(IcsError, match="repeat too often"):
        parse_busy(text, **YEAR_2027)
    monkeypatch.setattr(ics, "MAX_RULE_STEPS", 50_000)
    assert len(parse_busy(text, **YEAR_2027)) == 3 * 365


def test_a_naive_window_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_busy(
            vcal(),
            start=YEAR_2027["start"].replace(tzinfo=None),
            end=YEAR_2027["end"].replace(tzinfo=None),
            timezone=ZONE,
        )


# --- properties -----------------------------------------------------------------------------

minutes_2027 = st.integers(min_value=0, max_value=365 * 24 * 60 - 24 * 60)
# Any text a person types: letters of every script, punctuation, line breaks (no other control
# characters, which iCalendar cannot carry; see the test of those above).
typed = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), include_characters="\n"), max_size=40
)


@st.composite
def event_specs(draw: st.DrawFn) -> list[EventSpec]:
    count = draw(st.integers(min_value=0, max_value=8))
    specs = []
    for number in range(count):
        start = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(minutes_2027))
        length = timedelta(minutes=draw(st.integers(min_value=5, max_value=600)))
        specs.append(
            EventSpec(
                uid=f"booking-{number}@clinic.example",
                start=start,
                end=start + length,
                summary=draw(typed),
                stamp=STAMP,
                sequence=draw(st.integers(min_value=0, max_value=5)),
                cancelled=draw(st.booleans()),
                tentative=draw(st.booleans()),
                location=draw(typed),
            )
        )
    return specs


@settings(max_examples=60, deadline=None)
@given(event_specs())
def test_any_built_calendar_reads_back_as_exactly_its_busy_events(specs: list[EventSpec]) -> None:
    text = build_calendar(specs, timezone=ZONE)

    found = parse_busy(text, **YEAR_2027)

    expected = sorted(
        (
            Busy(s.start.astimezone(UTC), s.end.astimezone(UTC), False)
            for s in specs
            if not s.cancelled
        ),
        key=lambda b: (b.start, b.end),
    )
    assert found == expected
    by_uid = {str(e["UID"]): e for e in icalendar_events(text)}
    for spec in specs:
        assert str(by_uid[spec.uid]["SUMMARY"]) == spec.summary
        assert str(by_uid[spec.uid].get("LOCATION", "")) == spec.location


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=40),
    data=st.data(),
)
def test_a_weekly_rule_minus_a_random_set_of_exdates(count: int, data: st.DataObject) -> None:
    first = date(2027, 1, 4)
    weeks = [first + timedelta(weeks=n) for n in range(count)]
    excluded = data.draw(st.sets(st.sampled_from(weeks), max_size=count))
    exdates = ",".join(f"{day:%Y%m%d}T091500" for day in sorted(excluded))
    text = vcal(
        "UID:weekly\nDTSTART;TZID=Europe/Copenhagen:20270104T091500\n"
        "DTEND;TZID=Europe/Copenhagen:20270104T101500\n"
        f"RRULE:FREQ=WEEKLY;COUNT={count}"
        + (f"\nEXDATE;TZID=Europe/Copenhagen:{exdates}" if excluded else "")
    )

    found = parse_busy(
        text, start=utc("2027-01-01T00:00"), end=utc("2028-01-01T00:00"), timezone=ZONE
    )

    assert len(found) == count - len(excluded)
    assert {b.start.astimezone(CPH).date() for b in found} == set(weeks) - excluded
    # Always 09:15 on the clinic's clock, summer or winter.
    assert {b.start.astimezone(CPH).strftime("%H:%M") for b in found} <= {"09:15"}
