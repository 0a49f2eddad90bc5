"""The health screening as data, and the rules from answers to an outcome per technique.

Pure: no Flask, no database. The questions' ids are stable (stored answers and the API use
them); their texts may be reworded. A new wording or rule is a new questionnaire version, so that
stored screenings keep the version they were answered under.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from clinic.text import N_

PressureClass = Literal["deep", "gentle"]
Answer = bool | str

CURRENT_VERSION = 1
MAX_TEXT_LENGTH = 2000


class Outcome(enum.StrEnum):
    """What an answer means for booking a technique; declared from mildest to most severe."""

    CLEAR = "clear"
    CAUTION = "caution"
    NEEDS_REVIEW = "needs_review"
    NEEDS_CLEARANCE = "needs_clearance"
    NOT_NOW = "not_now"
    URGENT = "urgent"

    @property
    def severity(self) -> int:
        return list(Outcome).index(self)

    @property
    def bookable_now(self) -> bool:
        """A booking can be confirmed straight away."""
        return self in (Outcome.CLEAR, Outcome.CAUTION)

    @property
    def waits_for_staff(self) -> bool:
        """A booking can be made but stays pending until an admin decides."""
        return self in (Outcome.NEEDS_REVIEW, Outcome.NEEDS_CLEARANCE)

    @property
    def blocks(self) -> bool:
        return self in (Outcome.NOT_NOW, Outcome.URGENT)


# What each outcome is called on the admin's review page (translated where it is shown).
OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.CLEAR: N_("clear"),
    Outcome.CAUTION: N_("caution"),
    Outcome.NEEDS_REVIEW: N_("needs review"),
    Outcome.NEEDS_CLEARANCE: N_("needs clearance"),
    Outcome.NOT_NOW: N_("not now"),
    Outcome.URGENT: N_("urgent"),
}


def most_severe(outcomes: list[Outcome] | tuple[Outcome, ...]) -> Outcome:
    return max(outcomes, key=lambda o: o.severity, default=Outcome.CLEAR)


class Section(enum.StrEnum):
    RED_FLAGS = "red_flags"
    CONDITIONS = "conditions"
    OTHER = "other"


@dataclass(frozen=True)
class Question:
    id: str
    section: Section
    text: str
    # What a "yes" (or, for text, any text) means for deep-pressure and for gentler techniques.
    deep: Outcome
    gentle: Outcome
    # Why, in plain words, for the client; and what the therapist should keep in mind.
    reason: str
    therapist_note: str = ""
    kind: Literal["yes_no", "text"] = "yes_no"

    def outcome_for(self, pressure: PressureClass) -> Outcome:
        return self.deep if pressure == "deep" else self.gentle


_U, _N, _C, _R, _W = (
    Outcome.URGENT,
    Outcome.NOT_NOW,
    Outcome.NEEDS_CLEARANCE,
    Outcome.NEEDS_REVIEW,
    Outcome.CAUTION,
)

_RED = N_("This can be a sign of a problem that needs a doctor today, not a massage.")

QUESTIONS_V1: tuple[Question, ...] = (
    Question(
        "rf_saddle_numbness",
        Section.RED_FLAGS,
        N_("Do you have numbness in your groin, genitals or buttocks (the area you would sit on)?"),
        _U,
        _U,
        _RED,
    ),
    Question(
        "rf_bladder_bowel",
        Section.RED_FLAGS,
        N_("Have you recently had new trouble controlling your bladder or bowel?"),
        _U,
        _U,
        _RED,
    ),
    Question(
        "rf_leg_weakness",
        Section.RED_FLAGS,
        N_("Is one or both of your legs getting weaker?"),
        _U,
        _U,
        _RED,
    ),
    Question(
        "rf_trauma",
        Section.RED_FLAGS,
        N_("Did your back pain start after a serious fall, an accident or a hard blow?"),
        _U,
        _U,
        N_(
            "Pain after an accident or fall must be checked by a doctor first, "
            "to rule out an injury."
        ),
    ),
    Question(
        "rf_fever_back_pain",
        Section.RED_FLAGS,
        N_("Do you have a fever or feel generally unwell together with the back pain?"),
        _U,
        _U,
        _RED,
    ),
    Question(
        "fever_infection",
        Section.CONDITIONS,
        N_("Do you have a fever, the flu or another acute infection right now?"),
        _N,
        _N,
        N_("Massage can make an infection worse. Book when you have been well for a few days."),
    ),
    Question(
        "contagious_skin",
        Section.CONDITIONS,
        N_(
            "Do you have a contagious skin condition, an open wound or a rash where you want "
            "treatment?"
        ),
        _N,
        _N,
        N_("We cannot treat skin that is broken or contagious. Book when it has healed."),
    ),
    Question(
        "surgery_recent",
        Section.CONDITIONS,
        N_("Have you had surgery in the last 6 weeks?"),
        _N,
        _N,
        N_("The body needs time to heal after surgery. Book when six weeks have passed."),
    ),
    Question(
        "fracture_unhealed",
        Section.CONDITIONS,
        N_("Do you have a broken bone that has not healed yet?"),
        _N,
        _N,
        N_("Massage near a fracture can disturb the healing. Book when it has healed."),
    ),
    Question(
        "disc_herniation",
        Section.CONDITIONS,
        N_("Have you been diagnosed with a disc herniation (a slipped disc)?"),
        _C,
        _C,
        N_("With a disc herniation we need a note from your doctor that massage is safe for you."),
        N_("Diagnosed disc herniation; cleared by a doctor. Avoid direct pressure on the spine."),
    ),
    Question(
        "nerve_compression",
        Section.CONDITIONS,
        N_("Do you have pain, numbness or tingling that runs down into a leg?"),
        _C,
        _C,
        N_(
            "Pain that runs into a leg can come from a pinched nerve; "
            "a doctor should clear you first."
        ),
        N_("Radiating leg pain (possible nerve compression); cleared by a doctor."),
    ),
    Question(
        "severe_degeneration",
        Section.CONDITIONS,
        N_(
            "Have you been diagnosed with severe wear of the spine, spinal stenosis or "
            "spondylolisthesis (a slipped vertebra)?"
        ),
        _C,
        _C,
        N_("With these diagnoses we need your doctor's clearance before treatment."),
        N_("Severe spinal degeneration, stenosis or spondylolisthesis; cleared by a doctor."),
    ),
    Question(
        "blood_clot",
        Section.CONDITIONS,
        N_("Have you had a blood clot (for example in a leg) or do you have a clotting disorder?"),
        _C,
        _C,
        N_("Massage could loosen a clot; your doctor must say it is safe first."),
        N_("History of blood clot or a clotting disorder; cleared by a doctor. No deep leg work."),
    ),
    Question(
        "cancer_treatment",
        Section.CONDITIONS,
        N_("Do you have cancer, or have you been treated for cancer in the last 5 years?"),
        _C,
        _C,
        N_("We ask your doctor or oncology team to confirm that massage is right for you."),
        N_("Cancer, or treatment in the last 5 years; cleared by a doctor."),
    ),
    Question(
        "osteoporosis",
        Section.CONDITIONS,
        N_("Do you have osteoporosis (brittle bones)?"),
        _C,
        _R,
        N_(
            "Firm pressure can hurt brittle bones: deep techniques need your doctor's clearance, "
            "gentle ones a review by our staff."
        ),
        N_("Osteoporosis: light pressure only, no force on ribs or spine."),
    ),
    Question(
        "anticoagulants",
        Section.CONDITIONS,
        N_("Do you take blood-thinning medicine?"),
        _R,
        _W,
        N_(
            "Blood thinners make bruising more likely: deep techniques are reviewed by our staff "
            "first."
        ),
        N_("Takes blood thinners: moderate pressure, watch for bruising."),
    ),
    Question(
        "pregnancy",
        Section.CONDITIONS,
        N_("Are you pregnant?"),
        _R,
        _R,
        N_("During pregnancy our staff check which treatment and position suit you."),
        N_("Pregnant: side-lying position, no deep pressure on the lower back or abdomen."),
    ),
    Question(
        "heart_condition",
        Section.CONDITIONS,
        N_("Do you have a heart condition, or high blood pressure that medicine does not control?"),
        _R,
        _R,
        N_(
            "Our staff review heart conditions and high blood pressure "
            "before a booking is confirmed."
        ),
        N_(
            "Heart condition or uncontrolled blood pressure: keep the session calm, watch for "
            "dizziness."
        ),
    ),
    Question(
        "diabetes_neuropathy",
        Section.CONDITIONS,
        N_("Do you have diabetes with reduced feeling in your skin?"),
        _R,
        _W,
        N_(
            "With reduced feeling you may not notice too much pressure, so deep work is reviewed "
            "first."
        ),
        N_("Diabetes with reduced skin sensation: the client may not feel excess pressure."),
    ),
    Question(
        "recent_injury",
        Section.CONDITIONS,
        N_("Have you strained or sprained a muscle or joint in the last 72 hours?"),
        _R,
        _W,
        N_("A fresh strain needs rest first; deep work on it is reviewed by our staff."),
        N_("Strain or sprain in the last 72 hours: avoid the injured area."),
    ),
    Question(
        "varicose_veins",
        Section.CONDITIONS,
        N_("Do you have varicose veins?"),
        _W,
        _W,
        N_("Fine to book; your therapist will avoid pressure on the veins."),
        N_("Varicose veins: no pressure on the affected veins."),
    ),
    Question(
        "skin_allergy",
        Section.CONDITIONS,
        N_("Are you allergic to oils, lotions or nuts?"),
        _W,
        _W,
        N_("Fine to book; your therapist will use a product that suits you."),
        N_("Allergy to oils, lotions or nuts: use a nut-free, unscented product."),
    ),
    Question(
        "other_conditions",
        Section.OTHER,
        N_("Anything else your therapist should know about your health? (optional)"),
        _R,
        _R,
        N_("Our staff read what you wrote before a booking is confirmed."),
        N_("The client wrote: %(answer)s"),
        kind="text",
    ),
)

QUESTIONNAIRES: dict[int, tuple[Question, ...]] = {1: QUESTIONS_V1}


def questions(version: int = CURRENT_VERSION) -> tuple[Question, ...]:
    """The questions of a questionnaire version, in the order they are asked."""
    try:
        return QUESTIONNAIRES[version]
    except KeyError:
        raise ValueError(f"unknown questionnaire version {version}") from None


def question(question_id: str, version: int = CURRENT_VERSION) -> Question:
    for q in questions(version):
        if q.id == question_id:
            return q
    raise KeyError(question_id)


class InvalidAnswers(ValueError):
    """The answers cannot be evaluated; `problems` maps a question id to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def clean_answers(raw: Mapping[str, object], version: int = CURRENT_VERSION) -> dict[str, Answer]:
    """Check answers against the questionnaire and return them normalised.

    Every yes/no question needs an explicit true or false (a missing answer is not a "no");
    text answers are optional, trimmed, and at most MAX_TEXT_LENGTH characters. Raises
    InvalidAnswers for unknown ids, missing answers and wrong types.
    """
    asked = {q.id: q for q in questions(version)}
    problems: dict[str, str] = {}
    for key in raw:
        if key not in asked:
            problems[str(key)] = N_("not a question of this screening")
    cleaned: dict[str, Answer] = {}
    for q in asked.values():
        value = raw.get(q.id)
        if q.kind == "yes_no":
            if value is None:
                problems[q.id] = N_("answer yes or no")
            elif not isinstance(value, bool):
                problems[q.id] = N_("must be true or false")
            else:
                cleaned[q.id] = value
        else:
            if value is None:
                cleaned[q.id] = ""
            elif not isinstance(value, str):
                problems[q.id] = N_("must be text")
            elif len(value.strip()) > MAX_TEXT_LENGTH:
                problems[q.id] = f"at most {MAX_TEXT_LENGTH} characters"
            else:
                cleaned[q.id] = value.strip()
    if problems:
        raise InvalidAnswers(problems)
    return cleaned


