"""Forms of the admin's staff and user pages: inviting a therapist, changing a role."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from clinic.auth.models import Role, User
from clinic.catalog.staffing import EMAIL_TAKEN


class InviteTherapistForm(FlaskForm):
    name = StringField(
        "Full name",
        validators=[DataRequired("Enter the therapist's name."), Length(max=120)],
        description="Shown to clients on the therapist's public page.",
    )
    email = EmailField(
        "E-mail",
        validators=[
            DataRequired("Enter the therapist's e-mail address."),
            Length(max=254),
            Email(
                "Enter a valid e-mail address, like name@example.com.", check_deliverability=False
            ),
        ],
        description="The invitation with a link to choose a password goes here.",
    )
    submit = SubmitField("Send invitation")

    def validate_email(self, field: EmailField) -> None:
        if User.by_email(field.data) is not None:
            raise ValidationError(EMAIL_TAKEN)


# A therapist's role comes with their profile (certificates, hours), so it is given by inviting
# them, not by this form; these are the roles an admin switches between here.
ROLE_CHOICES = {Role.CLIENT.value: "Client", Role.ADMIN.value: "Admin"}


class RoleForm(FlaskForm):
    role = RadioField(
        "Role",
        choices=ROLE_CHOICES,
        validators=[InputRequired("Choose a role.")],
    )
    submit = SubmitField("Change role")
