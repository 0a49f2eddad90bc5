"""The certificate form: whose, for which technique, by which body, valid from and until."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from clinic.admin.forms import AdminForm
from clinic.admin.reports import technique_names
from clinic.auth.models import User
from clinic.catalog.certifications import CertificationData
from clinic.catalog.models import Certification, Therapist
from clinic.extensions import db

BAD_DATE = _l("Enter a date as YYYY-MM-DD.")


class CertificationForm(AdminForm):
    therapist = SelectField(
        _l("Therapist"), coerce=int, validators=[InputRequired(_l("Choose a therapist."))]
    )
    technique = SelectField(
        _l("Technique"), coerce=int, validators=[InputRequired(_l("Choose a technique."))]
    )
    body = StringField(
        _l("Issued by"),
        validators=[DataRequired(_l("Name the body that issued it.")), Length(max=200)],
        description=_l("The school or association, e.g. Danish Massage Board."),
    )
    number = StringField(_l("Certificate number"), validators=[Length(max=64)])
    valid_from = DateField(
        _l("Valid from"),
        validators=[InputRequired(_l("Give the first day it is valid."))],
        invalid_value_message=BAD_DATE,
    )
    valid_until = DateField(
        _l("Valid until"),
        validators=[InputRequired(_l("Give the last day it is valid."))],
        invalid_value_message=BAD_DATE,
        description=_l("The last day it is valid (inclusive)."),
    )
    document_ref = StringField(
        _l("Document reference"),
        validators=[Length(max=300)],
        description=_l("Where the signed copy is kept: a file name or an archive number."),
    )
    submit = SubmitField(_l("Save certificate"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        therapists = db.session.execute(
            select(Therapist.id, User.name, Therapist.active)
            .join(User, User.id == Therapist.user_id)
            .order_by(User.name, Therapist.id)
        )
        self.therapist.choices = {
            tid: name if active else _("%(name)s (deactivated)", name=name)
            for tid, name, active in therapists
        }
        # Named in the reader's language, and ordered by that name.
        techniques = sorted(
            (name.casefold(), tid, name, active) for tid, name, active in technique_names()
        )
        self.technique.choices = {
            tid: name if active else _("%(name)s (not offered)", name=name)
            for _key, tid, name, active in techniques
        }

    @classmethod
    def for_certification(cls, certification: Certification) -> CertificationForm:
        form = cls(obj=certification)
        if not form.is_submitted():
            form.therapist.data = certification.therapist_id
            form.technique.data = certification.technique_id
        return form

    def validate_valid_until(self, field: DateField) -> None:
        if self.valid_from.data and field.data and field.data < self.valid_from.data:
            raise ValidationError(_("The last day cannot be before the first."))

    def data_for_save(self) -> CertificationData:
        return CertificationData(
            therapist_id=self.therapist.data,
            technique_id=self.technique.data,
            body=self.body.data.strip(),
            number=(self.number.data or "").strip(),
            valid_from=self.valid_from.data,
            valid_until=self.valid_until.data,
            document_ref=(self.document_ref.data or "").strip(),
        )
