"""Forms for the catalogue."""

from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length


class TherapistProfileForm(FlaskForm):
    bio = TextAreaField(
        "About you",
        validators=[Length(max=4000, message="Keep it under 4,000 characters.")],
        description="Shown on your public page: your background, what you like to treat.",
        render_kw={"rows": 8},
    )
    submit = SubmitField("Save")
