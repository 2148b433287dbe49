"""Typed events for every step of a run, and the bus that fans them out.

Events are the run's public record: the JSONL log, the live view, structlog output and
`orchestrator show` are all subscribers. Each carries `schema_version`; bump it (and add a
line below) whenever a persisted field changes meaning.

Schema versions:
  1: first version.
  2: `team_reset` names the members reset; `replied` carries its screenshot's path;
     progress ledgers carry `new_facts`.
     (2, additive) `human_waiting` / `human_answered`: a person asked over the service.
     (2, additive) `delegation_interrupted`; `run_resumed.set_aside`.
     (2, additive) `model_called.finish_reason`; `model_failed.model`, `.error_type`,
     `.seconds`. `content` on `model_called` / `specialist_activity` is never persisted.
     (2, additive) `action_failed` / `specialist_observed`: a specialist's failed or refused
     action, and what its model was shown (`specialists.record`).
     (2, additive) `model_call_started` and `activity_started`: a wait has begun.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from ledgers import Facts, FinalStatus, Plan, ProgressLedger, StopReason
from specialists import record
from specialists.record import ERROR_MAX_CHARS, OBSERVATION_MAX_CHARS, Problem, clip

SCHEMA_VERSION = 2


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    run_id: str = ""
    seq: int = 0
    ts: float = 0.0
    round: int = 0

    # On disk before the run goes on (`durability: round` fsyncs the log for it).
    durable: ClassVar[bool] = False


class RunStarted(Event):
    """A run began: its task, team and limits."""

    type: Literal["run_started"] = "run_started"
    task: str
    team: list[str]
    limits: dict[str, Any]


class RunResumed(Event):
    """An unfinished run was resumed from its checkpoint."""

    type: Literal["run_resumed"] = "run_resumed"
    from_round: int
    set_aside: int = Field(
        default=0, description="Events of a round cut short, moved to events.abandoned.jsonl."
    )


class DelegationInterrupted(Event):
    """A step was under way when the run stopped: it may have partly happened."""

    type: Literal["delegation_interrupted"] = "delegation_interrupted"
    speaker: str
    instruction: str
    granted: list[str] = Field(default_factory=list, description="Actions approved in it.")
    finished: bool = False  # its reply came, but the round did not commit


class FactsGathered(Event):
    """The facts of the task ledger, when the run starts."""

    type: Literal["facts_gathered"] = "facts_gathered"
    facts: Facts


class PlanMade(Event):
    """The first plan."""

    type: Literal["plan_made"] = "plan_made"
    plan: Plan
    revision: int


class RoundStarted(Event):
    """A round began (the event's `round` is its number)."""

    type: Literal["round_started"] = "round_started"


class ProgressAssessed(Event):
    """The round's progress ledger."""

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
    """The round counted as a stall, and why."""

    type: Literal["stall_detected"] = "stall_detected"
    count: int
    max_stalls: int
    reasons: list[str]


class Replanned(Event):
    """New facts and a new plan after too many stalls."""

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
    """The orchestrator handed an instruction to a team member."""

    type: Literal["delegated"] = "delegated"
    speaker: str
    instruction: str


class Replied(Event):
    """A team member's reply to its instruction."""

    type: Literal["replied"] = "replied"
    speaker: str
    text: str
    error: str | None = None
    files: list[str] = Field(default_factory=list)
    evidence: dict[str, str] = Field(default_factory=dict)
    seconds: float = 0.0
    screenshot: str | None = None  # the reply's latest image, relative to the run dir


class SpecialistActivity(Event):
    """Something a specialist did during its step (an action, a code run, a tool call)."""

    type: Literal["specialist_activity"] = "specialist_activity"
    speaker: str
    kind: str
    data: dict[str, Any] = Field(default_factory=dict)
    # A tool's full arguments and result, for a trace the user opted into: in memory only.
    content: dict[str, Any] | None = Field(default=None, exclude=True, repr=False)


class ActionFailed(Event):
    """A specialist's action did not do its work: an unknown tool, bad arguments, an action
    that failed or was refused, or one that was not run (the step's limit, after `done`)."""

    type: Literal["action_failed"] = "action_failed"
    speaker: str
    action: str  # the tool's name as the model gave it
    problem: Problem
    error: str
    arguments: str = ""  # as recorded by the specialist: redacted, cut

    @field_validator("error", "arguments")
    @classmethod
    def _bounded(cls, value: str) -> str:
        return clip(value, ERROR_MAX_CHARS)


class SpecialistObserved(Event):
    """What a specialist's model was shown after an action (`after`; empty when its step
    began): for the web surfer the page with its elements' [ids], for the file surfer the
    page of the file, for mcp the tool's result, for the coder the program's output."""

    type: Literal["specialist_observed"] = "specialist_observed"
    speaker: str
    after: str = ""
    text: str

    @field_validator("text")
    @classmethod
    def _bounded(cls, value: str) -> str:
        return clip(value, OBSERVATION_MAX_CHARS)


def from_activity(
    speaker: str, kind: str, data: Mapping[str, Any], content: dict[str, Any] | None = None
) -> Event:
    """A specialist's `notify(kind, data)` as its event: the kinds `specialists.record`
    reserves become typed events; anything else (or a malformed record) is activity,
    with the content a trace asked for (`report`), held in memory only."""
    try:
        if kind == record.FAILED:
            return ActionFailed.model_validate({**data, "speaker": speaker})
        if kind == record.OBSERVED:
            return SpecialistObserved.model_validate({**data, "speaker": speaker})
    except ValidationError:
        pass
    return SpecialistActivity(speaker=speaker, kind=kind, data=dict(data), content=content)


class ActivityStarted(Event):
    """A specialist began something that takes a while (`code_run`, `action`, `tool_call`);
    the `specialist_activity` of the same kind says how it ended."""

    type: Literal["activity_started"] = "activity_started"
    speaker: str
    kind: str
    data: dict[str, Any] = Field(default_factory=dict)


class ModelCalled(Event):
    """One model call: role, purpose, tokens, cost, time."""

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
    finish_reason: str | None = None  # as the provider said it (stop, length, tool_calls)
    # The call's messages (orchestrator.models.content), only when a subscriber wants them
    # (a trace with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT). Excluded from every
    # dump, so prompts never fill the run's log: they live only as long as the event.
    content: dict[str, Any] | None = Field(default=None, exclude=True, repr=False)


class ModelCallStarted(Event):
    """A model call (or a retry of one) was sent; `model_called` or `model_retry` follows.
    It says what a run is waiting for while the model thinks."""

    type: Literal["model_call_started"] = "model_call_started"
    role: str
    purpose: str
    attempt: int = 1


class ModelRetry(Event):
    """A model call failed and is retried after a wait."""

    type: Literal["model_retry"] = "model_retry"
    role: str
    purpose: str
    error: str
    attempt: int
    wait_seconds: float


class ModelFailed(Event):
    """A model call failed for good."""

    type: Literal["model_failed"] = "model_failed"
    role: str
    purpose: str
    error: str
    model: str = ""
    error_type: str = ""  # the error's class, e.g. ModelTimeout
    seconds: float = 0.0  # of the last attempt


class ApprovalRequested(Event):
    """A specialist asked to take a side-effecting action."""

    type: Literal["approval_requested"] = "approval_requested"
    specialist: str
    action: str
    detail: str
    risky: bool


class ApprovalDecided(Event):
    """The decision on it, and who made it."""

    type: Literal["approval_decided"] = "approval_decided"
    specialist: str
    action: str
    approved: bool
    decided_by: str  # "policy", "human", "scenario"

    durable: ClassVar[bool] = True  # on disk before the approved action can run


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
    """A person's answer to a question or an approval, over the service."""

    type: Literal["human_answered"] = "human_answered"
    id: str
    kind: Literal["question", "approval"]
    answer: str | None = None  # a question's answer (None: declined)
    approved: bool | None = None  # an approval's decision


class LimitReached(Event):
    """A limit stopped the run (or it was cancelled, or its model failed)."""

    type: Literal["limit_reached"] = "limit_reached"
    reason: StopReason
    detail: str


class CheckpointSaved(Event):
    """The run's state was saved."""

    type: Literal["checkpoint_saved"] = "checkpoint_saved"


class FinalAnswer(Event):
    """The final answer, its evidence and status."""

    type: Literal["final_answer"] = "final_answer"
    status: FinalStatus
    answer: str
    evidence: list[str]
    stop_reason: StopReason


class RunFinished(Event):
    """The run ended: status, stop reason and totals."""

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
    | DelegationInterrupted
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
    | ActionFailed
    | SpecialistObserved
    | ActivityStarted
    | ModelCalled
    | ModelCallStarted
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

    A *critical* subscriber (the run's log) is the run's durable record: if it raises, the
    bus is broken and this and every later `emit` raise that error, so the run stops with a
    named reason instead of carrying on without a log. Other subscribers (displays) are run
    after it; one that raises is reported once and dropped, so a broken display can never
    stop a run. Wrap a slow one in `Background` to keep it off the loop's critical path.
    """

    def __init__(self, run_id: str, *, next_seq: int = 1, round: int = 0) -> None:
        self.run_id = run_id
        self.round = round
        self._next_seq = next_seq
        self._critical: list[Subscriber] = []
        self._subscribers: list[Subscriber] = []
        self.broken: Exception | None = None
        # Whether a subscriber asked for message content (`wants_content`): only then is it
        # gathered into the in-memory `content` fields.
        self.wants_content = False

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def subscribe(self, subscriber: Subscriber, *, critical: bool = False) -> None:
        (self._critical if critical else self._subscribers).append(subscriber)
        self.wants_content |= bool(getattr(subscriber, "wants_content", False))

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
        if self.broken is None:
            for subscriber in self._critical:
                try:
                    subscriber(stamped)
                except Exception as exc:
                    self.broken = exc
                    break
        for subscriber in list(self._subscribers):
            try:
                subscriber(stamped)
            except Exception as exc:  # a display bug must not end the run
                self._subscribers.remove(subscriber)
                print(
                    f"orchestrator: event subscriber {subscriber!r} failed and was removed: {exc!r}",
                    file=sys.stderr,
                )
        if self.broken is not None:
            raise self.broken
        return stamped

    def emit_if_possible(self, event: Event) -> None:
        """`emit`, for a run that is already stopping: a broken log is not raised again."""
        try:
            self.emit(event)
        except Exception:
            if self.broken is None:
                raise

    def close(self) -> None:
        """Let subscribers that hold a thread or a display (`close()`) finish."""
        for subscriber in self._subscribers:
            close = getattr(subscriber, "close", None)
            if callable(close):
                close()


class Background:
    """Runs a subscriber in its own thread, so a slow one (a terminal, rich's layout)
    never holds up the run. Events queue up, in order, up to `limit`; beyond that they
    are counted and skipped rather than block the run."""

    def __init__(self, subscriber: Subscriber, *, limit: int = 10_000) -> None:
        self._subscriber = subscriber
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize=limit)
        self.skipped = 0
        self._dead = False
        self._thread = threading.Thread(target=self._work, name="event-view", daemon=True)
        self._thread.start()
        _views.add(self)

    def __call__(self, event: Event) -> None:
        if self._dead:
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.skipped += 1

    def settle(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until every queued event has been handled, e.g. before a prompt."""
        deadline = time.monotonic() + timeout
        while not self._dead and self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                self._subscriber(event)
            except Exception as exc:  # the display is gone; the run goes on without it
                print(f"orchestrator: event view failed: {exc!r}", file=sys.stderr)
                self._dead = True
                return
            finally:
                self._queue.task_done()

    def __repr__(self) -> str:
        return f"Background({self._subscriber!r})"


_views: weakref.WeakSet[Background] = weakref.WeakSet()


_prompt_hooks: list[weakref.WeakMethod[Callable[[], None]]] = []


def before_prompt(hook: Callable[[], None]) -> None:
    """Run the bound method `hook` before the person is prompted (a spinner steps aside);
    held weakly, so a finished run's display is not kept alive by it."""
    _prompt_hooks[:] = [ref for ref in _prompt_hooks if ref() is not None]
    _prompt_hooks.append(weakref.WeakMethod(hook))


def settle_views() -> None:
    """Let every background view print what it was given, and the spinner step aside:
    call before prompting the person, so a question never appears above the step that led
    to it and nothing redraws over what they type."""
    for view in list(_views):
        view.settle()
    for ref in list(_prompt_hooks):
        if (hook := ref()) is not None:
            hook()
