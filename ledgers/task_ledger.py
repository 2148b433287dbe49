"""The task ledger: what we know (four kinds of facts) and what we mean to do (a plan).

Every replan produces a new ledger; the superseded facts and plan are kept as revisions
so a reader can see how the team's understanding changed and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledgers import findings as findings_
from ledgers.findings import Finding, NewFact


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
    details: str = Field(
        default="",
        description="What exactly to do or look for: names, numbers, URLs, files, and the "
        "form the result should take.",
    )

    def render(self, number: int, *, mine: bool = False) -> str:
        more = f"\n   {self.details}" if self.details else ""
        you = "  <- your step" if mine else ""
        return f"{number}. [{self.owner}] {self.action}{you}{more}"


class Plan(BaseModel):
    """The plan as the run keeps it. The model writes a `PlanDraft` or a `ReplanDraft`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[PlanStep, ...] = Field(default=(), description="The steps, in order.")
    root_cause: str = Field(default="", description="Why the previous plan failed (replans).")
    hints: tuple[str, ...] = Field(default=(), description="What to do differently (replans).")
    reset: tuple[str, ...] = Field(
        default=(), description="Team members whose state should start fresh for this plan."
    )

    @property
    def direct(self) -> bool:
        """No steps: the task is answered directly, without the team."""
        return not self.steps

    def owners(self) -> set[str]:
        return {step.owner for step in self.steps}

    def render(self) -> str:
        return self.render_for(None)

    def render_for(self, member: str | None) -> str:
        """The plan, with `member`'s own steps marked."""
        if self.direct:
            return "(no plan: the task can be answered directly)"
        lines = [s.render(i, mine=s.owner == member) for i, s in enumerate(self.steps, 1)]
        if self.root_cause:
            lines.append(f"Why the previous plan failed: {self.root_cause}")
        lines += [f"Hint: {hint}" for hint in self.hints]
        return "\n".join(lines)


class PlanDraft(BaseModel):
    """The first plan, as the model writes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    needs_plan: bool = Field(
        default=True,
        description="false if the task can be answered directly, without the team (then "
        "give no steps), or needs just one step by one member (then give that step).",
    )
    steps: tuple[PlanStep, ...] = Field(default=(), description="The steps, in order.")

    @model_validator(mode="after")
    def _steps_when_planning(self) -> PlanDraft:
        if self.needs_plan and not self.steps:
            raise ValueError("needs_plan is true but there are no steps: give at least one")
        return self

    def plan(self) -> Plan:
        return Plan(steps=self.steps)


class ReplanDraft(BaseModel):
    """A new plan after a stall, as the model writes it: why the old one failed first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    root_cause: str = Field(default="", description="Why the previous plan did not work.")
    hints: tuple[str, ...] = Field(
        default=(), description="Lessons for the new plan: what to avoid, what to try."
    )
    steps: tuple[PlanStep, ...] = Field(min_length=1, description="The new steps, in order.")
    reset: tuple[str, ...] = Field(
        default=(),
        description="Team members whose state (open pages, documents, conversation) must "
        "start fresh for the new plan; empty keeps everyone's state.",
    )

    def plan(self) -> Plan:
        return Plan(
            steps=self.steps, root_cause=self.root_cause, hints=self.hints, reset=self.reset
        )


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
    findings: tuple[Finding, ...] = Field(
        default=(), description="Facts established during the run; kept across replans."
    )

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

    def add_findings(self, new: Iterable[NewFact], round: int) -> TaskLedger:
        merged = findings_.merge(self.findings, new, round)
        if len(merged) == len(self.findings):
            return self
        return self.model_copy(update={"findings": merged})

    def render_findings(self) -> str:
        return findings_.render(self.findings)

    def render_facts(self) -> str:
        """The fact sheet and the findings."""
        return (
            f"{self.facts.render()}\n\n"
            f"Established during the run (findings, with their sources):\n"
            f"{self.render_findings()}"
        )

    def render(self) -> str:
        return f"Facts:\n{self.render_facts()}\n\nPlan:\n{self.plan.render()}"
