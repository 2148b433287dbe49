"""Answer extraction and the non-GAIA scorers, including the model-as-judge scorer
driven by the scripted model through the real structured-output ladder."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from orchestrator.evaluation.extraction import Extraction, extract
from orchestrator.evaluation.scoring import (
    JUDGE_PURPOSE,
    ContainsScorer,
    ExactScorer,
    GaiaScorer,
    JudgeScorer,
    NumericScorer,
    RegexScorer,
    ScorerSpec,
    score_text,
    score_with_judge,
    scorer_shorthand,
)
from orchestrator.models.scripted import ScriptedModel, ScriptedReply

GAIA_STYLE = "I looked at the page.\nThe signature says maxsize=128.\nFINAL ANSWER: 128\n"


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("auto", GAIA_STYLE, "128"),
        ("auto", "  just the answer \n", "just the answer"),
        ("auto", "final answer: first\nmore\nFinal Answer:  last one \n", "last one"),
        ("marker", GAIA_STYLE, "128"),
        ("marker", "no marker here", None),
        ({"mode": "marker", "marker": "ANSWER ->"}, "x\nANSWER -> 7 apples", "7 apples"),
        ("last_line", "thinking...\n\n42\n\n", "42"),
        ("last_line", "   \n", None),
        ("whole", "  a\nb  ", "a\nb"),
        ({"mode": "regex", "pattern": r"answer is (\w+)"}, "the answer is x, no, answer is y", "y"),
        ({"mode": "regex", "pattern": r"\d+"}, "between 3 and 5", "5"),
        ({"mode": "regex", "pattern": r"\d+"}, "none", None),
    ],
)
def test_extraction(rule: object, text: str, expected: str | None) -> None:
    assert extract(text, Extraction.model_validate(rule)) == expected


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ("regex", "mode 'regex' needs a 'pattern'"),
        ({"mode": "regex", "pattern": "(unclosed"}, "invalid regular expression"),
        ("first_line", "Input should be 'auto', 'marker', 'last_line', 'whole' or 'regex'"),
    ],
)
def test_bad_extraction_rules_are_rejected(rule: object, error: str) -> None:
    with pytest.raises(ValidationError, match=error.replace("(", r"\(")):
        Extraction.model_validate(rule)


SPEC: TypeAdapter[ScorerSpec] = TypeAdapter(ScorerSpec)


def spec(value: object) -> ScorerSpec:
    return SPEC.validate_python(scorer_shorthand(value))


@pytest.mark.parametrize(
    ("scorer", "answer", "expected", "correct"),
    [
        ("gaia", "b; e; d; a", "b, e, d, a", True),
        ("exact", "3.11.2", "3.11.2", True),
        ("exact", " 3.11.2\n", "3.11.2", True),
        ("exact", "Python 3.11.2", "3.11.2", False),
        ("exact", "none", "None", False),  # case-sensitive by default
        ({"kind": "exact", "case_sensitive": False}, "none", "None", True),
        ("contains", "Canon PowerShot SX530 HS", "powershot sx530", True),
        ("contains", "Canon EOS", "PowerShot", False),
        ({"kind": "contains", "case_sensitive": True}, "canon powershot", "PowerShot", False),
        ("regex", "Status 418 (RFC 2324)", r"\b418\b.*2324", True),
        ("regex", "Status 4180", r"\b418\b", False),
        ({"kind": "regex", "fullmatch": True}, "418 and more", r"\d+", False),
        ({"kind": "regex", "fullmatch": True}, " 418 ", r"\d+", True),
        ({"kind": "numeric", "abs_tol": 0.00005}, "The mean is 0.1895.", "0.1895", True),
        ({"kind": "numeric", "abs_tol": 0.005}, "about 30.651", "30.65", True),
        ({"kind": "numeric", "abs_tol": 0.005}, "30.66", "30.65", False),
        ({"kind": "numeric", "rel_tol": 0.01}, "$1,010", "1000", True),
        ({"kind": "numeric", "rel_tol": 0.01}, "$1,011", "1000", False),
        ("numeric", "-7", "-7", True),
        ("numeric", "between 3 and 5", "5", False),  # two numbers: ambiguous, wrong
        ("numeric", "no idea", "5", False),
    ],
)
def test_text_scorers(scorer: object, answer: str, expected: str, correct: bool) -> None:
    assert score_text(spec(scorer), answer, expected).correct is correct


def test_every_scorer_misses_when_nothing_was_extracted() -> None:
    for kind in (ExactScorer(), ContainsScorer(), RegexScorer(), NumericScorer()):
        score = score_text(kind, None, "x" if kind.kind != "numeric" else "1")
        assert not score.correct
        assert score.detail == "no answer could be extracted"
    assert not score_text(GaiaScorer(), None, "x").correct


def test_gaia_scores_no_answer_as_its_reference_does_the_string_none() -> None:
    assert score_text(GaiaScorer(), None, "None").correct
    assert score_text(GaiaScorer(), None, "none").correct
    assert not score_text(GaiaScorer(), None, "0").correct


@pytest.mark.parametrize(
    ("said", "extracted"),
    [
        ("**FINAL ANSWER:** 17", "17"),
        ("Reasoning...\nFINAL ANSWER: [17]", "17"),
        ("Final Answer: **Paris**", "Paris"),
        ("**FINAL ANSWER**: 3", "3"),
        ("FINAL ANSWER: [1, 2]", "[1, 2]"),
        ("FINAL ANSWER: `x`", "x"),
    ],
)
def test_usual_final_answer_shapes_are_extracted(said: str, extracted: str) -> None:
    from orchestrator.evaluation.extraction import Extraction, extract

    assert extract(said, Extraction()) == extracted


def test_the_numeric_scorer_says_why_it_failed() -> None:
    score = score_text(NumericScorer(), "between 3 and 5", "5")
    assert score.detail == "numeric: expected one number in the answer, found 2"


def judge_model(*replies: dict[str, object]) -> ScriptedModel:
    return ScriptedModel({JUDGE_PURPOSE: [ScriptedReply.model_validate(r) for r in replies]})


async def test_the_judge_asks_the_model_and_uses_its_verdict() -> None:
    model = judge_model({"json": {"reason": "Same code and RFC.", "correct": True}})
    score = await score_with_judge(
        JudgeScorer(), "Status 418, from RFC 2324", "418, RFC 2324", "Which code?", model
    )
    assert score.correct
    assert score.detail == "judge: Same code and RFC."
    (request,) = model.requests
    assert request.purpose == JUDGE_PURPOSE
    prompt = request.messages[-1].content
    assert "Which code?" in prompt
    assert "418, RFC 2324" in prompt
    assert "Status 418, from RFC 2324" in prompt


async def test_an_invalid_verdict_is_fed_back_and_retried() -> None:
    model = judge_model(
        {"json": {"correct": "maybe"}},
        {"json": {"reason": "Different RFC.", "correct": False}},
    )
    score = await score_with_judge(JudgeScorer(), "418, RFC 7231", "418, RFC 2324", "t", model)
    assert not score.correct
    assert score.detail == "judge: Different RFC."
    assert len(model.requests) == 2
    assert "could not be used" in model.requests[1].messages[-1].content


async def test_a_judge_that_fails_is_a_miss_with_the_reason() -> None:
    score = await score_with_judge(JudgeScorer(), "x", "y", "t", judge_model())
    assert not score.correct
    assert score.detail.startswith("judge failed: the scripted model ran out of replies")
    missing = await score_with_judge(JudgeScorer(), "x", "y", "t", None)
    assert not missing.correct
    assert "no judge model" in missing.detail
