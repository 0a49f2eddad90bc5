"""Booking forms."""

from __future__ import annotations

from datetime import datetime

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

    technique = SelectField("Technique")
    duration = SelectField("Length", coerce=int, validate_choice=False)
    therapist = SelectField("Therapist", coerce=int, validate_choice=False)
    start = DateField("From", validators=[Optional()])
    submit = SubmitField("Show free times")


class BookForm(FlaskForm):
    """Confirming a booking. The one-time token makes a resent form land on the same booking."""

    request_token = HiddenField(validators=[DataRequired(), Length(min=16, max=100)])
    submit = SubmitField("Confirm booking")


class CancelForm(FlaskForm):
    """Cancelling a booking. `late` is offered to staff only, after the client's cut-off; the
    operation refuses it from anyone else (changes.cancel)."""

    reason = TextAreaField(
        "Reason",
        validators=[Length(max=2000)],
        render_kw={"rows": 2},
    )
    late = BooleanField(
        "The client cancelled late (counts against them)",
        description="Tick it when the client called off after their cut-off. Admins see late "
        "cancellations on the clients page.",
    )
    submit = SubmitField("Cancel booking")


class MarkForm(FlaskForm):
    outcome = SelectField("Outcome", choices={"completed": "Completed", "no_show": "No-show"})
    submit = SubmitField("Save")


class RescheduleForm(FlaskForm):
    """The chosen new time."""

    start = HiddenField(validators=[DataRequired()])
    therapist = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Move the booking here")

    def new_start(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.start.data or "")
        except ValueError:
            return None

    def new_therapist(self) -> int | None:
        return whole_number(self.therapist.data)
