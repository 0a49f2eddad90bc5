"""The reports' arithmetic: periods, ISO weeks, working minutes across DST, new and returning
clients, rates, and the CSV's guard against formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.admin.periods import (
    MAX_DAYS,
    Period,
    default_period,
    new_and_returning,
    period_error,
    rate,
    week_label,
    week_of,
    working_minutes,
)
from clinic.admin.report_tables import Column, Report, Table, shown, to_csv
from clinic.scheduling.slots import Interval

CPH = ZoneInfo("Europe/Copenhagen")


def at(day: str, hhmm: str) -> datetime:
    """Copenhagen wall-clock time as a UTC instant."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), CPH).astimezone(UTC)


def test_period_bounds_are_local_midnights_and_one_hour_shorter_over_spring_forward():
    start, end = Period(date(2027, 3, 22), date(2027, 3, 28)).bounds(CPH)
    assert start == datetime(2027, 3, 21, 23, 0, tzinfo=UTC)  # CET, UTC+1
    assert end == datetime(2027, 3, 28, 22, 0, tzinfo=UTC)  # CEST, UTC+2
    assert end - start == timedelta(days=7, hours=-1)


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (date(2027, 3, 22), date(2027, 1, 25), date(2027, 3, 21)),  # a Monday: 8 weeks before
        (date(2027, 3, 28), date(2027, 1, 25), date(2027, 3, 21)),  # its Sunday: the same
        (date(2027, 1, 6), date(2026, 11, 9), date(2027, 1, 3)),  # across the new year
    ],
)
def test_default_period_is_the_last_eight_full_weeks(today, first, last):
    period = default_period(today)
    assert (period.first, period.last) == (first, last)
    assert period.first.weekday() == 0 and period.last.weekday() == 6
    assert len(period.weeks()) == 8


@pytest.mark.parametrize(
    ("first", "last", "error"),
    [
        (date(2027, 3, 22), date(2027, 3, 22), None),  # one day
        (date(2027, 1, 1), date(2027, 12, 31), None),  # 365 days
        (date(2028, 1, 1), date(2028, 12, 31), None),  # a leap year: 366
        (date(2027, 1, 1), date(2028, 1, 2), f"Choose a period of at most {MAX_DAYS} days."),
        (date(2027, 3, 23), date(2027, 3, 22), "The end date is before the start date."),
    ],
)
def test_period_error(first, last, error):
    assert period_error(first, last) == error


def test_weeks_are_iso_weeks_cut_by_the_period():
    period = Period(date(2027, 3, 24), date(2027, 4, 6))  # Wednesday to Tuesday
    assert period.weeks() == [date(2027, 3, 22), date(2027, 3, 29), date(2027, 4, 5)]
    assert [week_label(w) for w in period.weeks()] == ["2027-W12", "2027-W13", "2027-W14"]
    # ISO years: 1 January 2027 (a Friday) belongs to the last week of 2026.
    assert week_label(week_of(date(2027, 1, 1))) == "2026-W53"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_every_day_falls_in_the_week_of_its_monday(day):
    monday = week_of(day)
    assert monday.weekday() == 0 and 0 <= (day - monday).days < 7
    assert monday.isocalendar()[:2] == day.isocalendar()[:2]


ANNA = {d: [(time(9), time(12)), (time(12, 30), time(17))] for d in range(5)}


@pytest.mark.parametrize(
    ("first", "last", "hours", "off", "minutes"),
    [
        # two weeks of Anna's 7.5-hour days
        ("2027-03-22", "2027-04-04", ANNA, [], 10 * 450),
        # time off over her lunch break takes only the working part: 11-12 and 12:30-13
        ("2027-03-22", "2027-03-22", ANNA, [("2027-03-22", "11:00", "2027-03-22", "13:00")], 360),
        # time off reaching from before the period counts only inside it
        ("2027-03-22", "2027-03-23", ANNA, [("2027-03-20", "00:00", "2027-03-22", "10:00")], 840),
        # spring forward: 01:00-05:00 on 28 March 2027 lasts three hours
        ("2027-03-28", "2027-03-28", {6: [(time(1), time(5))]}, [], 180),
        # fall back: 01:00-05:00 on 31 October 2027 lasts five hours
        ("2027-10-31", "2027-10-31", {6: [(time(1), time(5))]}, [], 300),
        # an ordinary Sunday: four
        ("2027-03-21", "2027-03-21", {6: [(time(1), time(5))]}, [], 240),
        # nobody works weekends by these hours
        ("2027-03-27", "2027-03-28", ANNA, [], 0),
    ],
)
def test_working_minutes(first, last, hours, off, minutes):
    time_off = [Interval(at(d1, t1), at(d2, t2)) for d1, t1, d2, t2 in off]
    period = Period(date.fromisoformat(first), date.fromisoformat(last))
    assert working_minutes(period, hours, time_off, CPH) == minutes


def test_new_and_returning_by_local_week_once_per_client():
    period = Period(date(2027, 3, 22), date(2027, 4, 4))
    sessions = [
        (1, at("2027-03-22", "10:00")),  # client 1 came before: returning
        (1, at("2027-03-24", "10:00")),  # ... and once more the same week: still one
        (2, at("2027-03-23", "09:00")),  # client 2's first: new in week 12
        (2, at("2027-03-30", "09:00")),  # ... and back in week 13: returning
        (3, at("2027-03-29", "00:30")),  # Sunday 22:30 in UTC, Monday in Copenhagen: week 13
    ]
    first = {1: at("2027-03-01", "10:00"), 2: at("2027-03-23", "09:00"), 3: sessions[-1][1]}
    weeks = new_and_returning(period, sessions, first, CPH)
    assert [(w.week, w.new, w.returning) for w in weeks] == [
        (date(2027, 3, 22), 1, 1),
        (date(2027, 3, 29), 1, 1),
    ]


def test_a_first_visit_before_a_period_cut_mid_week_makes_a_returning_client():
    period = Period(date(2027, 3, 24), date(2027, 3, 28))  # from a Wednesday
    first = {1: at("2027-03-22", "10:00")}  # Monday of the same week, outside the period
    [week] = new_and_returning(period, [(1, at("2027-03-25", "10:00"))], first, CPH)
    assert (week.new, week.returning) == (0, 1)


@pytest.mark.parametrize(
    ("part", "whole", "result"),
    [(1, 3, 33.3), (2, 3, 66.7), (0, 5, 0.0), (3, 3, 100.0), (0, 0, None), (240, 4410, 5.4)],
)
def test_rate(part, whole, result):
    assert rate(part, whole) == result


def test_shown_cells():
    assert shown(None, Column("x")) == "—"
    assert shown(4410, Column("x", True)) == "4,410"
    assert shown(33.3, Column("x", True, "%")) == "33.3%"
    assert shown("Anna", Column("x")) == "Anna"


def test_csv_defuses_formulas_in_text_but_not_numbers():
    report = Report(
        [
            Table(
                "t",
                [Column("Name"), Column("Rate", True, "%")],
                [["=SUM(A1)", 5.0], ["+1", None], ["-x", 0], ["@me", 1], ["Anna", -1]],
            )
        ]
    )
    assert list(csv.reader(io.StringIO(to_csv(report)))) == [
        ["Name", "Rate"],
        ["'=SUM(A1)", "5.0"],
        ["'+1", ""],
        ["'-x", "0"],
        ["'@me", "1"],
        ["Anna", "-1"],
    ]
