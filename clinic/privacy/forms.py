"""The forms of the data-rights pages. They own their validation, the password check included."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from clinic.auth.models import User
from clinic.auth.passwords import MAX_LENGTH, verify_password


class DownloadForm(FlaskForm):
    """No fields: the download button, with its CSRF token."""

    submit = SubmitField(_l("Download my data (JSON)"))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        _l(
            "I understand that my account, my health screenings and my upcoming bookings are "
            "deleted, and that this cannot be undone."
        ),
        validators=[
            DataRequired(_l("Tick the box to confirm that you want to delete your account."))
        ],
    )
    submit = SubmitField(_l("Delete my account"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_password(self, field: PasswordField) -> None:
        if not verify_password(self._user.password_hash, field.data or ""):
            raise ValidationError(_("That is not your password. Nothing was deleted."))
