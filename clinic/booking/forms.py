"""Booking forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import Optional


class SlotSearchForm(FlaskForm):
    """The GET form of /book: what, how long, with whom, from when. Reading needs no CSRF."""

    class Meta:
        csrf = False

    technique = SelectField("Technique")
    duration = SelectField("Length", coerce=int, validate_choice=False)
    therapist = SelectField("Therapist", coerce=int, validate_choice=False)
    start = DateField("From", validators=[Optional()])
    submit = SubmitField("Show free times")
