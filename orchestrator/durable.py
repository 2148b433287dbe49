"""Checkpoints as commits, and what a resume finds of a round a crash cut short.

A round boundary commits: the `checkpoint_saved` event is logged, the checkpoint takes the
log's length and replaces the last one, and a background sync makes both durable (see
`orchestrator.store` for what each `durability` promises). Before a
delegation starts, it is marked in flight next to that commit (inflight.json), so a resume
after a crash in the middle of a step knows that step may have partly happened and which
actions had been approved in it, instead of silently doing it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

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
    """Writes a run's checkpoints: a commit per round, a mark per delegation.

    A commit replaces the checkpoint at once (a killed process keeps it) and leaves its
    fsyncs to a background sync, one per round for the log and the checkpoint together,
    that overlaps the next round instead of adding to it; rounds that end while a sync
    is under way share the next one. `settle` waits for it (the run's end does).
    """

    def __init__(
        self, store: RunStore, bus: EventBus, prepare: Callable[[RunState], Awaitable[None]]
    ) -> None:
        self._store = store
        self._bus = bus
        self._prepare = prepare  # copies what is held elsewhere (cursors, the team's) in
        self._log_length: int | None = None  # what the last commit names
        self._syncing: asyncio.Future[None] | None = None
        self._dirty = False  # committed since the sync under way began

    async def commit(self, state: RunState) -> None:
        self._raise_if_sync_failed()
        await self._prepare(state)
        self._bus.emit(CheckpointSaved())  # inside what this checkpoint commits
        state.log_length = self._store.log_length()
        await self._write(self._store.write_checkpoint, state.model_dump_json(by_alias=True))
        self._log_length = state.log_length
        if self._store.durability == "round":
            self._dirty = True
            if self._syncing is None or self._syncing.done():
                self._syncing = asyncio.ensure_future(self._sync())

    async def mark(self, round: int, speaker: str, instruction: str) -> None:
        """Record the delegation about to start, next to the last commit: small, so it
        costs no more as the run grows, and written before anything of the step happens."""
        self._raise_if_sync_failed()
        if self._log_length is None:
            return
        inflight = Inflight(
            round=round, speaker=speaker, instruction=instruction, log_length=self._log_length
        )
        await self._write(self._store.write_inflight, inflight.model_dump_json())

    async def settle(self) -> None:
        """Wait until every commit is on disk; raise `RunWriteError` if one failed."""
        job, self._syncing = self._syncing, None
        if job is not None:
            await _shielded(job)

    async def _write(self, write: Callable[[str], None], text: str) -> None:
        """Without an fsync a write only reaches the page cache: done here, it costs less
        than handing it to a thread. With one (`durability: event`) it goes off the loop."""
        if self._store.durability != "event":
            write(text)
        else:
            await _shielded(asyncio.ensure_future(asyncio.to_thread(write, text)))

    async def _sync(self) -> None:
        while self._dirty:
            self._dirty = False
            await asyncio.to_thread(self._store.sync)

    def _raise_if_sync_failed(self) -> None:
        job = self._syncing
        if job is not None and job.done() and job.exception() is not None:
            self._syncing = None
            job.result()


async def _shielded(job: asyncio.Future[None]) -> None:
    """Await `job` to its end even if we are cancelled meanwhile: the run lets go of its
    directory (and its lock) only once no write is under way."""
    try:
        await asyncio.shield(job)
    except asyncio.CancelledError:
        await asyncio.wait({job})
        raise


def pending(store: RunStore, state: RunState) -> Inflight | None:
    """The delegation that was under way after the checkpoint `state`, if the run died in it."""
    inflight = store.load_inflight()
    return inflight if inflight is not None and inflight.follows(state) else None


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
