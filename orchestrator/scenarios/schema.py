"""The scenario file format (YAML), validated with file:line:field errors.

name: stall, replan, then success
task: "What is the capital of ...?  (may use {{sites.NAME}} and {{workspace}})"
team: [user]
limits: {max_rounds: 10, max_stalls: 2}
human: ["a reply the person gives", ...]     # scripted answers for the `user` specialist
approvals: {mode: risky, rules: [{action: "submit*", approve: true}]}
model:                                       # or a real one: `model: openai:gpt-4o`
  scripted:
    script:
      orchestrator.facts: [{json: {...}}]
fixtures:
  files: [{src: data/report.pdf, dest: report.pdf}]
  sites: {docs: sites/docs}                  # served on 127.0.0.1, a free port
  indexes: {docs: /usr/share/doc/python3-doc/html}   # a search index: {{indexes.docs}}
expect:
  status: solved
  stop_reason: satisfied
  answer: {contains: Paris}
  rounds: {max: 6}
  events: [replanned, {type: stall_detected, min: 2}]
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from ledgers import ContextRules, FinalStatus, Limits, StallRules, StopReason
from orchestrator.config import ApprovalMode, ScriptedModelConfig
from orchestrator.events import EVENT_TYPES
from orchestrator.models.spec import ModelSpec
from orchestrator.state import ApprovalRule

_Strict = ConfigDict(frozen=True, extra="forbid")


class ScriptedChoice(BaseModel):
    model_config = _Strict

    scripted: ScriptedModelConfig


class RealChoice(BaseModel):
    """Real models by role, e.g. `{default: openai:gpt-4o, orchestrator: openai:o4-mini}`."""

    model_config = _Strict

    models: dict[str, ModelSpec]


class Approvals(BaseModel):
    model_config = _Strict

    mode: ApprovalMode = "risky"
    rules: list[ApprovalRule] = Field(default_factory=list)


class FileFixture(BaseModel):
    model_config = _Strict

    src: str = Field(description="Path relative to the scenario file.")
    dest: str | None = Field(default=None, description="Path inside the workspace.")
    attach: bool = Field(
        default=False,
        description="Attach it to the task: the orchestrator is told its name, type and size.",
    )


class Fixtures(BaseModel):
    model_config = _Strict

    files: list[FileFixture] = Field(default_factory=list)
    sites: dict[str, str] = Field(
        default_factory=dict, description="Site name → folder, relative to the scenario file."
    )
    indexes: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Index name → folder (relative to the scenario file), built as "
            "`orchestrator index build FOLDER` does into the run directory; "
            "`{{indexes.NAME}}` is its path."
        ),
    )

    @field_validator("files", mode="before")
    @classmethod
    def _plain_paths(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"src": v} if isinstance(v, str) else v for v in value]
        return value


class Bounds(BaseModel):
    model_config = _Strict

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        return {"min": value, "max": value} if isinstance(value, int) else value

    def check(self, what: str, value: int) -> str | None:
        if self.min is not None and value < self.min:
            return f"{what} was {value}, expected at least {self.min}"
        if self.max is not None and value > self.max:
            return f"{what} was {value}, expected at most {self.max}"
        return None


class AnswerMatcher(BaseModel):
    """Exactly one way to match the final answer."""

    model_config = _Strict

    equals: str | None = None
    contains: str | None = None
    regex: str | None = None
    one_of: list[str] | None = None
    case_sensitive: bool = False

    @model_validator(mode="before")
    @classmethod
    def _plain_string_equals(cls, value: Any) -> Any:
        return {"equals": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> AnswerMatcher:
        given = [
            k for k in ("equals", "contains", "regex", "one_of") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, contains, regex, one_of")
        return self


class EventExpectation(BaseModel):
    model_config = _Strict

    type: str
    min: int | None = Field(default=None, ge=0, description="Default: 1, or 0 when max is set.")
    max: int | None = Field(default=None, ge=0)

    @property
    def at_least(self) -> int:
        if self.min is not None:
            return self.min
        return 0 if self.max is not None else 1

    @model_validator(mode="before")
    @classmethod
    def _plain_type(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> EventExpectation:
        if self.max is not None and self.at_least > self.max:
            raise ValueError(f"min ({self.at_least}) is greater than max ({self.max})")
        return self

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(
                f"unknown event type {value!r}; known: {', '.join(sorted(EVENT_TYPES))}"
            )
        return value


class Expectations(BaseModel):
    model_config = _Strict

    status: FinalStatus | None = None
    stop_reason: StopReason | None = None
    answer: AnswerMatcher | None = None
    rounds: Bounds | None = None
    stalls: Bounds | None = None
    replans: Bounds | None = None
    events: list[EventExpectation] = Field(default_factory=list)
    script_used_up: bool = Field(
        default=True, description="Fail if scripted replies are left over."
    )


def _model_kind(value: Any) -> str:
    scripted = isinstance(value, ScriptedChoice) or (
        isinstance(value, dict) and "scripted" in value
    )
    return "scripted" if scripted else "real"


class Scenario(BaseModel):
    model_config = _Strict

    name: str
    description: str = ""
    task: str = Field(min_length=1)
    team: list[str] = Field(default_factory=lambda: ["user"], min_length=1)
    limits: Limits = Field(default_factory=Limits)
    stall: StallRules = Field(default_factory=StallRules)
    context: ContextRules = Field(default_factory=ContextRules)
    final_answer_seconds: float = Field(default=60, gt=0)
    model: Annotated[
        Annotated[ScriptedChoice, Tag("scripted")] | Annotated[RealChoice, Tag("real")],
        Discriminator(_model_kind),
    ]
    human: list[str] | None = Field(
        default=None, description="Scripted answers from the person; absent: nobody there."
    )
    approvals: Approvals = Field(default_factory=Approvals)
    specialists: dict[str, dict[str, Any]] = Field(default_factory=dict)
    fixtures: Fixtures = Field(default_factory=Fixtures)
    expect: Expectations = Field(default_factory=Expectations)

    @field_validator("model", mode="before")
    @classmethod
    def _real_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"models": {"default": {"model": value}}}
        if isinstance(value, dict) and "scripted" not in value and "models" not in value:
            return {
                "models": {k: {"model": v} if isinstance(v, str) else v for k, v in value.items()}
            }
        return value
