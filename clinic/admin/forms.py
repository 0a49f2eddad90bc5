"""Forms of the admin area's own pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import IPAddress, Length, NumberRange, Optional, ValidationError

from clinic.numbers import DAY_RANGE_MESSAGE, usable_day


class AuditFilterForm(FlaskForm):
    """The audit log's filters, read from the query string (reading needs no CSRF)."""

    class Meta:
        csrf = False

    actor = StringField(
        "Who",
        validators=[Optional(), Length(max=100)],
        description='Part of a name or e-mail; "system" for the cron commands.',
    )
    action = SelectField("Action", choices={"": "Any action"}, validate_choice=False)
    subject_type = SelectField("Concerning", choices={"": "Anything"}, validate_choice=False)
    subject_id = IntegerField(
        "Number",
        validators=[Optional(), NumberRange(min=1, max=2_147_483_647, message="A number above 0.")],
        description="The booking's, screening's or user's number.",
    )
    ip = StringField(
        "From address",
        validators=[Optional(), IPAddress(ipv4=True, ipv6=True, message="An IP address.")],
    )
    day_from = DateField("From", validators=[Optional()])
    day_to = DateField("To", validators=[Optional()])
    submit = SubmitField("Filter")

    def set_choices(self, actions: list[str], prefixes: list[str], kinds: list[str]) -> None:
        self.action.choices = {
            "": "Any action",
            **{p: f"{p}* (all)" for p in prefixes},
            **{a: a for a in actions},
        }
        self.subject_type.choices = {"": "Anything", **{k: k for k in kinds}}

    def validate_action(self, field: SelectField) -> None:
        if field.data and field.data not in field.choices:
            raise ValidationError("Choose an action from the list.")

    def validate_subject_type(self, field: SelectField) -> None:
        if field.data and field.data not in field.choices:
            raise ValidationError("Choose from the list.")

    def validate_day_from(self, field: DateField) -> None:
        if field.data and not usable_day(field.data):
            raise ValidationError(DAY_RANGE_MESSAGE)

    def validate_day_to(self, field: DateField) -> None:
        if field.data and not usable_day(field.data):
            raise ValidationError(DAY_RANGE_MESSAGE)
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError("The last day comes before the first.")
