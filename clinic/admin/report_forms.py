"""The period form of the reports: two local dates read from the query string."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SubmitField
from wtforms.validators import InputRequired, ValidationError

from clinic.admin.forms import AdminForm
from clinic.admin.periods import MAX_DAYS, Period, default_period, period_problem


class _LocalDateField(DateField):
    """A date typed as YYYY-MM-DD, with a message that says so when it cannot be read."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_("Enter a date as YYYY-MM-DD, e.g. 2027-03-22.")) from exc


class PeriodForm(AdminForm):
    """From and to (both included), at most MAX_DAYS days apart. Reading needs no CSRF."""

    class Meta:
        csrf = False

    first = _LocalDateField(
        _l("From"),
        name="from",
        validators=[InputRequired(_l("Give the first date of the period."))],
    )
    last = _LocalDateField(
        _l("To"),
        name="to",
        validators=[InputRequired(_l("Give the last date of the period."))],
        description=_l("Both dates included; at most %(days)s days.", days=MAX_DAYS),
    )
    submit = SubmitField(_l("Show"))

    def validate_last(self, field: DateField) -> None:
        if self.first.data is not None and field.data is not None:
            problem = period_problem(self.first.data, field.data)
            if problem:
                message, values = problem
                raise ValidationError(_(message, **values))

    def period(self, today: date) -> tuple[Period | None, bool]:
        """The asked period, or the default when nothing was asked; None if the input is bad.

        The second value says whether the default is shown. The default fills the fields only
        when nothing was typed, so it never stands in for a period that was asked wrongly.
        """
        typed = any(f.raw_data and f.raw_data[0].strip() for f in (self.first, self.last))
        if not typed:
            chosen = default_period(today)
            self.first.data, self.last.data = chosen.first, chosen.last
            self.first.raw_data = self.last.raw_data = None
            return chosen, True
        if not self.validate():
            return None, False
        return Period(self.first.data, self.last.data), False
