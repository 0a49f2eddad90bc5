"""The contraindication rules: every row of DESIGN.md's table, severity, validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.screening.rules import (
    CURRENT_VERSION,
    InvalidAnswers,
    Outcome,
    Section,
    clean_answers,
    evaluate,
    evaluate_one,
    most_severe,
    questions,
    therapist_notes,
    triggering_answers,
)

U, N, C, R, W = "urgent", "not_now", "needs_clearance", "needs_review", "caution"

# DESIGN.md's outcome table, copied by hand so that a change to the rules must change it too:
# question id -> (deep-pressure techniques, gentler techniques).
DESIGN_TABLE = {
    "rf_saddle_numbness": (U, U),
    "rf_bladder_bowel": (U, U),
    "rf_leg_weakness": (U, U),
    "rf_trauma": (U, U),
    "rf_fever_back_pain": (U, U),
    "fever_infection": (N, N),
    "contagious_skin": (N, N),
    "surgery_recent": (N, N),
    "fracture_unhealed": (N, N),
    "disc_herniation": (C, C),
    "nerve_compression": (C, C),
    "severe_degeneration": (C, C),
    "blood_clot": (C, C),
    "cancer_treatment": (C, C),
    "osteoporosis": (C, R),
    "anticoagulants": (R, W),
    "pregnancy": (R, R),
    "heart_condition": (R, R),
    "diabetes_neuropathy": (R, W),
    "recent_injury": (R, W),
    "varicose_veins": (W, W),
    "skin_allergy": (W, W),
    "other_conditions": (R, R),  # when filled in
}

DEMO_TECHNIQUES = {
    "sports-massage": "deep",
    "deep-tissue-massage": "deep",
    "trigger-point-therapy": "deep",
    "myofascial-release": "gentle",
    "classic-massage": "gentle",
}

YES_NO_IDS = [q.id for q in questions() if q.kind == "yes_no"]


def all_no() -> dict[str, bool | str]:
    return {q.id: (False if q.kind == "yes_no" else "") for q in questions()}


def test_the_questionnaire_is_the_design_table_in_order():
    assert [q.id for q in questions()] == list(DESIGN_TABLE)
    sections = [q.section for q in questions()]
    # Red flags first, then the conditions, then free text.
    assert sections == sorted(
        sections, key=[Section.RED_FLAGS, Section.CONDITIONS, Section.OTHER].index
    )
    assert all(q.id.startswith("rf_") == (q.section is Section.RED_FLAGS) for q in questions())


@pytest.mark.parametrize(("question_id", "expected"), DESIGN_TABLE.items())
def test_each_row_alone(question_id, expected):
    answers = all_no()
    answers[question_id] = (
        "I also have a stiff neck." if question_id == "other_conditions" else True
    )
    result = evaluate(answers, DEMO_TECHNIQUES)
    deep, gentle = expected
    for slug, pressure in DEMO_TECHNIQUES.items():
        assert result[slug].outcome == (deep if pressure == "deep" else gentle), slug
        assert result[slug].because_of == (question_id,)


def test_all_no_is_clear_everywhere():
    result = evaluate(all_no(), DEMO_TECHNIQUES)
    assert {r.outcome for r in result.values()} == {Outcome.CLEAR}
    assert all(r.because_of == () for r in result.values())


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_blank_free_text_does_not_count(blank):
    answers = {**all_no(), "other_conditions": blank}
    assert evaluate_one(clean_answers(answers), "deep").outcome is Outcome.CLEAR


def test_most_severe_wins_and_names_only_its_causes():
    answers = {**all_no(), "varicose_veins": True, "anticoagulants": True, "disc_herniation": True}
    deep = evaluate_one(answers, "deep")
    assert deep.outcome is Outcome.NEEDS_CLEARANCE and deep.because_of == ("disc_herniation",)
    answers["rf_trauma"] = True
    assert evaluate_one(answers, "gentle").outcome is Outcome.URGENT


def test_outcome_order():
    order = [Outcome.CLEAR, Outcome.CAUTION, Outcome.NEEDS_REVIEW, Outcome.NEEDS_CLEARANCE]
    order += [Outcome.NOT_NOW, Outcome.URGENT]
    assert sorted(Outcome, key=lambda o: o.severity) == order
    assert most_severe([Outcome.CAUTION, Outcome.NOT_NOW, Outcome.NEEDS_REVIEW]) is Outcome.NOT_NOW
    assert most_severe([]) is Outcome.CLEAR


@pytest.mark.parametrize(
    ("change", "problem_id", "message"),
    [
        ({"surprise": True}, "surprise", "not a question"),  # unknown id
        ({"pregnancy": "yes"}, "pregnancy", "true or false"),  # a string for yes/no
        ({"pregnancy": 1}, "pregnancy", "true or false"),  # a number for yes/no
        ({"pregnancy": None}, "pregnancy", "answer yes or no"),  # missing
        ({"other_conditions": True}, "other_conditions", "must be text"),  # bool for text
        ({"other_conditions": "x" * 2001}, "other_conditions", "at most"),  # too long
    ],
)
def test_bad_answers_are_refused_with_the_question_named(change, problem_id, message):
    answers = {**all_no(), **change}
    if change.get(problem_id, 0) is None:
        del answers[problem_id]
    with pytest.raises(InvalidAnswers) as caught:
        clean_answers(answers)
    assert message in caught.value.problems[problem_id]


def test_clean_answers_trims_text_and_fills_missing_text():
    answers = all_no()
    del answers["other_conditions"]
    assert clean_answers(answers)["other_conditions"] == ""
    answers["other_conditions"] = "  tender left shoulder  "
    assert clean_answers(answers)["other_conditions"] == "tender left shoulder"


def test_unknown_version_is_refused():
    with pytest.raises(ValueError, match="unknown questionnaire version"):
        questions(CURRENT_VERSION + 99)


def test_a_new_technique_is_judged_by_its_pressure_class():
    answers = {**all_no(), "anticoagulants": True}
    result = evaluate(answers, {"hot-stone-massage": "gentle", "cupping": "deep"})
    assert result["hot-stone-massage"].outcome is Outcome.CAUTION
    assert result["cupping"].outcome is Outcome.NEEDS_REVIEW


answer_sets = st.fixed_dictionaries(
    {qid: st.booleans() for qid in YES_NO_IDS}
    | {"other_conditions": st.sampled_from(["", "  ", "sore knee", "pacemaker"])}
)


@given(answer_sets, st.sampled_from(["deep", "gentle"]))
def test_never_milder_than_any_single_yes(answers, pressure):
    combined = evaluate_one(answers, pressure).outcome
    for q in questions():
        value = answers[q.id]
        if value is True or (isinstance(value, str) and value.strip()):
            alone = {**all_no(), q.id: value}
            assert combined.severity >= evaluate_one(alone, pressure).outcome.severity


@given(answer_sets)
def test_deep_is_never_milder_than_gentle(answers):
    assert evaluate_one(answers, "deep").outcome.severity >= (
        evaluate_one(answers, "gentle").outcome.severity
    )


@given(answer_sets, st.sampled_from(["deep", "gentle"]))
def test_the_named_causes_each_give_the_outcome_alone(answers, pressure):
    result = evaluate_one(answers, pressure)
    for question_id in result.because_of:
        alone = {**all_no(), question_id: answers[question_id]}
        assert evaluate_one(alone, pressure).outcome is result.outcome


def test_triggering_answers_lists_only_what_moved_something():
    answers = {**all_no(), "pregnancy": True, "other_conditions": "tired"}
    assert [(q.id, a) for q, a in triggering_answers(answers)] == [
        ("pregnancy", True),
        ("other_conditions", "tired"),
    ]


def test_therapist_notes_are_only_what_matters_for_the_pressure_class():
    answers = {**all_no(), "anticoagulants": True, "varicose_veins": True, "other_conditions": "x"}
    gentle = therapist_notes(answers, "gentle")
    assert any("blood thinners" in n for n in gentle)
    assert any("Varicose" in n for n in gentle)
    assert gentle[-1] == "The client wrote: x"
    # A "no" never shows up, and nothing names an answered question the therapist need not know.
    assert not any("Pregnant" in n for n in gentle)
    assert therapist_notes(all_no(), "deep") == []
