"""Booking forms."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from clinic.numbers import whole_number


class SlotSearchForm(FlaskForm):
    """The GET form of /book: what, how long, with whom, from when. Reading needs no CSRF."""

    class Meta:
        csrf = False

    technique = SelectField(_l("Technique"))
    duration = SelectField(_l("Length"), coerce=int, validate_choice=False)
    therapist = SelectField(_l("Therapist"), coerce=int, validate_choice=False)
    start = DateField(_l("From"), validators=[Optional()])
    submit = SubmitField(_l("Show free times"))


class BookForm(FlaskForm):
    """Confirming a booking. The one-time token makes a resent form land on the same booking."""

    request_token = HiddenField(validators=[DataRequired(), Length(min=16, max=100)])
    submit = SubmitField(_l("Confirm booking"))


class CancelForm(FlaskForm):
    """Cancelling a booking. `late` is offered to staff only, after the client's cut-off; the
    operation refuses it from anyone else (changes.cancel)."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[Length(max=2000)],
        render_kw={"rows": 2},
    )
    late = BooleanField(
        _l("The client cancelled late (counts against them)"),
        description=_l(
            "Tick it when the client called off after their cut-off. Admins see late "
            "cancellations on the clients page."
        ),
    )
    submit = SubmitField(_l("Cancel booking"))


class MarkForm(FlaskForm):
    outcome = SelectField(
        _l("Outcome"), choices=lambda: {"completed": _("Completed"), "no_show": _("No-show")}
    )
    submit = SubmitField(_l("Save"))


class RescheduleForm(FlaskForm):
    """The chosen new time."""

    start = HiddenField(validators=[DataRequired()])
    therapist = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Move the booking here"))

    def new_start(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.start.data or "")
        except ValueError:
            return None

    def new_therapist(self) -> int | None:
        return whole_number(self.therapist.data)
