"""What the clinic offers: techniques with their durations and prices, therapists, rooms."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.extensions import db

if TYPE_CHECKING:
    from clinic.scheduling.models import WorkingHours


class Pressure(enum.StrEnum):
    """Which column of the screening's outcome table applies to a technique."""

    DEEP = "deep"
    GENTLE = "gentle"


# The texts of a technique that are translated: the columns hold English, `translations` the
# other languages ({"da": {"name": ..., ...}}); a text not translated shows in English.
TRANSLATED = ("name", "summary", "description", "helps_with", "not_suitable_for")


def _shown_locale() -> str | None:
    from flask_babel import get_locale

    locale = get_locale()  # None outside the app (a pure test): English
    return locale.language if locale is not None else None


def _translated(field: str) -> hybrid_property:
    """A TRANSLATED text as an attribute: read in the request's language (Technique.text),
    written to the English column, and the English column in queries."""

    def read(self: Technique) -> str:
        return self.text(field)

    def write(self: Technique, value: str) -> None:
        setattr(self, f"{field}_en", value)

    def column(cls: type[Technique]) -> Any:
        return getattr(cls, f"{field}_en")

    return hybrid_property(read, write, expr=column)


class Technique(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column("name", String(120))
    summary_en: Mapped[str] = mapped_column("summary", String(300))
    # Plain text; blank lines separate paragraphs, lines in the two lists separate items.
    description_en: Mapped[str] = mapped_column("description", Text)
    helps_with_en: Mapped[str] = mapped_column("helps_with", Text, default="")
    not_suitable_for_en: Mapped[str] = mapped_column("not_suitable_for", Text, default="")
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    pressure: Mapped[Pressure] = mapped_column(
        Enum(Pressure, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    options: Mapped[list[TechniqueOption]] = relationship(
        back_populates="technique",
        order_by="TechniqueOption.duration_minutes",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<Technique {self.slug}>"

    def text(self, field: str, locale: str | None = None) -> str:
        """One of the TRANSLATED texts in `locale` (default: the request's), else in English."""
        locale = locale or _shown_locale()
        english = getattr(self, f"{field}_en")
        if not locale or locale == "en":
            return english
        return (self.translations or {}).get(locale, {}).get(field) or english

    def set_text(self, field: str, locale: str, value: str) -> None:
        """Store a translated text (English goes in its column); a blank one is removed."""
        if locale == "en":
            setattr(self, f"{field}_en", value)
            return
        translations = {k: dict(v) for k, v in (self.translations or {}).items()}
        texts = translations.setdefault(locale, {})
        if value.strip():
            texts[field] = value
        else:
            texts.pop(field, None)
        self.translations = translations  # a new dict, so that the change is saved

    # Read in the request's language, written in English, queried on the English column.
    name = _translated("name")
    summary = _translated("summary")
    description = _translated("description")
    helps_with = _translated("helps_with")
    not_suitable_for = _translated("not_suitable_for")

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.description.split("\n\n") if p.strip()]

    @property
    def helps_with_items(self) -> list[str]:
        return [line.strip() for line in self.helps_with.splitlines() if line.strip()]

    @property
    def not_suitable_items(self) -> list[str]:
        return [line.strip() for line in self.not_suitable_for.splitlines() if line.strip()]


class TechniqueOption(db.Model):
    """One bookable length of a technique and its price."""

    __table_args__ = (
        UniqueConstraint("technique_id", "duration_minutes"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technique_id: Mapped[int] = mapped_column(ForeignKey("technique.id", ondelete="CASCADE"))
    duration_minutes: Mapped[int]
    # In the currency's minor unit (øre for DKK), so sums are exact.
    price_minor: Mapped[int]

    technique: Mapped[Technique] = relationship(back_populates="options")

    def __repr__(self) -> str:
        return f"<TechniqueOption {self.technique_id} {self.duration_minutes} min>"


class Therapist(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship()
    certifications: Mapped[list[Certification]] = relationship(
        back_populates="therapist",
        order_by="Certification.valid_until.desc()",
        cascade="all, delete-orphan",
    )

    working_hours: Mapped[list[WorkingHours]] = relationship(
        order_by="(WorkingHours.weekday, WorkingHours.start_time)",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<Therapist {self.id} user={self.user_id}>"

    @property
    def name(self) -> str:
        return self.user.name

    def is_certified_for(self, technique: Technique, on: date) -> bool:
        return any(
            c.technique_id == technique.id and c.is_valid_on(on) for c in self.certifications
        )


class Certification(db.Model):
    """A therapist's certificate for one technique, valid for a range of days (inclusive)."""

    __table_args__ = (CheckConstraint("valid_from <= valid_until", name="valid_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), index=True
    )
    technique_id: Mapped[int] = mapped_column(ForeignKey("technique.id"), index=True)
    body: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(64), default="")
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    document_ref: Mapped[str] = mapped_column(String(300), default="")

    therapist: Mapped[Therapist] = relationship(back_populates="certifications")
    technique: Mapped[Technique] = relationship()

    def __repr__(self) -> str:
        return f"<Certification {self.therapist_id} {self.technique_id} until {self.valid_until}>"

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


class Room(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Room {self.name}>"
