"""The technique form: what the public page says, the pressure class, and its lengths and prices.

Lengths and prices are OPTION_ROWS pairs of fields (`duration_N`, `price_N`); blank rows are
ignored, so an option is removed by clearing its row.
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, Field, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from clinic.catalog.models import Pressure, Technique
from clinic.catalog.pricing import PriceError, parse_price, price_input
from clinic.catalog.techniques import TechniqueData
from clinic.extensions import db
from clinic.numbers import whole_number
from clinic.screening.models import Screening, ScreeningOutcome

OPTION_ROWS = 6
# Every length is a whole number of the booking's five-minute claim blocks (booking/models.py).
DURATION_STEP = 5
MAX_DURATION = 240
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class TechniqueForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Give the technique a name."), Length(max=120)]
    )
    slug = StringField(
        "Address name (slug)",
        validators=[
            DataRequired("Give an address name, like deep-tissue-massage."),
            Length(max=64),
        ],
        description="Lower-case letters, digits and single hyphens; used in the page address "
        "/techniques/<slug> and by the API. Changing it breaks links others have saved.",
    )
    summary = StringField(
        "Summary",
        validators=[
            DataRequired("Write one sentence for the list of techniques."),
            Length(max=300),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[DataRequired("Describe the technique."), Length(max=8000)],
        description="Plain text; a blank line starts a new paragraph.",
        render_kw={"rows": 6},
    )
    helps_with = TextAreaField(
        "Helps with",
        validators=[Length(max=4000)],
        description="One item a line.",
        render_kw={"rows": 4},
    )
    not_suitable_for = TextAreaField(
        "Not suitable for",
        validators=[Length(max=4000)],
        description="One item a line.",
        render_kw={"rows": 4},
    )
    pressure = RadioField(
        "Contraindication class",
        choices={Pressure.DEEP.value: "Deep pressure", Pressure.GENTLE.value: "Gentle"},
        validators=[InputRequired("Choose deep pressure or gentle.")],
        description="Which column of the health screening's rules applies. It cannot change "
        "once current screenings were judged for the technique.",
    )
    active = BooleanField(
        "Offered (bookable and shown on the public pages)",
        default=True,
    )
    submit = SubmitField("Save technique")

    def __init__(self, *args: Any, technique: Technique | None = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=technique, **kwargs)
        self._technique = technique
        if technique is not None and not self.is_submitted():
            for n, option in enumerate(technique.options[:OPTION_ROWS], start=1):
                self[f"duration_{n}"].data = str(option.duration_minutes)
                self[f"price_{n}"].data = price_input(option.price_minor)
        self.options: list[tuple[int, int]] = []

    def rows(self) -> list[tuple[Field, Field]]:
        return [(self[f"duration_{n}"], self[f"price_{n}"]) for n in range(1, OPTION_ROWS + 1)]

    def validate_slug(self, field: StringField) -> None:
        slug = (field.data or "").strip()
        if not SLUG_RE.match(slug):
            raise ValidationError(
                "Use lower-case letters, digits and single hyphens, like deep-tissue-massage."
            )
        field.data = slug
        taken = select(Technique.id).where(func.lower(Technique.slug) == slug)
        if self._technique is not None:
            taken = taken.where(Technique.id != self._technique.id)
        if db.session.scalar(taken.limit(1)) is not None:
            raise ValidationError("Another technique already uses this address name.")

    def validate_pressure(self, field: RadioField) -> None:
        """Stored screening outcomes were judged for the class the technique had: changing it
        under them would leave a client booking deep pressure on a gentle technique's outcome."""
        if self._technique is None or field.data == self._technique.pressure.value:
            return
        judged = db.session.scalar(
            select(func.count())
            .select_from(ScreeningOutcome)
            .join(Screening, Screening.id == ScreeningOutcome.screening_id)
            .where(
                ScreeningOutcome.technique_id == self._technique.id,
                Screening.superseded_at.is_(None),
            )
        )
        if judged:
            raise ValidationError(
                f"{judged} current {'screening was' if judged == 1 else 'screenings were'} "
                f"judged for this technique as {self._technique.pressure.value}; their outcomes "
                "would no longer fit. Add a new technique with the other class and stop "
                "offering this one."
            )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return self._check_options() and valid

    def _check_options(self) -> bool:
        """Each filled row a length in minutes and a price; lengths unique; at least one row."""
        valid = True
        seen: dict[int, int] = {}
        options = []
        for n, (duration, price) in enumerate(self.rows(), start=1):
            d_text, p_text = (duration.data or "").strip(), (price.data or "").strip()
            if not d_text and not p_text:
                continue
            minutes = _minutes(duration, d_text, seen, n)
            minor = _price(price, p_text)
            if minutes is None or minor is None:
                valid = False
                continue
            seen[minutes] = n
            options.append((minutes, minor))
        if valid and not options:
            self.duration_1.errors.append("Give at least one length with its price.")
            valid = False
        self.options = sorted(options)
        return valid

    def data_for_save(self) -> TechniqueData:
        """What was entered, cleaned, after a successful validation."""
        return TechniqueData(
            name=self.name.data.strip(),
            slug=self.slug.data,
            summary=self.summary.data.strip(),
            description=self.description.data.strip(),
            helps_with=(self.helps_with.data or "").strip(),
            not_suitable_for=(self.not_suitable_for.data or "").strip(),
            pressure=Pressure(self.pressure.data),
            active=bool(self.active.data),
            options=tuple(self.options),
        )


def _minutes(field: Field, text: str, seen: dict[int, int], row: int) -> int | None:
    if not text:
        field.errors.append("Give the length in minutes, or clear the price too.")
        return None
    minutes = whole_number(text)
    if minutes is None or not 0 < minutes <= MAX_DURATION:
        field.errors.append(f"Enter whole minutes from {DURATION_STEP} to {MAX_DURATION}.")
        return None
    if minutes % DURATION_STEP:
        field.errors.append(f"Use a multiple of {DURATION_STEP} minutes, like 30, 45 or 60.")
        return None
    if minutes in seen:
        field.errors.append(f"Row {seen[minutes]} already has {minutes} minutes.")
        return None
    return minutes


def _price(field: Field, text: str) -> int | None:
    if not text:
        field.errors.append("Give the price, or clear the length too.")
        return None
    try:
        return parse_price(text)
    except PriceError as exc:
        field.errors.append(str(exc))
        return None


for _n in range(1, OPTION_ROWS + 1):
    setattr(
        TechniqueForm,
        f"duration_{_n}",
        StringField(f"Length {_n} (minutes)", render_kw={"inputmode": "numeric"}),
    )
    setattr(
        TechniqueForm,
        f"price_{_n}",
        StringField(f"Price {_n} (DKK)", render_kw={"inputmode": "decimal"}),
    )
