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
  sites: {docs: sites/docs, shop: {path: sites/shop, port: 8765}}   # on 127.0.0.1
  indexes: {docs: /usr/share/doc/python3-doc/html}   # a search index: {{indexes.docs}}
expect:
  status: solved
  stop_reason: satisfied
  answer: {contains: Paris}
  rounds: {max: 6}
  events: [replanned, {type: stall_detected, min: 2}]
  no_failed_actions: true
  reply_contains: {web_surfer: "LB-36715"}

The whole format, generated from these models: docs/scenarios.md
(`python scripts/scenario_docs.py` writes it).
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
    """Every model call (the orchestrator's and each specialist's) answered from a script."""

    model_config = _Strict

    scripted: ScriptedModelConfig = Field(description="The script and what the model can do.")


class RealChoice(BaseModel):
    """Real models by role, e.g. `{default: openai:gpt-4o, orchestrator: openai:o4-mini}`."""

    model_config = _Strict

    models: dict[str, ModelSpec] = Field(
        description="Role (`default`, `orchestrator` or a member's name) → its model."
    )


class Approvals(BaseModel):
    """Side effects (submitting a form, running code, a risky MCP tool) ask first. Rules
    decide in order, the first whose `action` glob matches the action's name (`submit
    form`, `run code`, `download`, `upload file`, `<server>: <tool>`, ...); an approval no
    rule decides is refused (headless, there is nobody to ask)."""

    model_config = _Strict

    mode: ApprovalMode = Field(
        default="risky", description="Which actions ask: never, risky ones, or always."
    )
    rules: list[ApprovalRule] = Field(
        default_factory=list,
        description='Scripted decisions, e.g. `{action: "submit*", approve: false}`.',
    )


class FileFixture(BaseModel):
    """A file or folder copied into the run's workspace before it starts."""

    model_config = _Strict

    src: str = Field(description="Path relative to the scenario file.")
    dest: str | None = Field(default=None, description="Path inside the workspace.")
    attach: bool = Field(
        default=False,
        description="Attach it to the task: the orchestrator is told its name, type and size.",
    )


class SiteFixture(BaseModel):
    """A local folder served over HTTP on 127.0.0.1 for the run; `{{sites.NAME}}` is its
    URL. A plain string is its `path`."""

    model_config = _Strict

    path: str = Field(description="The folder, relative to the scenario file.")
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="A fixed port (e.g. to match URLs written in the site); default: a free one.",
    )


class Fixtures(BaseModel):
    """What the run starts with: files copied into its workspace, local sites served."""

    model_config = _Strict

    files: list[FileFixture] = Field(
        default_factory=list,
        description="Files or folders to copy into the workspace; a plain string is `src`.",
    )
    sites: dict[str, SiteFixture] = Field(
        default_factory=dict, description="Site name → the folder to serve (or a site)."
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

    @field_validator("sites", mode="before")
    @classmethod
    def _plain_folders(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _distinct_ports(self) -> Fixtures:
        ports = [s.port for s in self.sites.values() if s.port is not None]
        if len(ports) != len(set(ports)):
            raise ValueError("two sites cannot be served on the same port")
        return self


class Bounds(BaseModel):
    """A count's bounds; a bare number is an exact count."""

    model_config = _Strict

    min: int | None = Field(default=None, ge=0, description="At least this many.")
    max: int | None = Field(default=None, ge=0, description="At most this many.")

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

    equals: str | None = Field(
        default=None, description="The whole answer (spacing ignored); a bare string is this."
    )
    contains: str | None = Field(default=None, description="Text the answer contains.")
    regex: str | None = Field(default=None, description="A regular expression it matches.")
    one_of: list[str] | None = Field(default=None, description="Answers that would all do.")
    case_sensitive: bool = Field(default=False, description="Compare case too.")

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
    """Events of one type that must occur; a bare string is its type."""

    model_config = _Strict

    type: str = Field(description="An event type (see Events).")
    min: int | None = Field(default=None, ge=0, description="Default: 1, or 0 when max is set.")
    max: int | None = Field(default=None, ge=0, description="At most this many.")

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
    """How the finished run must look; every way it differs is a failure line."""

    model_config = _Strict

    status: FinalStatus | None = Field(default=None, description="The final status.")
    stop_reason: StopReason | None = Field(default=None, description="Why the run stopped.")
    answer: AnswerMatcher | None = Field(default=None, description="The final answer.")
    rounds: Bounds | None = Field(default=None, description="Rounds run (a number: exactly).")
    stalls: Bounds | None = Field(default=None, description="Stalled rounds, in total.")
    replans: Bounds | None = Field(default=None, description="Replans.")
    events: list[EventExpectation] = Field(
        default_factory=list,
        description="Events that must occur (a type, or a type with min/max). Listing "
        "`action_failed` says failed actions are meant: no warning is printed for them.",
    )
    script_used_up: bool = Field(
        default=True, description="Fail if scripted replies are left over."
    )
    no_failed_actions: bool = Field(
        default=False,
        description="Fail if any specialist action failed, was refused, rejected (an unknown "
        "tool, bad arguments) or not run: an `action_failed` event.",
    )
    reply_contains: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Team member → text (or a list of texts) that one of its replies must "
        "contain (case and spacing ignored).",
    )

    @field_validator("reply_contains", mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


def _model_kind(value: Any) -> str:
    scripted = isinstance(value, ScriptedChoice) or (
        isinstance(value, dict) and "scripted" in value
    )
    return "scripted" if scripted else "real"


class Scenario(BaseModel):
    """A whole run, headless: the task, the team, a model (scripted or real), a scripted
    person, fixtures, and what the finished run must look like. Strings in `task`, the
    script and `human` may use `{{sites.NAME}}` (a fixture site's URL) and `{{workspace}}`
    (the run's workspace folder); `\\{{x}}` is the text `{{x}}` itself."""

    model_config = _Strict

    name: str = Field(description="Shown in results and JUnit reports.")
    description: str = Field(default="", description="What the scenario shows, for people.")
    task: str = Field(min_length=1, description="The request, as a person would type it.")
    team: list[str] = Field(
        default_factory=lambda: ["user"],
        min_length=1,
        description="Team members: user, web_surfer, file_surfer, coder, mcp, mcp:<server>.",
    )
    limits: Limits = Field(default_factory=Limits, description="The run's limits.")
    stall: StallRules = Field(default_factory=StallRules, description="Stall detection.")
    context: ContextRules = Field(
        default_factory=ContextRules, description="How prompts share a model's context."
    )
    final_answer_seconds: float = Field(
        default=60, gt=0, description="Time allowed for the final answer, even after a limit."
    )
    model: Annotated[
        Annotated[ScriptedChoice, Tag("scripted")] | Annotated[RealChoice, Tag("real")],
        Discriminator(_model_kind),
    ] = Field(
        description="`{scripted: {script: ...}}`, or a real model: `openai:gpt-4o`, or "
        "models by role `{default: ..., orchestrator: ...}`."
    )
    human: list[str] | None = Field(
        default=None,
        description="Scripted answers from the person, one per question the `user` member "
        "is asked, in order; absent: nobody there.",
    )
    approvals: Approvals = Field(
        default_factory=Approvals, description="The approval policy and scripted decisions."
    )
    specialists: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Settings per specialist, as `specialists:` in the config file.",
    )
    fixtures: Fixtures = Field(default_factory=Fixtures, description="Files and local sites.")
    expect: Expectations = Field(
        default_factory=Expectations, description="What the finished run must look like."
    )

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
