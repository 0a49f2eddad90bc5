"""The questionnaire form, built from the rules' questions, and the admins' decision forms."""

from __future__ import annotations

from functools import cache

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.screening.consent import CONSENT_TEXT
from clinic.screening.rules import MAX_TEXT_LENGTH, Answer, questions

YES_NO = {"yes": "Yes", "no": "No"}


@cache
def questionnaire_form(version: int) -> type[FlaskForm]:
    """A form class with one field per question of the version, named by the question id."""

    class QuestionnaireForm(FlaskForm):
        consent = BooleanField(
            "I agree to the processing of my health data as described above.",
            validators=[DataRequired("Please agree, or we cannot store your answers.")],
            description=CONSENT_TEXT,
        )
        submit = SubmitField("Send my answers")

        def answers(self) -> dict[str, Answer]:
            result: dict[str, Answer] = {}
            for q in questions(version):
                data = self[q.id].data
                result[q.id] = (data == "yes") if q.kind == "yes_no" else (data or "")
            return result

    for q in questions(version):
        if q.kind == "yes_no":
            field = RadioField(
                q.text, choices=YES_NO, validators=[InputRequired("Answer yes or no.")]
            )
        else:
            field = TextAreaField(
                q.text,
                validators=[
                    Optional(),
                    Length(max=MAX_TEXT_LENGTH, message=f"At most {MAX_TEXT_LENGTH} characters."),
                ],
                render_kw={"rows": 4},
            )
        setattr(QuestionnaireForm, q.id, field)
    return QuestionnaireForm


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _techniques_field(label: str) -> MultiCheckboxField:
    return MultiCheckboxField(
        label, coerce=int, validators=[DataRequired("Choose at least one technique.")]
    )


class ApproveForm(FlaskForm):
    techniques = _techniques_field("Approve for")
    note = TextAreaField("Note for the file (optional)", validators=[Length(max=2000)])
    submit = SubmitField("Approve")


class ClearanceForm(FlaskForm):
    techniques = _techniques_field("The clearance covers")
    clearance_issued_by = StringField(
        "Issued by",
        validators=[DataRequired("Who issued the clearance?"), Length(max=200)],
        description="The doctor or clinic, e.g. 'Dr. Hansen, Nørrebro Lægehus'.",
    )
    clearance_date = DateField(
        "Date of the clearance",
        validators=[InputRequired("When was it issued? Use the form YYYY-MM-DD.")],
    )
    note = TextAreaField("Note (optional)", validators=[Length(max=2000)])
    submit = SubmitField("Record clearance")


class RejectForm(FlaskForm):
    techniques = _techniques_field("Reject for")
    reason = TextAreaField(
        "Reason, shown to the client",
        validators=[DataRequired("Say why, for the client."), Length(max=2000)],
    )
    submit = SubmitField("Reject")
