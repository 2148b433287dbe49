"""Stall detection: the model judges; evidence in code is a hint, and a check.

Every round is checked for the concrete signs of a loop: the same instruction to the same
specialist, the same observation coming back, the same error again. Those signs go to the
model as hints in the progress prompt, but on their own they are no verdict: the same
page can rightly answer different questions, and "next page" can rightly be asked twice.
A round stalls when the model says so (in a loop, or no progress) or when code evidence
comes together with a reply repeated word for word, which no amount of optimism
explains. Enough stalls trigger a replan (decided by the caller).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledgers.progress_ledger import ProgressLedger


def reply_digest(text: str) -> str:
    """A reply's text reduced to what "the same reply again" compares."""
    return hashlib.sha256(_norm(text).encode()).hexdigest()[:16]


class Turn(BaseModel):
    """One delegation and what came back, reduced to what stall rules compare."""

    model_config = ConfigDict(frozen=True)

    speaker: str
    instruction: str
    observation: str = Field(description="Fingerprint of the reply, e.g. URL + page hash.")
    error: str | None = None
    reply: str = Field(default="", description="`reply_digest` of the reply's text.")


class StallRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    window: int = Field(default=6, ge=1, description="How many recent turns evidence looks at.")
    on_progress: Literal["decrement", "reset"] = Field(
        default="decrement", description="What a round with progress does to the stall count."
    )


class StallState(BaseModel):
    model_config = ConfigDict(frozen=True)

    count: int = 0
    recent: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class StallVerdict:
    stalled: bool
    reasons: tuple[str, ...]
    hints: tuple[str, ...] = ()  # code evidence that did not make this round a stall


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def signals(recent: Sequence[Turn]) -> list[str]:
    """Signs of a loop in the turns so far: shown to the model as hints."""
    reasons: list[str] = []
    if recent:
        last, earlier = recent[-1], recent[:-1]
        if any(t.speaker == last.speaker and t.observation == last.observation for t in earlier):
            reasons.append(f"{last.speaker} returned an observation identical to an earlier one")
        if last.error and any(t.error == last.error for t in earlier):
            reasons.append(f"the same error came back again: {last.error[:200]}")
    return reasons


def evidence(speaker: str, instruction: str, recent: Sequence[Turn]) -> list[str]:
    """Signs of a loop in code, for the delegation about to be made."""
    reasons: list[str] = []
    key = (speaker, _norm(instruction))
    if any((t.speaker, _norm(t.instruction)) == key for t in recent):
        reasons.append(f"the same instruction was already given to {speaker}")
    return reasons + signals(recent)


def repeated_reply(recent: Sequence[Turn]) -> bool:
    """The latest reply repeats an earlier reply of the same speaker word for word."""
    if not recent or not recent[-1].reply:
        return False
    last = recent[-1]
    return any(t.speaker == last.speaker and t.reply == last.reply for t in recent[:-1])


def judge(
    state: StallState,
    rules: StallRules,
    ledger: ProgressLedger | None,
    *,
    unusable_reason: str | None = None,
) -> tuple[StallState, StallVerdict]:
    """Assess one round. `ledger` is None when the progress ledger could not be obtained."""
    reasons: list[str] = []
    hints: list[str] = []
    if ledger is None:
        reasons.append(f"no usable progress ledger: {unusable_reason or 'unknown error'}")
    else:
        if ledger.in_loop.answer:
            reasons.append(
                f"the orchestrator judged the team to be in a loop: {ledger.in_loop.reason}"
            )
        if not ledger.progress_made.answer:
            reasons.append(f"the orchestrator saw no progress: {ledger.progress_made.reason}")
        code = evidence(ledger.next_speaker.answer, ledger.instruction.answer, state.recent)
        if code and (reasons or repeated_reply(state.recent)):
            if not reasons:
                code.append(
                    f"{state.recent[-1].speaker}'s reply repeats an earlier one word for word"
                )
            reasons += code
        else:
            hints = code
    stalled = bool(reasons)
    if stalled:
        count = state.count + 1
    elif rules.on_progress == "reset":
        count = 0
    else:
        count = max(0, state.count - 1)
    verdict = StallVerdict(stalled, tuple(reasons), tuple(hints))
    return state.model_copy(update={"count": count}), verdict


def record(state: StallState, rules: StallRules, turn: Turn) -> StallState:
    """Remember a completed turn, keeping only the evidence window."""
    recent = (*state.recent, turn)[-rules.window :]
    return state.model_copy(update={"recent": recent})


def reset() -> StallState:
    """The state after a replan: a fresh count and no evidence from the old plan."""
    return StallState()


def should_replan(state: StallState, max_stalls: int) -> bool:
    return state.count >= max_stalls
