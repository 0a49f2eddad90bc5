"""Account forms. They own their validation, including checks against the database."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from clinic.auth.models import User
from clinic.auth.passwords import MAX_LENGTH, MIN_LENGTH, policy_problem
from clinic.i18n import LOCALE_NAMES

_PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{6,24}$")


def _valid_phone(form: FlaskForm, field: StringField) -> None:
    digits = sum(ch.isdigit() for ch in field.data or "")
    if not _PHONE_RE.match(field.data or "") or not 6 <= digits <= 15:
        raise ValidationError(
            _("Enter a phone number of 6 to 15 digits, for example +45 12 34 56 78.")
        )


def _name_field() -> StringField:
    return StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter your name.")), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )


def _email_field(label: LazyString | None = None) -> EmailField:
    return EmailField(
        label or _l("E-mail"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Length(max=254),
            Email(
                _l("Enter a valid e-mail address, like name@example.com."),
                check_deliverability=False,
            ),
        ],
        render_kw={"autocomplete": "email"},
    )


def _phone_field() -> TelField:
    return TelField(
        _l("Phone"),
        validators=[DataRequired(_l("Enter a phone number we can reach you on.")), _valid_phone],
        render_kw={"autocomplete": "tel"},
    )


def _new_password_fields(label: LazyString | None = None) -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        label or _l("Password"),
        validators=[DataRequired(_l("Choose a password."))],
        description=_l(
            "%(min)d to %(max)d characters; a few unrelated words work well.",
            min=MIN_LENGTH,
            max=MAX_LENGTH,
        ),
        render_kw={
            "autocomplete": "new-password",
            "minlength": MIN_LENGTH,
            "maxlength": MAX_LENGTH,
        },
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", _l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Log in"))


class RegisterForm(FlaskForm):
    name = _name_field()
    email = _email_field()
    phone = _phone_field()
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("Create account"))

    def validate_email(self, field: EmailField) -> None:
        if User.by_email(field.data) is not None:
            raise ValidationError(
                _(
                    "An account with this e-mail address already exists. "
                    "Log in, or reset your password if you forgot it."
                )
            )

    def validate_password(self, field: PasswordField) -> None:
        problem = policy_problem(field.data, email=self.email.data or "", name=self.name.data or "")
        if problem:
            raise ValidationError(problem)


class ProfileForm(FlaskForm):
    name = _name_field()
    email = _email_field()
    phone = _phone_field()
    # Each language named in its own words; the layout's switch sets the same setting.
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice(code, name, {"lang": code}) for code, name in LOCALE_NAMES.items()],
    )
    submit = SubmitField(_l("Save changes"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, obj=user, **kwargs)
        self._user = user

    def validate_email(self, field: EmailField) -> None:
        other = User.by_email(field.data)
        if other is not None and other.id != self._user.id:
            raise ValidationError(_("Another account already uses this e-mail address."))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = _new_password_fields(_l("New password"))
    submit = SubmitField(_l("Change password"))


class ForgotPasswordForm(FlaskForm):
    email = _email_field()
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields(_l("New password"))
    submit = SubmitField(_l("Set new password"))


class ConfirmForm(FlaskForm):
    """No fields: a button that still carries the CSRF token."""

    submit = SubmitField(_l("Confirm"))


# --- two-factor sign-in ------------------------------------------------------------------


def _code_field(label: LazyString) -> StringField:
    return StringField(
        label,
        validators=[
            DataRequired(_l("Enter the code.")),
            Length(max=64, message=_l("That is too long.")),
        ],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class SetupCodeForm(FlaskForm):
    code = _code_field(_l("The 6-digit code your app shows"))
    submit = SubmitField(_l("Switch on"))


class LoginCodeForm(FlaskForm):
    code = _code_field(_l("Code from your app, or a recovery code"))
    submit = SubmitField(_l("Log in"))


class SwitchOffForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    code = _code_field(_l("A code from your app, or a recovery code"))
    submit = SubmitField(_l("Switch off"))
