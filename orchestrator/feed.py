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


class LogTail:
    """The events appended to a run's `events.jsonl` since the last `read`: whole lines
    only (a line being written is taken next time); lines that do not parse are skipped,
    as `RunStore.events` skips them."""

    def __init__(self, run_dir: Path) -> None:
        self._path = run_dir / EVENTS
        self._offset = _whole_lines_end(self._path)  # a torn last line is cut on resume

    def read(self) -> list[Event]:
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        whole = data[: data.rfind(b"\n") + 1]
        self._offset += len(whole)
        events: list[Event] = []
        for line in whole.splitlines():
            try:
                events.append(parse_event(line))
            except (ValidationError, RecursionError):
                continue
        return events


def _whole_lines_end(path: Path, chunk: int = 65536) -> int:
    """The offset just after the last newline of `path` (0 if none, or no file)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return 0
    with handle:
        end = handle.seek(0, 2)
        while end > 0:
            start = max(0, end - chunk)
            handle.seek(start)
            newline = handle.read(end - start).rfind(b"\n")
            if newline >= 0:
                return start + newline + 1
            end = start
    return 0
