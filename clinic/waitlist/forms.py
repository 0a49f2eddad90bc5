"""Joining the waitlist; the buttons that leave it and claim an offer carry only CSRF."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired, ValidationError

from clinic.catalog.models import Technique, Therapist
from clinic.scheduling.forms import WEEKDAYS
from clinic.scheduling.operations import DASH
from clinic.screening.forms import MultiCheckboxField
from clinic.waitlist.models import DAY_PARTS

DAY_PART_NAMES = {"morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening")}


def day_part_labels() -> dict[str, str]:
    """'Morning (06:00-12:00)' for each of DAY_PARTS, in the request's language."""
    return {
        key: f"{DAY_PART_NAMES[key]} ({start:02d}:00{DASH}{end:02d}:00)"
        for key, (start, end) in DAY_PARTS.items()
    }


def _weekday_choices() -> dict[int, str]:
    return {number: str(name) for number, name in enumerate(WEEKDAYS)}


class JoinForm(FlaskForm):
    """What a client waits for. The techniques and therapists on offer come from the view."""

    technique = SelectField(_l("Technique"), validators=[DataRequired(_l("Choose a technique."))])
    duration = SelectField(
        _l("Length"),
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(_l("Choose a length."))],
    )
    therapist = SelectField(_l("Therapist"), coerce=int, validate_choice=False)
    weekdays = MultiCheckboxField(
        _l("Days you could come"),
        coerce=int,
        choices=_weekday_choices,
        description=_l("Tick none if any day suits you."),
    )
    day_parts = MultiCheckboxField(
        _l("Times of day"),
        choices=day_part_labels,
        description=_l(
            "Tick none if any time of day suits you. Times are the clinic's local time."
        ),
    )
    submit = SubmitField(_l("Join the waitlist"))

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
        self.duration.choices = {
            d: ngettext("%(num)d minute", "%(num)d minutes", d) for d in lengths
        }
        self.therapist.choices = {0: _("Any therapist")} | {
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
            raise ValidationError(_("We do not offer that technique; choose one from the list."))

    def validate_duration(self, field: SelectField) -> None:
        technique = self.chosen_technique
        if technique is None:
            return
        lengths = [o.duration_minutes for o in technique.options]
        if field.data not in lengths:
            raise ValidationError(
                _(
                    "%(technique)s comes in %(first)s or %(last)s minutes.",
                    technique=technique.name,
                    first=", ".join(map(str, lengths[:-1])),
                    last=lengths[-1],
                )
                if len(lengths) > 1
                else _(
                    "%(technique)s comes in %(lengths)s minutes.",
                    technique=technique.name,
                    lengths=lengths[0],
                )
            )

    def validate_therapist(self, field: SelectField) -> None:
        if not field.data:
            return
        therapist = self.chosen_therapist
        if therapist is None:
            raise ValidationError(_("Choose a therapist from the list, or any therapist."))
        technique = self.chosen_technique
        if technique is not None and not therapist.is_certified_for(technique, self.today):
            raise ValidationError(
                _(
                    "%(therapist)s does not offer %(technique)s; "
                    "choose another therapist or any therapist.",
                    therapist=therapist.user.name,
                    technique=technique.name.lower(),
                )
            )


class ButtonForm(FlaskForm):
    """A button that only carries the CSRF token (leave an entry, book an offered time)."""

    submit = SubmitField(_l("Send"))
