"""The Specialist protocol and what passes between a specialist and the orchestrator."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import ValidationError

from ledgers.budget import BudgetHit, StopReason
from ledgers.transcript import Entry
from specialists.models.protocol import ImagePart, ModelClient


@dataclass(frozen=True)
class Reply:
    """What a specialist hands back after one step.

    Errors inside a specialist come back as a Reply with `error` set, so the orchestrator
    can reason about them; only bugs escape as exceptions.
    """

    text: str
    images: tuple[ImagePart, ...] = ()
    files: tuple[Path, ...] = ()
    evidence: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    observation: str | None = None  # fingerprint for stall detection; default: hash of text

    def fingerprint(self) -> str:
        if self.observation is not None:
            return self.observation
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ApprovalRequest:
    """A side-effecting action a specialist wants to take."""

    specialist: str
    action: str  # short verb phrase, e.g. "submit form", "run code"
    detail: str  # what exactly, shown to whoever approves
    risky: bool = False


Approve = Callable[[ApprovalRequest], Awaitable[bool]]
Notify = Callable[[str, Mapping[str, Any]], None]
# notify with `content`: (kind, data, content)
NotifyContent = Callable[[str, Mapping[str, Any], Mapping[str, Any]], None]
BudgetCheck = Callable[[], BudgetHit | None]


def no_budget() -> BudgetHit | None:
    """The budget check of a step run outside a run (tests, tools): never exhausted."""
    return None


BUDGET_NAMES = {
    StopReason.TIMEOUT: "wall-clock limit",
    StopReason.TOKEN_BUDGET: "token budget",
    StopReason.COST_BUDGET: "cost budget",
}


def budget_stop_note(hit: BudgetHit) -> str:
    """What a specialist says when the run's budget ends its step early."""
    name = BUDGET_NAMES.get(hit.reason, hit.reason.value)
    return f"I stopped this step early: the run's {name} is used up ({hit.detail})."


def _ignore(kind: str, data: Mapping[str, Any]) -> None:
    return None


class HumanChannel(Protocol):
    """Where questions for a person go. `None` means no person is available."""

    async def ask(self, question: str) -> str | None: ...


@dataclass(frozen=True)
class StepContext:
    """What a specialist may use during one step."""

    run_id: str
    round: int
    workspace: Path
    history: Sequence[Entry]
    approve: Approve
    notify: Notify  # activity worth an event: notify("action", {"name": "click", ...})
    # The team notes for this step (task, plan, findings, the team's conversation),
    # bounded for this specialist's model and fenced: put them in the first model message.
    notes: str = ""
    # Where `report` sends content; None: `report` is `notify` (the content is dropped).
    notify_content: NotifyContent | None = None

    def report(self, kind: str, data: Mapping[str, Any], content: Mapping[str, Any]) -> None:
        """`notify`, plus `content` (a tool's full arguments and result) for a trace the user
        opted into: kept in memory only, never written to the run's log. `data` is the
        record (logged, shown): keep it short. Redact both alike."""
        if self.notify_content is None:
            self.notify(kind, data)
        else:
            self.notify_content(kind, data, content)

    # The run's wall-clock, token and cost budgets, as they stand now. Call it between
    # actions and model calls; a BudgetHit means: end the step now, saying so
    # (`budget_stop_note`) with what was found so far. The run then stops on that budget.
    check_budget: BudgetCheck = no_budget

    # An activity that takes a while has begun: started("code_run", {"waiting_for":
    # "program running", ...}) before the program runs, notify("code_run", {...}) when it
    # has ended. `waiting_for` is what the person's spinner line says meanwhile.
    started: Notify = _ignore


@runtime_checkable
class Specialist(Protocol):
    name: str
    description: str  # one paragraph, read by the orchestrator when planning

    async def step(self, instruction: str, context: StepContext) -> Reply: ...

    async def reset(self) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class Stateful(Protocol):
    """What a specialist implements, besides `Specialist`, to keep its state (open pages, an
    open document, a conversation) in the run's checkpoint and get it back on resume.
    Optional: a specialist without it starts afresh on resume (the user specialist, mcp).

    `save_state` returns JSON-able data with a `"version"` (see `specialists.state`), or
    `{}` for nothing to keep; it is called at every checkpoint, between steps. `load_state`
    is given that data back (untrusted: the checkpoint is a file anyone may have edited),
    before the first round of a resumed run; it returns sentences for the orchestrator
    about what could not be restored (a page that no longer loads, a file that is gone),
    and raises `specialists.state.StateRefused` for a version it cannot read."""

    async def save_state(self) -> dict[str, Any]: ...

    async def load_state(self, state: Mapping[str, Any]) -> list[str]: ...


@dataclass(frozen=True)
class TeamEnv:
    """What a specialist factory receives when the team is assembled."""

    name: str
    workspace: Path
    model: ModelClient | None
    human: HumanChannel
    settings: Mapping[str, Any] = field(default_factory=dict)
    headless: bool = True


class SpecialistConfigError(ValueError):
    """A specialist's settings (`specialists.<name>` in the config) or model are unusable.
    The message names the field and says what to set."""


def settings_problems(exc: ValidationError, prefix: str) -> str:
    """A settings validation error as one line, each problem naming `prefix.<field>`."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in (prefix, *error["loc"]))
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


SpecialistFactory = Callable[[TeamEnv], Specialist]
ApprovalMode = Literal["never", "risky", "always"]
