"""Forms for the catalogue."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length


class TherapistProfileForm(FlaskForm):
    bio = TextAreaField(
        _l("About you"),
        validators=[Length(max=4000, message=_l("Keep it under 4,000 characters."))],
        description=_l("Shown on your public page: your background, what you like to treat."),
        render_kw={"rows": 8},
    )
    submit = SubmitField(_l("Save"))
