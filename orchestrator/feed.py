"""One run's events for any number of readers: what `events.jsonl` holds, then live.

A reader registers for live events *before* it reads the file, and skips every event whose
`seq` it has already yielded, so a reader that starts (or reconnects after `seq` N) while
the run is writing gets every later event exactly once, in order.

The live events come from the run's `EventBus` when the run executes in this process, or
from a `LogTail` of `events.jsonl` when it executes elsewhere (a Ray worker).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from orchestrator.events import Event, parse_event
from orchestrator.store import EVENTS, RunStore


class EventFeed:
    """An `EventBus` subscriber that fans a run's events out to its readers."""

    def __init__(self, run_dir: Path) -> None:
        self._run_dir = run_dir
        self._readers: set[asyncio.Queue[Event | None]] = set()
        self.closed = False

    def __call__(self, event: Event) -> None:
        self.publish(event)

    def publish(self, event: Event) -> None:
        """The subscriber to give a bus that must not close the feed when the run stops
        (`EventBus.close` closes subscribers that have `close`): a parked run's readers
        stay attached until it resumes."""
        for queue in self._readers:
            queue.put_nowait(event)

    def close(self) -> None:
        """The run is no longer executing here: readers finish after what they have."""
        self.closed = True
        for queue in self._readers:
            queue.put_nowait(None)

    def reopen(self) -> None:
        self.closed = False

    async def follow(
        self, after: int = 0, *, idle: float | None = None
    ) -> AsyncIterator[Event | None]:
        """Events with `seq > after`: the log, then live until the run stops executing.
        With `idle`, yields None after that many quiet seconds (an SSE keep-alive)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        live = not self.closed
        if live:
            self._readers.add(queue)
        try:
            last = after
            logged = await asyncio.to_thread(lambda: list(RunStore(self._run_dir).events()))
            for event in logged:
                if event.seq > last:
                    last = event.seq
                    yield event
            while live:
                try:
                    item = await asyncio.wait_for(queue.get(), idle)
                except TimeoutError:
                    yield None
                    continue
                if item is None:
                    break
                if item.seq > last:
                    last = item.seq
                    yield item
        finally:
            self._readers.discard(queue)


MARK_BYTES = 256  # enough of a line's start to hold its run id and seq


class LogTail:
    """The events appended to a run's `events.jsonl` since the last `read` (those there
    when it is made are not news): whole lines only (a line being written is taken next
    time); lines that do not parse are skipped, as `RunStore.events` skips them.

    The log can also be rewritten under it: a resumed run sets aside the tail of a round
    cut short (the file is cut back to its last checkpoint, then appended to). Event
    numbers are never given out twice, so when the last line read is no longer where it
    was, the file is read again from its start, skipping every seq already returned."""

    def __init__(self, run_dir: Path) -> None:
        self._path = run_dir / EVENTS
        self._offset = 0
        self._last_seq = 0
        self._mark = (0, b"")  # where the last line read starts, and its first bytes
        self.read()

    def read(self) -> list[Event]:
        try:
            handle = self._path.open("rb")
        except FileNotFoundError:
            return []
        with handle:
            if not self._unchanged(handle):
                self._offset = 0
            handle.seek(self._offset)
            data = handle.read()
        whole = data[: data.rfind(b"\n") + 1]
        events: list[Event] = []
        at = self._offset
        for line in whole.splitlines(keepends=True):
            self._mark = (at, line[:MARK_BYTES])
            at += len(line)
            try:
                event = parse_event(line)
            except (ValidationError, RecursionError):
                continue
            if event.seq > self._last_seq:
                self._last_seq = event.seq
                events.append(event)
        self._offset = at
        return events

    def _unchanged(self, handle: BinaryIO) -> bool:
        start, prefix = self._mark
        if not prefix:
            return True
        handle.seek(start)
        return handle.read(len(prefix)) == prefix
