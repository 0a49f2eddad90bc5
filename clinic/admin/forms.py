"""Forms of the admin area's own pages."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import IPAddress, Length, NumberRange, Optional, ValidationError

from clinic.numbers import DAY_RANGE_MESSAGE, usable_day


class AdminForm(FlaskForm):
    """A form whose errors are plain text. A lazily translated validator message would reach
    the page as markup (Flask-Babel's LazyString has __html__, so Jinja does not escape it):
    "therapist's" would lose its escaping. Made str after validating, they are escaped as
    anything typed is."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            field.errors = [str(error) for error in field.errors]
        return valid


class AuditFilterForm(AdminForm):
    """The audit log's filters, read from the query string (reading needs no CSRF)."""

    class Meta:
        csrf = False

    actor = StringField(
        _l("Who"),
        validators=[Optional(), Length(max=100)],
        description=_l('Part of a name or e-mail; "system" for the cron commands.'),
    )
    # The choices are set per request by set_choices, in the request's language.
    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    subject_type = SelectField(_l("Concerning"), choices=[], validate_choice=False)
    subject_id = IntegerField(
        _l("Number"),
        validators=[
            Optional(),
            NumberRange(min=1, max=2_147_483_647, message=_l("A number above 0.")),
        ],
        description=_l("The booking's, screening's or user's number."),
    )
    ip = StringField(
        _l("From address"),
        validators=[Optional(), IPAddress(ipv4=True, ipv6=True, message=_l("An IP address."))],
    )
    day_from = DateField(_l("From"), validators=[Optional()])
    day_to = DateField(_l("To"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))

    def set_choices(self, actions: list[str], prefixes: list[str], kinds: list[str]) -> None:
        # Action codes and subject types are shown as they are stored: they are codes, not prose.
        self.action.choices = {
            "": _("Any action"),
            **{p: _("%(prefix)s* (all)", prefix=p) for p in prefixes},
            **{a: a for a in actions},
        }
        self.subject_type.choices = {"": _("Anything"), **{k: k for k in kinds}}

    def validate_action(self, field: SelectField) -> None:
        if field.data and field.data not in field.choices:
            raise ValidationError(_("Choose an action from the list."))

    def validate_subject_type(self, field: SelectField) -> None:
        if field.data and field.data not in field.choices:
            raise ValidationError(_("Choose from the list."))

    def validate_day_from(self, field: DateField) -> None:
        if field.data and not usable_day(field.data):
            raise ValidationError(_(DAY_RANGE_MESSAGE))

    def validate_day_to(self, field: DateField) -> None:
        if field.data and not usable_day(field.data):
            raise ValidationError(_(DAY_RANGE_MESSAGE))
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError(_("The last day comes before the first."))
