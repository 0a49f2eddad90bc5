"""Account forms. They own their validation, including checks against the database."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from clinic.auth.models import User
from clinic.auth.passwords import MAX_LENGTH, MIN_LENGTH, policy_problem

_PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{6,24}$")


def _valid_phone(form: FlaskForm, field: StringField) -> None:
    digits = sum(ch.isdigit() for ch in field.data or "")
    if not _PHONE_RE.match(field.data or "") or not 6 <= digits <= 15:
        raise ValidationError(
            "Enter a phone number of 6 to 15 digits, for example +45 12 34 56 78."
        )


def _name_field() -> StringField:
    return StringField(
        "Full name",
        validators=[DataRequired("Enter your name."), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )


def _email_field(label: str = "E-mail") -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired("Enter your e-mail address."),
            Length(max=254),
            Email(
                "Enter a valid e-mail address, like name@example.com.", check_deliverability=False
            ),
        ],
        render_kw={"autocomplete": "email"},
    )


def _phone_field() -> TelField:
    return TelField(
        "Phone",
        validators=[DataRequired("Enter a phone number we can reach you on."), _valid_phone],
        render_kw={"autocomplete": "tel"},
    )


def _new_password_fields(label: str = "Password") -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        label,
        validators=[DataRequired("Choose a password.")],
        description=f"{MIN_LENGTH} to {MAX_LENGTH} characters; a few unrelated words work well.",
        render_kw={
            "autocomplete": "new-password",
            "minlength": MIN_LENGTH,
            "maxlength": MAX_LENGTH,
        },
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The two passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class LoginForm(FlaskForm):
    email = EmailField(
        "E-mail",
        validators=[DataRequired("Enter your e-mail address."), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Log in")


class RegisterForm(FlaskForm):
    name = _name_field()
    email = _email_field()
    phone = _phone_field()
    password, confirm = _new_password_fields()
    submit = SubmitField("Create account")

    def validate_email(self, field: EmailField) -> None:
        if User.by_email(field.data) is not None:
            raise ValidationError(
                "An account with this e-mail address already exists. "
                "Log in, or reset your password if you forgot it."
            )

    def validate_password(self, field: PasswordField) -> None:
        problem = policy_problem(field.data, email=self.email.data or "", name=self.name.data or "")
        if problem:
            raise ValidationError(problem)


class ProfileForm(FlaskForm):
    name = _name_field()
    email = _email_field()
    phone = _phone_field()
    submit = SubmitField("Save changes")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, obj=user, **kwargs)
        self._user = user

    def validate_email(self, field: EmailField) -> None:
        other = User.by_email(field.data)
        if other is not None and other.id != self._user.id:
            raise ValidationError("Another account already uses this e-mail address.")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = _new_password_fields("New password")
    submit = SubmitField("Change password")


class ForgotPasswordForm(FlaskForm):
    email = _email_field()
    submit = SubmitField("Send me a reset link")


class ResetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields("New password")
    submit = SubmitField("Set new password")


class ConfirmForm(FlaskForm):
    """No fields: a button that still carries the CSRF token."""

    submit = SubmitField("Confirm")


# --- two-factor sign-in ------------------------------------------------------------------


def _code_field(label: str) -> StringField:
    return StringField(
        label,
        validators=[DataRequired("Enter the code."), Length(max=64, message="That is too long.")],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class SetupCodeForm(FlaskForm):
    code = _code_field("The 6-digit code your app shows")
    submit = SubmitField("Switch on")


class LoginCodeForm(FlaskForm):
    code = _code_field("Code from your app, or a recovery code")
    submit = SubmitField("Log in")


class SwitchOffForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    code = _code_field("A code from your app, or a recovery code")
    submit = SubmitField("Switch off")
