"""Forms for working hours, time off, clinic policies and rooms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)

from clinic.i18n import current_locale
from clinic.numbers import DAY_RANGE_MESSAGE, usable_day
from clinic.scheduling.operations import DASH, exists, whole_days
from clinic.scheduling.slots import Interval, local_window

WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
INTERVALS_PER_DAY = 3
# Far enough for any holiday plan; it also keeps date arithmetic away from date.max.
MAX_DAYS_AHEAD = 5 * 366

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]  # browsers send seconds when a step below a minute is set
BAD_TIME = _l("Enter a time as HH:MM, for example 09:00.")
BAD_DATE = _l("Enter a date as YYYY-MM-DD.")


def _time_field(label: str) -> TimeField:
    return TimeField(
        label, validators=[Optional()], format=TIME_FORMATS, invalid_value_message=BAD_TIME
    )


def _usable_day(form: Any, field: DateField) -> None:
    if field.data and not usable_day(field.data):
        raise ValidationError(_(DAY_RANGE_MESSAGE))


def _date_field(label: str, **kwargs: Any) -> DateField:
    validators = [Optional(), _usable_day]
    return DateField(label, validators=validators, invalid_value_message=BAD_DATE, **kwargs)


def _hhmm(value: time) -> str:
    return f"{value:%H:%M}"


class WeeklyHoursForm(FlaskForm):
    """A therapist's usual week: up to three intervals a day; the gaps are breaks.

    Field names are `d{weekday}_{n}_start` and `..._end` (weekday 0 is Monday, n from 1).
    """

    submit = SubmitField(_l("Save working hours"))

    @staticmethod
    def names(weekday: int, n: int) -> tuple[str, str]:
        return f"d{weekday}_{n}_start", f"d{weekday}_{n}_end"

    def pairs(self, weekday: int) -> list[tuple[Field, Field]]:
        return [
            (self[start], self[end])
            for start, end in (self.names(weekday, n) for n in range(1, INTERVALS_PER_DAY + 1))
        ]

    def fill(self, hours: Iterable[tuple[int, time, time]]) -> list[str]:
        """Put stored (weekday, start, end) rows into the fields; returns the days that had more
        intervals than the form holds (those extra intervals are not shown)."""
        by_day: dict[int, list[tuple[time, time]]] = {}
        for weekday, start, end in sorted(hours):
            by_day.setdefault(weekday, []).append((start, end))
        crowded = []
        for weekday, spans in by_day.items():
            if len(spans) > INTERVALS_PER_DAY:
                crowded.append(WEEKDAYS[weekday])
            for (start_field, end_field), (start, end) in zip(
                self.pairs(weekday), spans, strict=False
            ):
                start_field.data, end_field.data = start, end
        return crowded

    def intervals(self) -> list[tuple[int, time, time]]:
        """The filled-in intervals as (weekday, start, end), after validation."""
        return sorted(
            (weekday, start.data, end.data)
            for weekday in range(7)
            for start, end in self.pairs(weekday)
            if start.data is not None and end.data is not None
        )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for weekday in range(7):
            valid = _check_day(self.pairs(weekday)) and valid
        return valid


def _check_day(pairs: list[tuple[Field, Field]]) -> bool:
    """Both times or neither, start before end, no overlap within the day; each error goes
    beside the field at fault."""
    valid = True
    seen: list[tuple[int, time, time]] = []
    for n, (start, end) in enumerate(pairs, start=1):
        if start.errors or end.errors or (start.data is None and end.data is None):
            continue
        problem = _interval_problem(start, end, seen)
        if problem is None:
            seen.append((n, start.data, end.data))
        else:
            at_fault, message = problem
            at_fault.errors.append(message)
            valid = False
    return valid


def _interval_problem(
    start: Field, end: Field, seen: list[tuple[int, time, time]]
) -> tuple[Field, str] | None:
    if start.data is None:
        return start, _("Give a start time too, or clear the end time.")
    if end.data is None:
        return end, _("Give an end time too, or clear the start time.")
    if start.data >= end.data:
        return end, _("The end must be after the start (%(time)s).", time=_hhmm(start.data))
    for other, other_start, other_end in seen:
        if start.data < other_end and other_start < end.data:
            span = f"{_hhmm(other_start)}{DASH}{_hhmm(other_end)}"
            return start, _(
                "Overlaps interval %(number)d (%(span)s) of the same day.", number=other, span=span
            )
    return None


for _weekday, _day in enumerate(WEEKDAYS):
    for _n in range(1, INTERVALS_PER_DAY + 1):
        _start, _end = WeeklyHoursForm.names(_weekday, _n)
        _labels = {"day": _day, "number": _n}
        setattr(
            WeeklyHoursForm,
            _start,
            _time_field(_l("%(day)s, interval %(number)d: start", **_labels)),
        )
        setattr(
            WeeklyHoursForm, _end, _time_field(_l("%(day)s, interval %(number)d: end", **_labels))
        )


class TimeOffForm(FlaskForm):
    """Time off as local wall-clock input: whole days, or some hours of one day.

    Only the fields of the chosen kind count. After validation `span` holds the UTC instants,
    computed in the clinic's zone: a whole day runs from local midnight to the next local
    midnight, so it lasts 23 or 25 hours on the days the clocks change.
    """

    kind = RadioField(
        _l("Time off for"),
        choices=[
            SelectChoice("days", _l("Whole days")),
            SelectChoice("hours", _l("Some hours of one day")),
        ],
        default="days",
        validators=[InputRequired(_l("Choose whole days or some hours."))],
    )
    first_day = _date_field(_l("First day"))
    last_day = _date_field(_l("Last day"), description=_l("Leave it blank for a single day."))
    day = _date_field(_l("Day"))
    start = _time_field(_l("From"))
    end = _time_field(_l("Until"))
    reason = StringField(
        _l("Reason (optional)"),
        validators=[Length(max=200, message=_l("At most 200 characters."))],
        description=_l("Only staff see it, e.g. 'holiday' or 'course'."),
    )
    submit = SubmitField(_l("Add time off"))

    DAYS_FIELDS = ("first_day", "last_day")
    HOURS_FIELDS = ("day", "start", "end")

    def __init__(self, *args: Any, zone: ZoneInfo, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.today = today
        self.span: Interval | None = None

    @property
    def closing_field(self) -> Field:
        """The field that says when the time off ends: where a message about the range goes."""
        if self.kind.data == "hours":
            return self.end
        return self.last_day if self.last_day.data else self.first_day

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        ignored = self.HOURS_FIELDS if self.kind.data == "days" else self.DAYS_FIELDS
        for name in ignored:
            self[name].errors = []
        if any(f.errors for f in self):
            return False
        if self.kind.data == "days":
            self.span = self._days()
        else:
            self.span = self._hours()
        return self.span is not None

    def _missing(self, *pairs: tuple[Field, str]) -> bool:
        for f, message in pairs:
            if f.data is None:
                f.errors.append(message)
        return any(f.errors for f, _ in pairs)

    def _too_far(self, f: Field) -> bool:
        if f.data > self.today + timedelta(days=MAX_DAYS_AHEAD):
            f.errors.append(_("Pick a day within the next five years."))
            return True
        return False

    def _days(self) -> Interval | None:
        if self._missing((self.first_day, _("Give the first day."))):
            return None
        first = self.first_day.data
        last = self.last_day.data or first
        if last < first:
            self.last_day.errors.append(_("The last day cannot be before the first day."))
            return None
        if self._too_far(self.closing_field):
            return None
        return whole_days(first, last, self.zone)

    def _hours(self) -> Interval | None:
        if self._missing(
            (self.day, _("Give the day.")),
            (self.start, _("Give the start time.")),
            (self.end, _("Give the end time.")),
        ) or self._too_far(self.day):
            return None
        if self.end.data <= self.start.data:
            self.end.errors.append(
                _("The end must be after the start (%(time)s).", time=_hhmm(self.start.data))
            )
            return None
        for f in (self.start, self.end):
            if not exists(self.day.data, f.data, self.zone):
                f.errors.append(_skipped_time(f.data, self.day.data))
                return None
        return local_window(self.day.data, self.start.data, self.end.data, self.zone)


def _skipped_time(value: time, day: date) -> str:
    """The message for a wall-clock time the clocks skip: "02:30 does not exist on 28 March
    2027: ...", with the month in the request's language."""
    return _(
        "%(time)s does not exist on %(day)d %(month)s: the clocks go forward that night.",
        time=_hhmm(value),
        day=day.day,
        month=format_date(day, "MMMM y", locale=current_locale()),
    )


