"""The technique form: what the public page says, the pressure class, and its lengths and prices.

Lengths and prices are OPTION_ROWS pairs of fields (`duration_N`, `price_N`); blank rows are
ignored, so an option is removed by clearing its row. The public texts are written in English,
each with an optional Danish version (`name_da`, ...): a blank one shows the English.
"""

from __future__ import annotations

import re
from typing import Any

from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    Field,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from clinic.catalog.models import TRANSLATED, Pressure, Technique
from clinic.catalog.pricing import PriceError, parse_price, price_input
from clinic.catalog.techniques import TechniqueData
from clinic.extensions import db
from clinic.i18n import current_locale
from clinic.numbers import whole_number
from clinic.screening.models import Screening, ScreeningOutcome

OPTION_ROWS = 6
# Every length is a whole number of the booking's five-minute claim blocks (booking/models.py).
DURATION_STEP = 5
MAX_DURATION = 240
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class TechniqueForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the technique a name.")), Length(max=120)]
    )
    slug = StringField(
        _l("Address name (slug)"),
        validators=[
            DataRequired(_l("Give an address name, like deep-tissue-massage.")),
            Length(max=64),
        ],
        description=_l(
            "Lower-case letters, digits and single hyphens; used in the page address "
            "/techniques/<slug> and by the API. Changing it breaks links others have saved."
        ),
    )
    summary = StringField(
        _l("Summary"),
        validators=[
            DataRequired(_l("Write one sentence for the list of techniques.")),
            Length(max=300),
        ],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(_l("Describe the technique.")), Length(max=8000)],
        description=_l("Plain text; a blank line starts a new paragraph."),
        render_kw={"rows": 6},
    )
    helps_with = TextAreaField(
        _l("Helps with"),
        validators=[Length(max=4000)],
        description=_l("One item a line."),
        render_kw={"rows": 4},
    )
    not_suitable_for = TextAreaField(
        _l("Not suitable for"),
        validators=[Length(max=4000)],
        description=_l("One item a line."),
        render_kw={"rows": 4},
    )
    pressure = RadioField(
        _l("Contraindication class"),
        choices=[
            SelectChoice(Pressure.DEEP.value, _l("Deep pressure")),
            SelectChoice(Pressure.GENTLE.value, _l("Gentle")),
        ],
        validators=[InputRequired(_l("Choose deep pressure or gentle."))],
        description=_l(
            "Which column of the health screening's rules applies. It cannot change "
            "once current screenings were judged for the technique."
        ),
    )
    active = BooleanField(
        _l("Offered (bookable and shown on the public pages)"),
        default=True,
    )
    # The Danish versions of the public texts; blank shows the English.
    name_da = StringField(_l("Name in Danish"), validators=[Length(max=120)])
    summary_da = StringField(_l("Summary in Danish"), validators=[Length(max=300)])
    description_da = TextAreaField(
        _l("Description in Danish"),
        validators=[Length(max=8000)],
        description=_l("Plain text; a blank line starts a new paragraph."),
        render_kw={"rows": 6},
    )
    helps_with_da = TextAreaField(
        _l("Helps with, in Danish"),
        validators=[Length(max=4000)],
        description=_l("One item a line."),
        render_kw={"rows": 4},
    )
    not_suitable_for_da = TextAreaField(
        _l("Not suitable for, in Danish"),
        validators=[Length(max=4000)],
        description=_l("One item a line."),
        render_kw={"rows": 4},
    )
    submit = SubmitField(_l("Save technique"))

    def __init__(self, *args: Any, technique: Technique | None = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=technique, **kwargs)
        self._technique = technique
        if technique is not None:
            # The texts as stored (English in its field, whatever language the admin reads the
            # page in); a form sent without a field leaves that text as it is.
            danish = (technique.translations or {}).get("da", {})
            for name in TRANSLATED:
                if not self[name].raw_data:
                    self[name].data = technique.text(name, "en")
                if not self[f"{name}_da"].raw_data:
                    self[f"{name}_da"].data = danish.get(name, "")
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
                _("Use lower-case letters, digits and single hyphens, like deep-tissue-massage.")
            )
        field.data = slug
        taken = select(Technique.id).where(func.lower(Technique.slug) == slug)
        if self._technique is not None:
            taken = taken.where(Technique.id != self._technique.id)
        if db.session.scalar(taken.limit(1)) is not None:
            raise ValidationError(_("Another technique already uses this address name."))

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
            pressure = {Pressure.DEEP: _("deep"), Pressure.GENTLE: _("gentle")}
            raise ValidationError(
                ngettext(
                    "%(num)d current screening was judged for this technique as %(pressure)s; "
                    "their outcomes would no longer fit. Add a new technique with the other "
                    "class and stop offering this one.",
                    "%(num)d current screenings were judged for this technique as %(pressure)s; "
                    "their outcomes would no longer fit. Add a new technique with the other "
                    "class and stop offering this one.",
                    judged,
                    pressure=pressure[self._technique.pressure],
                )
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
            self.duration_1.errors.append(_("Give at least one length with its price."))
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
            danish={name: (self[f"{name}_da"].data or "").strip() for name in TRANSLATED},
        )


def _minutes(field: Field, text: str, seen: dict[int, int], row: int) -> int | None:
    if not text:
        field.errors.append(_("Give the length in minutes, or clear the price too."))
        return None
    minutes = whole_number(text)
    if minutes is None or not 0 < minutes <= MAX_DURATION:
        field.errors.append(
            _("Enter whole minutes from %(low)d to %(high)d.", low=DURATION_STEP, high=MAX_DURATION)
        )
        return None
    if minutes % DURATION_STEP:
        field.errors.append(
            _("Use a multiple of %(step)d minutes, like 30, 45 or 60.", step=DURATION_STEP)
        )
        return None
    if minutes in seen:
        field.errors.append(
            _("Row %(row)d already has %(num)d minutes.", row=seen[minutes], num=minutes)
        )
        return None
    return minutes


def _price(field: Field, text: str) -> int | None:
    if not text:
        field.errors.append(_("Give the price, or clear the length too."))
        return None
    try:
        return parse_price(text)
    except PriceError as exc:
        numbers = {k: format_decimal(v, locale=current_locale()) for k, v in exc.values.items()}
        field.errors.append(_(exc.message, **numbers))
        return None


for _n in range(1, OPTION_ROWS + 1):
    setattr(
        TechniqueForm,
        f"duration_{_n}",
        StringField(_l("Length %(num)d (minutes)", num=_n), render_kw={"inputmode": "numeric"}),
    )
    setattr(
        TechniqueForm,
        f"price_{_n}",
        StringField(_l("Price %(num)d (DKK)", num=_n), render_kw={"inputmode": "decimal"}),
    )
