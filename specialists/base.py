"""The Specialist protocol and what passes between a specialist and the orchestrator."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import ValidationError

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
