"""The therapist's form after a session: private note, aftercare and an optional plan."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import Length, ValidationError

from clinic.booking.series import EVERY_CHOICES, MAX_COUNT, MIN_COUNT, every_labels
from clinic.text import N_

NO_PLAN = ""

# One-click starting points for the aftercare advice: (button label, the text it adds), in
# English; translated where they are shown and added (treatment/edit.html, views.edit).
SNIPPETS: dict[str, tuple[str, str]] = {
    "stretch": (
        N_("Gentle stretching"),
        N_(
            "Stretch gently twice a day: ease into each stretch, hold it for 20 to 30 seconds "
            "while you breathe calmly, and stop before it hurts."
        ),
    ),
    "heat": (
        N_("Heat"),
        N_(
            "Warmth loosens tight muscles: a heat pad or a warm towel on the area for about "
            "15 minutes, once or twice a day. No heat on anything swollen."
        ),
    ),
    "cold": (
        N_("Cold for swelling"),
        N_(
            "If it swells or aches sharply, a cold pack wrapped in a thin cloth for 10 to 15 "
            "minutes at a time helps. Never put ice straight on the skin."
        ),
    ),
    "move": (
        N_("Keep moving"),
        N_(
            "Keep moving: short, easy walks, and get up from your chair every half hour. Long rest "
            "in bed tends to make a sore back stiffer."
        ),
    ),
    "water": (
        N_("Water and rest"),
        N_("Drink a little more water than usual today and take the rest of the day calmly."),
    ),
    "return": (
        N_("Come back in 2 weeks"),
        N_("Come back in about 2 weeks, so that we can see how your back has responded."),
    ),
}


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def option_key(technique_slug: str, duration_minutes: int) -> str:
    """The value of one technique-and-length choice: 'sports-massage/60'."""
    return f"{technique_slug}/{duration_minutes}"


class TreatmentForm(FlaskForm):
    """Set `plan_option.choices` to the lengths of the techniques the therapist may propose
    (key from `option_key`) before validating; anything else is refused with a message."""

    private_note = TextAreaField(
        _l("Private treatment note"),
        validators=[Length(max=5000, message=_l("Keep the note under 5,000 characters."))],
        description=_l(
            "What you found and did. Only therapists who treat this client and the clinic's "
            "admins can read it; it is never sent to the client."
        ),
        render_kw={"rows": 5},
    )
    aftercare = TextAreaField(
        _l("Aftercare advice for the client"),
        validators=[Length(max=3000, message=_l("Keep the advice under 3,000 characters."))],
        description=_l("The client sees this on the booking and gets it by e-mail."),
        render_kw={"rows": 6},
    )
    plan_option = SelectField(_l("Technique and length"), validate_choice=False)
    plan_every = SelectField(_l("How often"), choices=every_labels, validate_choice=False)
    plan_count = SelectField(
        _l("Sessions"),
        choices=lambda: {n: _("%(num)d sessions", num=n) for n in range(MIN_COUNT, MAX_COUNT + 1)},
        coerce=_int_or_none,
        validate_choice=False,
    )
    submit = SubmitField(_l("Save"))

    @property
    def wants_plan(self) -> bool:
        return bool(self.plan_option.data)

    def validate_plan_option(self, field: SelectField) -> None:
        known = {value for value, _ in field.choices if value != NO_PLAN}
        if field.data and field.data not in known:
            raise ValidationError(_("Choose a technique and length you are certified for."))

    def validate_plan_every(self, field: SelectField) -> None:
        if self.wants_plan and field.data not in EVERY_CHOICES:
            raise ValidationError(_("Choose every week, every 2 weeks or every month."))

    def validate_plan_count(self, field: SelectField) -> None:
        if self.wants_plan and (field.data is None or not MIN_COUNT <= field.data <= MAX_COUNT):
            raise ValidationError(
                _("A plan has %(min)d to %(max)d sessions.", min=MIN_COUNT, max=MAX_COUNT)
            )

    def validate(self, extra_validators=None) -> bool:  # type: ignore[override]
        if not super().validate(extra_validators):
            return False
        if not (self.private_note.data or "").strip() and not (
            (self.aftercare.data or "").strip() or self.wants_plan
        ):
            self.private_note.errors = [
                *self.private_note.errors,
                _("Write a note, some aftercare advice or propose a plan."),
            ]
            return False
        return True