class ButtonForm(FlaskForm):
    """No fields: a POST-only button (delete, deactivate) that still carries the CSRF token."""


GRANULARITIES = (5, 10, 15, 20, 30, 60)


class WholeNumber:
    """A whole number from `low` to `high`, with one message whatever is wrong: nothing typed,
    "2.5", "two" or a number out of range (WTForms would add "Not a valid integer value.").

    A field left out of the POST altogether keeps the value the form was built with (the
    stored policy), so a form posted by an older page does not reset newer settings.
    """

    field_flags = {"required": True}

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.process_errors or field.data is None or not self.low <= field.data <= self.high:
            field.errors.clear()
            raise StopValidation(
                _("Give a whole number from %(low)d to %(high)d.", low=self.low, high=self.high)
            )


def _minutes(label: str, low: int, high: int, description: str) -> IntegerField:
    return IntegerField(label, validators=[WholeNumber(low, high)], description=description)


class PolicyForm(FlaskForm):
    granularity_minutes = SelectField(
        _l("Start times every (minutes)"),
        choices=[
            # Every granularity is more than one minute, so the plural is always right.
            SelectChoice(m, _l("%(num)d minutes", num=m))
            for m in GRANULARITIES
        ],
        coerce=int,
        validators=[InputRequired(_l("Choose how often a session may start."))],
        description=_l("Sessions start on this grid of the clinic's clock: 09:00, 09:15, ..."),
    )
    buffer_minutes = _minutes(
        _l("Buffer after a session (minutes)"), 0, 120, _l("Free time kept between two sessions.")
    )
    min_notice_minutes = _minutes(
        _l("Minimum notice (minutes)"),
        0,
        10080,
        _l("How long before its start a session can be booked."),
    )
    horizon_days = _minutes(
        _l("Booking horizon (days)"), 1, 365, _l("How far ahead clients can book.")
    )
    cancellation_cutoff_hours = _minutes(
        _l("Cancellation cut-off (hours)"),
        0,
        168,
        _l(
            "Clients can cancel or reschedule until this long before the start. Each booking "
            "keeps the cut-off in force when it was made."
        ),
    )
    waitlist_claim_minutes = _minutes(
        _l("Waitlist claim time (minutes)"),
        15,
        1440,
        _l(
            "How long the link in a waitlist e-mail lets a client claim a freed time, from 15 "
            "minutes to 24 hours (1440)."
        ),
    )
    no_show_review_threshold = _minutes(
        _l("No-shows before the clinic confirms a client's bookings"),
        0,
        20,
        _l(
            "A client with this many no-shows can still book, but each new booking is held "
            "until an admin confirms it. 0 turns this off."
        ),
    )
    screening_retention_years = _minutes(
        _l("Keep screenings for N years after the last visit"),
        1,
        30,
        _l(
            "Health screenings, pre-visit check answers and treatment note texts are erased "
            "this many years after the client's last visit (or after the screening, for a "
            "client who never came) by the purge-expired job."
        ),
    )
    submit = SubmitField(_l("Save policies"))

    # The page shows the fields in these groups, in this order.
    GROUPS = (
        (
            _l("Free times"),
            ("granularity_minutes", "buffer_minutes", "min_notice_minutes", "horizon_days"),
        ),
        (_l("Cancelling and moving"), ("cancellation_cutoff_hours",)),
        (_l("Waitlist"), ("waitlist_claim_minutes",)),
        (_l("Missed sessions"), ("no_show_review_threshold",)),
        (_l("Health data"), ("screening_retention_years",)),
    )
    FIELDS = tuple(name for _, names in GROUPS for name in names)

    def values(self) -> dict[str, int]:
        return {name: self[name].data for name in self.FIELDS}


def _squeeze_spaces(value: str | None) -> str | None:
    return " ".join(value.split()) if value else value


class RoomForm(FlaskForm):
    """A room's name. Names are unique regardless of case ("Room 1" and "room 1" clash)."""

    name = StringField(
        _l("Room name"),
        validators=[
            DataRequired(_l("Give the room a name.")),
            Length(max=80, message=_l("At most 80 characters.")),
        ],
        filters=[_squeeze_spaces],
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, taken: dict[str, int], room_id: int | None = None, **kwargs):
        """`taken` maps each existing room's case-folded name to its id."""
        super().__init__(*args, **kwargs)
        self.taken = taken
        self.room_id = room_id

    def validate_name(self, field: Field) -> None:
        owner = self.taken.get(field.data.casefold())
        if owner is not None and owner != self.room_id:
            raise ValidationError(_("There is already a room called “%(name)s”.", name=field.data))
