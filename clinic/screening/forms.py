"""The questionnaire form, built from the rules' questions, and the admins' decision forms."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.screening.consent import CONSENT_TEXT
from clinic.screening.rules import MAX_TEXT_LENGTH, Answer, questions

# The values of a yes/no question; its labels, translated, are YES_NO_CHOICES.
YES_NO = {"yes": "Yes", "no": "No"}
YES_NO_CHOICES = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]


@cache
def questionnaire_form(version: int) -> type[FlaskForm]:
    """A form class with one field per question of the version, named by the question id."""

    class QuestionnaireForm(FlaskForm):
        consent = BooleanField(
            _l("I agree to the processing of my health data as described above."),
            validators=[DataRequired(_l("Please agree, or we cannot store your answers."))],
            description=_l(CONSENT_TEXT),
        )
        submit = SubmitField(_l("Send my answers"))

        def answers(self) -> dict[str, Answer]:
            result: dict[str, Answer] = {}
            for q in questions(version):
                data = self[q.id].data
                result[q.id] = (data == "yes") if q.kind == "yes_no" else (data or "")
            return result

    for q in questions(version):
        if q.kind == "yes_no":
            field = RadioField(
                _l(q.text),
                choices=YES_NO_CHOICES,
                validators=[InputRequired(_l("Answer yes or no."))],
            )
        else:
            field = TextAreaField(
                _l(q.text),
                validators=[
                    Optional(),
                    Length(
                        max=MAX_TEXT_LENGTH,
                        message=_l("At most %(num)d characters.", num=MAX_TEXT_LENGTH),
                    ),
                ],
                render_kw={"rows": 4},
            )
        setattr(QuestionnaireForm, q.id, field)
    return QuestionnaireForm


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _techniques_field(label: object) -> MultiCheckboxField:
    return MultiCheckboxField(
        label, coerce=int, validators=[DataRequired(_l("Choose at least one technique."))]
    )


class ApproveForm(FlaskForm):
    techniques = _techniques_field(_l("Approve for"))
    note = TextAreaField(_l("Note for the file (optional)"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Approve"))


class ClearanceForm(FlaskForm):
    techniques = _techniques_field(_l("The clearance covers"))
    clearance_issued_by = StringField(
        _l("Issued by"),
        validators=[DataRequired(_l("Who issued the clearance?")), Length(max=200)],
        description=_l("The doctor or clinic, e.g. 'Dr. Hansen, Nørrebro Lægehus'."),
    )
    clearance_date = DateField(
        _l("Date of the clearance"),
        validators=[InputRequired(_l("When was it issued? Use the form YYYY-MM-DD."))],
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Record clearance"))


class RejectForm(FlaskForm):
    techniques = _techniques_field(_l("Reject for"))
    reason = TextAreaField(
        _l("Reason, shown to the client"),
        validators=[DataRequired(_l("Say why, for the client.")), Length(max=2000)],
    )
    submit = SubmitField(_l("Reject"))
