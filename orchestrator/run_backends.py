"""Where `api.Orchestrator` executes a run: in this process (the default), or elsewhere
(`ray_runs.RayRuns`: a Ray task on any node of a cluster).

Either way the run is `session.execute` over its run directory, and the caller sees the
same things: every event handed to `subscribers` in order, `cancel` ending the run with a
best-guess answer, cancellation of the awaiting task interrupting the run (its checkpoint
kept), and the `FinalResult`, or an exception saying why there is none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Protocol

from orchestrator import session
from orchestrator.errors import OrchestratorError
from orchestrator.events import Subscriber
from orchestrator.session import PeopleFactory
from orchestrator.state import FinalResult
from orchestrator.store import RunStore

PARKED = "parked: waiting for a person"  # why a parked run was interrupted


class RunFailedElsewhere(OrchestratorError):
    """The run stopped without a result where it executed; the message says why."""


class RunParked(RunFailedElsewhere):
    """The run stopped where it executed to wait for a person (see `Orchestrator.park`)."""


class RunLost(RunFailedElsewhere):
    """The process (or node) executing the run died; its last checkpoint is kept."""


class RunBackend(Protocol):
    # True if runs execute in another process: `people` must then be picklable and answer
    # through the run directory (`service.people.FilePeople`).
    remote: bool

    async def execute(
        self,
        store: RunStore,
        *,
        subscribers: Sequence[Subscriber],
        environ: Mapping[str, str],
        people: PeopleFactory | None,
        cancel: asyncio.Event,
    ) -> FinalResult: ...

    async def close(self) -> None: ...


class InProcess:
    """Runs as asyncio tasks of this process."""

    remote = False

    async def execute(
        self,
        store: RunStore,
        *,
        subscribers: Sequence[Subscriber],
        environ: Mapping[str, str],
        people: PeopleFactory | None,
        cancel: asyncio.Event,
    ) -> FinalResult:
        return await session.execute(
            store, subscribers=subscribers, environ=environ, people=people, cancel=cancel
        )

    async def close(self) -> None:
        return None
