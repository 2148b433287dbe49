"""Scorers: is the system's (extracted) answer right?

Every scorer is named in a suite as `scorer: gaia` or as a mapping with `kind:` and its
options. All are pure functions of (answer, expected) except `judge`, which asks a model
(purpose `eval.judge`) through the structured-output ladder and is therefore async.

- `gaia`: GAIA's official rules (`gaia.question_scorer`), the default.
- `exact`: equal after stripping; `case_sensitive` (default true).
- `contains`: the expected text occurs in the answer; `case_sensitive` (default false).
- `regex`: `expected` is a regular expression searched in the answer (`fullmatch` to
  anchor it); `case_sensitive` (default false).
- `numeric`: the answer's one number (after dropping `$`, `%`, `,`) is within `abs_tol` or
  `rel_tol` of the expected number.
- `judge`: a model compares the answer with the expected one, given the task.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.evaluation import gaia
from specialists.models import structured
from specialists.models.protocol import Message, ModelClient, ModelError

JUDGE_PURPOSE = "eval.judge"
_Strict = ConfigDict(frozen=True, extra="forbid")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class GaiaScorer(BaseModel):
    model_config = _Strict
    kind: Literal["gaia"] = "gaia"


class ExactScorer(BaseModel):
    model_config = _Strict
    kind: Literal["exact"] = "exact"
    case_sensitive: bool = True


class ContainsScorer(BaseModel):
    model_config = _Strict
    kind: Literal["contains"] = "contains"
    case_sensitive: bool = False


class RegexScorer(BaseModel):
    model_config = _Strict
    kind: Literal["regex"] = "regex"
    case_sensitive: bool = False
    fullmatch: bool = False


class NumericScorer(BaseModel):
    model_config = _Strict
    kind: Literal["numeric"] = "numeric"
    abs_tol: float = Field(default=0.0, ge=0)
    rel_tol: float = Field(default=1e-9, ge=0)


class JudgeScorer(BaseModel):
    model_config = _Strict
    kind: Literal["judge"] = "judge"
    instructions: str = Field(
        default="", description="Extra guidance for the judge, e.g. what may differ."
    )


ScorerSpec = Annotated[
    GaiaScorer | ExactScorer | ContainsScorer | RegexScorer | NumericScorer | JudgeScorer,
    Field(discriminator="kind"),
]


def scorer_shorthand(value: Any) -> Any:
    """`scorer: gaia` means `scorer: {kind: gaia}`."""
    return {"kind": value} if isinstance(value, str) else value


@dataclass(frozen=True)
class Score:
    correct: bool
    detail: str


class Verdict(BaseModel):
    """What the judge model must return."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(description="One or two sentences: why the answer is or is not right.")
    correct: bool


def score_text(spec: ScorerSpec, answer: str | None, expected: str) -> Score:
    """Score with any scorer but `judge` (use `score_with_judge` for that)."""
    if answer is None and isinstance(spec, GaiaScorer):
        answer = "None"  # GAIA's reference scorer compares str(None)
    if answer is None:
        return Score(False, "no answer could be extracted")
    if isinstance(spec, GaiaScorer):
        ok = gaia.question_scorer(answer, expected)
        return Score(ok, f"gaia ({gaia.question_type(expected)} rule)")
    if isinstance(spec, ExactScorer):
        a, e = answer.strip(), expected.strip()
        same = a == e if spec.case_sensitive else a.casefold() == e.casefold()
        return Score(same, "exact")
    if isinstance(spec, ContainsScorer):
        found = (
            expected in answer if spec.case_sensitive else expected.casefold() in answer.casefold()
        )
        return Score(found, "contains")
    if isinstance(spec, RegexScorer):
        flags = 0 if spec.case_sensitive else re.IGNORECASE
        match = (re.fullmatch if spec.fullmatch else re.search)(expected, answer.strip(), flags)
        return Score(match is not None, "regex")
    if isinstance(spec, NumericScorer):
        return _numeric(spec, answer, expected)
    raise TypeError(f"{spec.kind} needs a model: use score_with_judge")


def _numeric(spec: NumericScorer, answer: str, expected: str) -> Score:
    cleaned = re.sub(r"[$%,\s]", "", answer)
    numbers = _NUMBER.findall(cleaned) if not gaia.is_float(cleaned) else [cleaned]
    if len(numbers) != 1:
        return Score(False, f"numeric: expected one number in the answer, found {len(numbers)}")
    value = float(numbers[0])
    target = float(expected)
    ok = math.isclose(value, target, rel_tol=spec.rel_tol, abs_tol=spec.abs_tol)
    return Score(ok, f"numeric: {value:g} vs {target:g}")


async def score_with_judge(
    spec: JudgeScorer, answer: str | None, expected: str, task: str, model: ModelClient | None
) -> Score:
    if answer is None:
        return Score(False, "no answer could be extracted")
    if model is None:
        return Score(False, "judge: no judge model (give --judge-model, or script eval.judge)")
    messages = [
        Message.system(
            "You grade answers to tasks. Compare the candidate answer with the reference "
            "answer: it is correct if it states the same result, whatever the wording or "
            "formatting; partial or hedged answers are not correct. " + spec.instructions
        ),
        Message.user(
            f"Task:\n{task}\n\nReference answer:\n{expected}\n\nCandidate answer:\n{answer}\n\n"
            'Reply with JSON: {"reason": "...", "correct": true|false}'
        ),
    ]
    try:
        verdict = await structured.generate(
            model, purpose=JUDGE_PURPOSE, messages=messages, schema=Verdict
        )
    except ModelError as exc:
        return Score(False, f"judge failed: {exc}")
    return Score(verdict.correct, f"judge: {verdict.reason}")
