"""Forms of the admin's staff and user pages: inviting a therapist, changing a role."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from clinic.admin.forms import AdminForm
from clinic.auth.models import Role, User
from clinic.catalog.staffing import EMAIL_TAKEN


class InviteTherapistForm(AdminForm):
    name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter the therapist's name.")), Length(max=120)],
        description=_l("Shown to clients on the therapist's public page."),
    )
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Enter the therapist's e-mail address.")),
            Length(max=254),
            Email(
                _l("Enter a valid e-mail address, like name@example.com."),
                check_deliverability=False,
            ),
        ],
        description=_l("The invitation with a link to choose a password goes here."),
    )
    submit = SubmitField(_l("Send invitation"))

    def validate_email(self, field: EmailField) -> None:
        if User.by_email(field.data) is not None:
            raise ValidationError(str(EMAIL_TAKEN))


# A therapist's role comes with their profile (certificates, hours), so it is given by inviting
# them, not by this form; these are the roles an admin switches between here.
ROLE_CHOICES = [
    SelectChoice(Role.CLIENT.value, _l("Client")),
    SelectChoice(Role.ADMIN.value, _l("Admin")),
]


class RoleForm(AdminForm):
    role = RadioField(
        _l("Role"),
        choices=ROLE_CHOICES,
        validators=[InputRequired(_l("Choose a role."))],
    )
    submit = SubmitField(_l("Change role"))
