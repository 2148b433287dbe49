"""The progress ledger: the orchestrator's assessment of one round.

The field order matters: each judgement asks for the reason before the answer, which is
the order a model should think in.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ledgers.findings import NewFact


class Judgement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str
    answer: bool


class Choice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str
    answer: str


class Speaker(Choice):
    """The next speaker: its own type, so a schema can confine `answer` to the team."""


class ProgressLedger(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    new_facts: tuple[NewFact, ...] = Field(
        default=(),
        description="Facts the latest replies established that the fact sheet does not have "
        "yet, each with its source; empty if none.",
    )
    request_satisfied: Judgement = Field(
        description="Has the original request been fully and verifiably satisfied?"
    )
    in_loop: Judgement = Field(
        description="Is the team repeating the same requests or getting the same replies?"
    )
    progress_made: Judgement = Field(
        description="Did the recent rounds add value (new information, a step completed)?"
    )
    next_speaker: Speaker = Field(description="Which team member should act next.")
    instruction: Choice = Field(
        description="The instruction or question for the next speaker, self-contained."
    )

    def render(self) -> str:
        def mark(j: Judgement) -> str:
            return "yes" if j.answer else "no"

        facts = "".join(f"\nnew fact: {f.fact} ({f.source})" for f in self.new_facts)
        return (
            f"satisfied: {mark(self.request_satisfied)} ({self.request_satisfied.reason})\n"
            f"in loop: {mark(self.in_loop)} ({self.in_loop.reason})\n"
            f"progress: {mark(self.progress_made)} ({self.progress_made.reason})\n"
            f"next: {self.next_speaker.answer} ({self.next_speaker.reason})\n"
            f"instruction: {self.instruction.answer}" + facts
        )
