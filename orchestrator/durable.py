"""Checkpoints as commits, and what a resume finds of a round a crash cut short.

A round boundary commits: the `checkpoint_saved` event is logged, the checkpoint takes the
log's length, and the store makes both durable (see `orchestrator.store`). Before a
delegation starts, the last commit is written again with the delegation marked in flight,
so a resume after a crash in the middle of a step knows that step may have partly happened
and which actions had been approved in it, instead of silently doing it again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence

from ledgers import Entry
from orchestrator.events import (
    AnyEvent,
    ApprovalDecided,
    CheckpointSaved,
    DelegationInterrupted,
    EventBus,
    Replied,
)
from orchestrator.state import Inflight, RunState
from orchestrator.store import RunStore


class Checkpoints:
    """Writes a run's checkpoints: a commit per round, a mark per delegation."""

    def __init__(self, store: RunStore, bus: EventBus, prepare: Callable[[RunState], None]) -> None:
        self._store = store
        self._bus = bus
        self._prepare = prepare  # copies cursors held elsewhere into the state
        self._committed: str | None = None

    async def commit(self, state: RunState) -> None:
        self._prepare(state)
        self._bus.emit(CheckpointSaved())  # inside what this checkpoint commits
        state.log_length = self._store.log_length()
        state.inflight = None
        # Serialise now (a consistent snapshot), write and fsync off the event loop.
        serialised = state.model_dump_json(by_alias=True)
        await _finished(self._store.write_checkpoint, serialised)
        self._committed = serialised

    async def mark(self, inflight: Inflight) -> None:
        """The last commit again, with `inflight` recorded: resume still starts from the
        round boundary, and knows what was under way."""
        if self._committed is None:
            return

        def write(committed: str) -> None:
            raw = json.loads(committed)
            raw["inflight"] = inflight.model_dump()
            self._store.write_checkpoint(json.dumps(raw), commit=False)

        await _finished(write, self._committed)


async def _finished(write: Callable[[str], None], text: str) -> None:
    """Run `write` in a thread to its end even if we are cancelled meanwhile: the run
    lets go of its directory (and its lock) only once no write is under way."""
    job = asyncio.ensure_future(asyncio.to_thread(write, text))
    try:
        await asyncio.shield(job)
    except asyncio.CancelledError:
        await asyncio.wait({job})
        raise


def set_aside(store: RunStore, state: RunState, resumed: bool) -> list[AnyEvent]:
    """Move the log's uncommitted tail (a round cut short) aside and return its events.
    A run with no checkpoint yet starts again from nothing, so all of its log goes; a
    checkpoint older than commit lengths (`log_length` unset) keeps the log as it is."""
    if resumed and state.log_length is None:
        return []
    return store.set_aside(state.log_length or 0)


def interruption(
    inflight: Inflight, tail: Sequence[AnyEvent]
) -> tuple[Entry, DelegationInterrupted]:
    """The transcript note and the event that tell the orchestrator about a step that was
    under way when the run stopped, with the actions that had been approved in it."""
    granted = [
        e.action
        for e in tail
        if isinstance(e, ApprovalDecided) and e.approved and e.specialist == inflight.speaker
    ]
    finished = any(isinstance(e, Replied) and e.speaker == inflight.speaker for e in tail)
    lines = [
        f"The run stopped while {inflight.speaker} was working on: {inflight.instruction}",
        "That step may have partly happened"
        + (" (it had finished, but its reply was lost)" if finished else "")
        + "; the run goes on from before it: decide whether to ask for it again.",
    ]
    if granted:
        lines.append(
            "Actions approved and possibly carried out in it: "
            + "; ".join(granted)
            + ". Check their effects before asking for them again."
        )
    else:
        lines.append("No approved action had been carried out in it.")
    entry = Entry(
        round=inflight.round - 1, speaker="orchestrator", kind="note", text="\n".join(lines)
    )
    event = DelegationInterrupted(
        speaker=inflight.speaker,
        instruction=inflight.instruction,
        granted=granted,
        finished=finished,
    )
    return entry, event
