"""Joining the waitlist; the buttons that leave it and claim an offer carry only CSRF."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired, ValidationError

from clinic.catalog.models import Technique, Therapist
from clinic.scheduling.forms import WEEKDAYS
from clinic.scheduling.operations import DASH
from clinic.screening.forms import MultiCheckboxField
from clinic.waitlist.models import DAY_PARTS

DAY_PART_LABELS = {
    key: f"{key.title()} ({start:02d}:00{DASH}{end:02d}:00)"
    for key, (start, end) in DAY_PARTS.items()
}


class JoinForm(FlaskForm):
    """What a client waits for. The techniques and therapists on offer come from the view."""

    technique = SelectField("Technique", validators=[DataRequired("Choose a technique.")])
    duration = SelectField(
        "Length",
        coerce=int,
        validate_choice=False,
        validators=[DataRequired("Choose a length.")],
    )
    therapist = SelectField("Therapist", coerce=int, validate_choice=False)
    weekdays = MultiCheckboxField(
        "Days you could come",
        coerce=int,
        choices=dict(enumerate(WEEKDAYS)),
        description="Tick none if any day suits you.",
    )
    day_parts = MultiCheckboxField(
        "Times of day",
        choices=DAY_PART_LABELS,
        description="Tick none if any time of day suits you. Times are the clinic's local time.",
    )
    submit = SubmitField("Join the waitlist")

    def __init__(
        self,
        *args: Any,
        techniques: list[Technique],
        therapists: list[Therapist],
        today: date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.techniques = {t.slug: t for t in techniques}
        self.therapists = {t.id: t for t in therapists}
        self.today = today
        self.technique.choices = {t.slug: t.name for t in techniques}
        lengths = sorted({o.duration_minutes for t in techniques for o in t.options})
        self.duration.choices = {d: f"{d} minutes" for d in lengths}
        self.therapist.choices = {0: "Any therapist"} | {
            t.id: t.user.name for t in sorted(therapists, key=lambda t: t.user.name)
        }

    @property
    def chosen_technique(self) -> Technique | None:
        return self.techniques.get(self.technique.data or "")

    @property
    def chosen_therapist(self) -> Therapist | None:
        return self.therapists.get(self.therapist.data or 0)

    def validate_technique(self, field: SelectField) -> None:
        if self.chosen_technique is None:
            raise ValidationError("We do not offer that technique; choose one from the list.")

    def validate_duration(self, field: SelectField) -> None:
        technique = self.chosen_technique
        if technique is None:
            return
        lengths = [o.duration_minutes for o in technique.options]
        if field.data not in lengths:
            raise ValidationError(
                f"{technique.name} comes in {' or '.join(map(str, lengths))} minutes."
            )

    def validate_therapist(self, field: SelectField) -> None:
        if not field.data:
            return
        therapist = self.chosen_therapist
        if therapist is None:
            raise ValidationError("Choose a therapist from the list, or any therapist.")
        technique = self.chosen_technique
        if technique is not None and not therapist.is_certified_for(technique, self.today):
            raise ValidationError(
                f"{therapist.user.name} does not offer {technique.name.lower()}; "
                "choose another therapist or any therapist."
            )


class ButtonForm(FlaskForm):
    """A button that only carries the CSRF token (leave an entry, book an offered time)."""

    submit = SubmitField("Send")
