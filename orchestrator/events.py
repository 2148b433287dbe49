"""Typed events for every step of a run, and the bus that fans them out.

Events are the run's public record: the JSONL log, the live view, structlog output and
`orchestrator show` are all subscribers. Each carries `schema_version`; bump it (and add a
line below) whenever a persisted field changes meaning.

Schema versions:
  1: first version.
  2: `team_reset` names the members reset; `replied` carries its screenshot's path;
     progress ledgers carry `new_facts`.
     (2, additive) `human_waiting` / `human_answered`: a person asked over the service.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ledgers import Facts, FinalStatus, Plan, ProgressLedger, StopReason

SCHEMA_VERSION = 2


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    run_id: str = ""
    seq: int = 0
    ts: float = 0.0
    round: int = 0


class RunStarted(Event):
    type: Literal["run_started"] = "run_started"
    task: str
    team: list[str]
    limits: dict[str, Any]


class RunResumed(Event):
    type: Literal["run_resumed"] = "run_resumed"
    from_round: int


class FactsGathered(Event):
    type: Literal["facts_gathered"] = "facts_gathered"
    facts: Facts


class PlanMade(Event):
    type: Literal["plan_made"] = "plan_made"
    plan: Plan
    revision: int


class RoundStarted(Event):
    type: Literal["round_started"] = "round_started"


class ProgressAssessed(Event):
    type: Literal["progress_assessed"] = "progress_assessed"
    ledger: ProgressLedger


class OutputInvalid(Event):
    """A structured reply (a ledger, a plan) did not validate; the model is asked again."""

    type: Literal["output_invalid"] = "output_invalid"
    purpose: str
    attempt: int
    error: str


class LedgerUnusable(Event):
    """The progress ledger could not be obtained even after retries: counted as a stall."""

    type: Literal["ledger_unusable"] = "ledger_unusable"
    purpose: str
    error: str


class StallDetected(Event):
    type: Literal["stall_detected"] = "stall_detected"
    count: int
    max_stalls: int
    reasons: list[str]


class Replanned(Event):
    type: Literal["replanned"] = "replanned"
    reason: str
    revision: int
    facts: Facts
    plan: Plan


class TeamReset(Event):
    """After a replan: the members whose state the new plan asked to start fresh."""

    type: Literal["team_reset"] = "team_reset"
    members: list[str] = Field(default_factory=list)


class Delegated(Event):
    type: Literal["delegated"] = "delegated"
    speaker: str
    instruction: str


class Replied(Event):
    type: Literal["replied"] = "replied"
    speaker: str
    text: str
    error: str | None = None
    files: list[str] = Field(default_factory=list)
    evidence: dict[str, str] = Field(default_factory=dict)
    seconds: float = 0.0
    screenshot: str | None = None  # the reply's latest image, relative to the run dir


class SpecialistActivity(Event):
    type: Literal["specialist_activity"] = "specialist_activity"
    speaker: str
    kind: str
    data: dict[str, Any] = Field(default_factory=dict)


class ModelCalled(Event):
    type: Literal["model_called"] = "model_called"
    role: str
    purpose: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    seconds: float
    prompt_chars: int
    # The structured-output rung the call was made on (json_schema, json_object_schema,
    # tool, json_object); None for an unstructured call or the plain-text rung.
    output_mode: str | None = None


class ModelRetry(Event):
    type: Literal["model_retry"] = "model_retry"
    role: str
    purpose: str
    error: str
    attempt: int
    wait_seconds: float


class ModelFailed(Event):
    type: Literal["model_failed"] = "model_failed"
    role: str
    purpose: str
    error: str


class ApprovalRequested(Event):
    type: Literal["approval_requested"] = "approval_requested"
    specialist: str
    action: str
    detail: str
    risky: bool


class ApprovalDecided(Event):
    type: Literal["approval_decided"] = "approval_decided"
    specialist: str
    action: str
    approved: bool
    decided_by: str  # "policy", "human", "scenario"


class HumanWaiting(Event):
    """A question or an approval now waits for a person (over the service's HTTP API).
    `id` is what the answer is posted to; the record is also kept in the run directory."""

    type: Literal["human_waiting"] = "human_waiting"
    id: str
    kind: Literal["question", "approval"]
    prompt: str  # the question, or the action to approve
    detail: str = ""
    specialist: str = ""


class HumanAnswered(Event):
    type: Literal["human_answered"] = "human_answered"
    id: str
    kind: Literal["question", "approval"]
    answer: str | None = None  # a question's answer (None: declined)
    approved: bool | None = None  # an approval's decision


class LimitReached(Event):
    type: Literal["limit_reached"] = "limit_reached"
    reason: StopReason
    detail: str


class CheckpointSaved(Event):
    type: Literal["checkpoint_saved"] = "checkpoint_saved"


class FinalAnswer(Event):
    type: Literal["final_answer"] = "final_answer"
    status: FinalStatus
    answer: str
    evidence: list[str]
    stop_reason: StopReason


class RunFinished(Event):
    type: Literal["run_finished"] = "run_finished"
    status: FinalStatus
    stop_reason: StopReason
    detail: str
    rounds: int
    stalls: int
    replans: int
    tokens: int
    cost_usd: float
    seconds: float


class RunInterrupted(Event):
    """The run was cancelled or crashed; its directory can be resumed."""

    type: Literal["run_interrupted"] = "run_interrupted"
    reason: str


AnyEvent = Annotated[
    RunStarted
    | RunResumed
    | FactsGathered
    | PlanMade
    | RoundStarted
    | ProgressAssessed
    | OutputInvalid
    | LedgerUnusable
    | StallDetected
    | Replanned
    | TeamReset
    | Delegated
    | Replied
    | SpecialistActivity
    | ModelCalled
    | ModelRetry
    | ModelFailed
    | ApprovalRequested
    | ApprovalDecided
    | HumanWaiting
    | HumanAnswered
    | LimitReached
    | CheckpointSaved
    | FinalAnswer
    | RunFinished
    | RunInterrupted,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)

EVENT_TYPES: frozenset[str] = frozenset(
    str(cls.model_fields["type"].default) for cls in get_args(get_args(AnyEvent)[0])
)


def parse_event(line: str | bytes) -> AnyEvent:
    return _adapter.validate_json(line)


def event_type(event: Event) -> str:
    return str(getattr(event, "type", type(event).__name__))


Subscriber = Callable[[Event], None]


class EventBus:
    """Stamps events with run id, sequence number and time, then hands them to subscribers.

    Subscribers are plain callables run synchronously, in order: they must be quick (append a
    line, update a view). A subscriber that raises is reported once and dropped, so a broken
    display can never stop a run.
    """

    def __init__(self, run_id: str, *, next_seq: int = 1, round: int = 0) -> None:
        self.run_id = run_id
        self.round = round
        self._next_seq = next_seq
        self._subscribers: list[Subscriber] = []

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def emit(self, event: Event) -> Event:
        stamped = event.model_copy(
            update={
                "run_id": self.run_id,
                "seq": self._next_seq,
                "ts": time.time(),
                "round": self.round,
            }
        )
        self._next_seq += 1
        for subscriber in list(self._subscribers):
            try:
                subscriber(stamped)
            except Exception as exc:  # a display bug must not end the run
                self._subscribers.remove(subscriber)
                print(
                    f"orchestrator: event subscriber {subscriber!r} failed and was removed: {exc!r}",
                    file=sys.stderr,
                )
        return stamped
