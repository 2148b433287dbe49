"""The task ledger: what we know (four kinds of facts) and what we mean to do (a plan).

Every replan produces a new ledger; the superseded facts and plan are kept as revisions
so a reader can see how the team's understanding changed and why.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Facts(BaseModel):
    """The fact sheet, in the four kinds the orchestrator reasons with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given: tuple[str, ...] = Field(
        default_factory=tuple, description="Facts stated in the request or already verified."
    )
    to_look_up: tuple[str, ...] = Field(
        default_factory=tuple, description="Facts that must be looked up (web, files)."
    )
    to_derive: tuple[str, ...] = Field(
        default_factory=tuple, description="Facts to derive by reasoning or computation."
    )
    guesses: tuple[str, ...] = Field(
        default_factory=tuple, description="Educated guesses, clearly marked as such."
    )

    def render(self) -> str:
        sections = [
            ("Given or verified facts", self.given),
            ("Facts to look up", self.to_look_up),
            ("Facts to derive", self.to_derive),
            ("Educated guesses", self.guesses),
        ]
        return "\n\n".join(
            f"{title}:\n" + ("\n".join(f"- {item}" for item in items) if items else "- (none)")
            for title, items in sections
        )


class PlanStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    owner: str = Field(description="The team member who carries out this step.")
    action: str = Field(description="What the step does, in one sentence.")


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[PlanStep, ...] = Field(min_length=1, description="The steps, in order.")

    def owners(self) -> set[str]:
        return {step.owner for step in self.steps}

    def render(self) -> str:
        return "\n".join(f"{i}. [{s.owner}] {s.action}" for i, s in enumerate(self.steps, 1))


class Revision(BaseModel):
    """A superseded version of the ledger and why it was replaced."""

    model_config = ConfigDict(frozen=True)

    number: int
    round: int
    reason: str
    facts: Facts
    plan: Plan


class TaskLedger(BaseModel):
    model_config = ConfigDict(frozen=True)

    task: str
    facts: Facts
    plan: Plan
    revisions: tuple[Revision, ...] = ()

    @property
    def revision(self) -> int:
        """0 for the first plan, +1 per replan."""
        return len(self.revisions)

    def revise(self, *, facts: Facts, plan: Plan, reason: str, round: int) -> TaskLedger:
        old = Revision(
            number=self.revision, round=round, reason=reason, facts=self.facts, plan=self.plan
        )
        return self.model_copy(
            update={"facts": facts, "plan": plan, "revisions": (*self.revisions, old)}
        )

    def render(self) -> str:
        return f"Facts:\n{self.facts.render()}\n\nPlan:\n{self.plan.render()}"