def _triggered(q: Question, answer: Answer | None) -> bool:
    if q.kind == "text":
        return bool(isinstance(answer, str) and answer.strip())
    return answer is True


@dataclass(frozen=True)
class TechniqueOutcome:
    outcome: Outcome
    # The questions that led to it (those at this outcome's severity), in questionnaire order.
    because_of: tuple[str, ...]


def evaluate_one(
    answers: Mapping[str, Answer], pressure: PressureClass, version: int = CURRENT_VERSION
) -> TechniqueOutcome:
    """The outcome for one technique of the given pressure class: the most severe answer wins."""
    hits = [
        (q.id, q.outcome_for(pressure))
        for q in questions(version)
        if _triggered(q, answers.get(q.id))
    ]
    worst = most_severe([o for _, o in hits])
    return TechniqueOutcome(worst, tuple(qid for qid, o in hits if o is worst))


def evaluate(
    answers: Mapping[str, Answer],
    techniques: Mapping[str, PressureClass],
    version: int = CURRENT_VERSION,
) -> dict[str, TechniqueOutcome]:
    """The outcome per technique slug, for techniques given as {slug: pressure class}."""
    return {slug: evaluate_one(answers, pressure, version) for slug, pressure in techniques.items()}


def triggering_answers(
    answers: Mapping[str, Answer], version: int = CURRENT_VERSION
) -> list[tuple[Question, Answer]]:
    """Every answer that moved some technique away from clear, in questionnaire order."""
    return [
        (q, answers[q.id])
        for q in questions(version)
        if q.id in answers and _triggered(q, answers[q.id])
    ]


def therapist_notes(
    answers: Mapping[str, Answer], pressure: PressureClass, version: int = CURRENT_VERSION
) -> list[str]:
    """What a therapist treating with this pressure class needs to know; nothing more."""
    return [
        note % values if values else note
        for note, values in therapist_note_parts(answers, pressure, version)
    ]


def therapist_note_parts(
    answers: Mapping[str, Answer], pressure: PressureClass, version: int = CURRENT_VERSION
) -> list[tuple[str, dict[str, str]]]:
    """The therapist notes as (text to translate, its values): `text % values` is the note."""
    parts: list[tuple[str, dict[str, str]]] = []
    for q in questions(version):
        answer = answers.get(q.id)
        if not _triggered(q, answer) or not q.therapist_note:
            continue
        if q.outcome_for(pressure).blocks:
            continue
        parts.append((q.therapist_note, {"answer": str(answer)} if q.kind == "text" else {}))
    return parts
