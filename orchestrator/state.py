"""What a run persists: its config, its checkpointed state, and its result.

Checkpoints are written after every round and are all `orchestrator resume` needs.

Schema versions (bump `SCHEMA_VERSION` and add a line when a persisted field changes):
  1: first version.
  2: task attachments; findings in the task ledger; plan steps' details, replan root cause,
     hints and resets; `new_facts` in progress ledgers; the latest screenshot's path.
     Version 1 checkpoints load unchanged (every new field has a default).
     (2, additive) `log_length`: the event log's length the checkpoint commits.
     (2, additive) the team's state in checkpoints (`specialists`: each stateful member's
     versioned state, see `specialists.state`); a checkpoint without it loads with it
     empty (the team starts afresh, as before), and a program without it ignores it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledgers import Entry, FinalStatus, ProgressLedger, Spent, StallState, StopReason, TaskLedger
from orchestrator.config import ScriptedModelConfig, Settings
from orchestrator.models.managed import Meter, RoleUsage

SCHEMA_VERSION = 2
READABLE_VERSIONS = frozenset({1, 2})  # what `upgrade` brings to this version's shape


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A persisted payload (config, checkpoint, result) of a readable older version, in
    this version's shape (a checkpoint is then saved as this version)."""
    if raw.get("schema_version") == 1:
        settings = raw.get("settings")
        if isinstance(settings, dict):
            settings.pop("window", None)  # v2: the token-budgeted `context` replaced it
        raw["schema_version"] = 2
    return raw


class HumanConfig(BaseModel):
    """Who answers the `user` specialist: a terminal, a script, or nobody."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["console", "scripted", "none"] = "none"
    replies: list[str] = Field(default_factory=list)


class ApprovalRule(BaseModel):
    """A scripted approval decision: `action` is a glob over the action name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str
    approve: bool


class SiteConfig(BaseModel):
    """A local folder served on 127.0.0.1 for the run (same port again on resume)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    port: int


class Attachment(BaseModel):
    """A file given with the task, copied into the workspace (`name` is relative to it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    media_type: str = "application/octet-stream"
    size: int = Field(default=0, ge=0)

    def describe(self) -> str:
        return f"{self.name} ({self.media_type}, {self.size:,} bytes)"


class RunConfig(BaseModel):
    """Everything needed to start, or restart, a run. Written once, as config.json."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    run_id: str
    created: str
    source: str = Field(description="'cli' or 'scenario:<path>'.")
    task: str
    attachments: list[Attachment] = Field(default_factory=list)
    settings: Settings
    scripted: ScriptedModelConfig | None = None
    human: HumanConfig = Field(default_factory=HumanConfig)
    approval_rules: list[ApprovalRule] = Field(default_factory=list)
    sites: dict[str, SiteConfig] = Field(default_factory=dict)


class Phase(StrEnum):
    PLANNING = "planning"
    ROUNDS = "rounds"
    FINISHING = "finishing"
    DONE = "done"


class TeamMember(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    description: str


class Stop(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: StopReason
    detail: str


class FinalResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task: str
    status: FinalStatus
    answer: str
    evidence: list[str]
    stop_reason: StopReason
    stop_detail: str
    rounds: int
    stalls: int
    replans: int
    tokens: int
    cost_usd: float
    seconds: float
    usage: dict[str, RoleUsage]


class Inflight(BaseModel):
    """A delegation about to start, recorded (inflight.json) before it does: if the run dies
    in it, the resumed run is told the step may have partly happened instead of silently
    redoing it. It belongs to the checkpoint whose round and log length it names."""

    model_config = ConfigDict(frozen=True)

    round: int
    speaker: str
    instruction: str
    log_length: int = Field(description="The log length of the checkpoint it follows.")

    def follows(self, state: RunState) -> bool:
        return self.round == state.rounds + 1 and self.log_length == state.log_length


class RunState(BaseModel):
    """The checkpoint: the ledgers, the transcript and every counter."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task: str
    attachments: list[Attachment] = Field(default_factory=list)
    team: list[TeamMember]
    phase: Phase = Phase.PLANNING
    ledger: TaskLedger | None = None
    last_progress: ProgressLedger | None = None
    transcript: list[Entry] = Field(default_factory=list)
    stall: StallState = Field(default_factory=StallState)
    stalls_total: int = 0
    rounds: int = 0
    replans: int = 0
    seconds: float = 0.0
    meter: Meter = Field(default_factory=Meter)
    model_cursors: dict[str, int] = Field(default_factory=dict)
    human_cursor: int = 0
    last_screenshot: str | None = Field(
        default=None, description="The latest screenshot a specialist replied with (run dir)."
    )
    specialists: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Each stateful team member's versioned state (untrusted on load).",
    )
    stop: Stop | None = None
    result: FinalResult | None = None
    log_length: int | None = Field(
        default=None, description="Bytes of events.jsonl this checkpoint commits."
    )
    extra: dict[str, Any] = Field(default_factory=dict)

    def spent(self) -> Spent:
        return Spent(
            rounds=self.rounds,
            replans=self.replans,
            seconds=self.seconds,
            tokens=self.meter.tokens,
            cost_usd=self.meter.cost_usd,
        )

    def team_names(self) -> list[str]:
        return [m.name for m in self.team]
