"""The final answer: what the model drafts, and the rule that sets the run's status.

The status is decided in code, not by the model alone: a run stopped by a limit can at
best produce a best guess, however confident the model sounds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledgers.budget import FinalStatus, StopReason


class FinalDraft(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    answer: str = Field(description="The answer, in the form the task asks for.")
    evidence: list[str] = Field(description="Facts from the conversation that support it.")
    confidence: Literal["certain", "best_guess", "none"]


def decide_status(stop: StopReason, draft: FinalDraft | None) -> FinalStatus:
    if draft is None or draft.confidence == "none" or not draft.answer.strip():
        return FinalStatus.FAILED
    if stop is StopReason.SATISFIED and draft.confidence == "certain":
        return FinalStatus.SOLVED
    return FinalStatus.BEST_GUESS
