"""Bounded capture of a program's output, read as it arrives.

A program may print gigabytes; none of it may sit in memory. `CappedOutput` keeps the
head and the tail of a stream (the tail is where tracebacks are) within a fixed budget,
counts everything else, and says so with an explicit marker in the text. Past a ceiling
it reports the stream as runaway so the executor can stop the program.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

CHUNK = 64 * 1024


def marker(dropped: int) -> str:
    return f"\n[... {dropped:,} bytes of output truncated ...]\n"


class CappedOutput:
    """The first and last bytes of a stream, within `keep` bytes; the rest only counted."""

    def __init__(self, keep: int, ceiling: int) -> None:
        self._head_size = max(0, keep - keep // 3)
        self._tail_size = max(0, keep // 3)
        self._ceiling = ceiling
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_size - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk and self._tail_size:
            self._tail += chunk[-self._tail_size :]
            if len(self._tail) > 2 * self._tail_size:  # trim rarely: amortised O(1)
                del self._tail[: len(self._tail) - self._tail_size]

    @property
    def runaway(self) -> bool:
        return self.total > self._ceiling

    @property
    def truncated(self) -> bool:
        return self.total > len(self._head) + len(self._tail_kept())

    def _tail_kept(self) -> bytes:
        return bytes(self._tail[-self._tail_size :]) if self._tail_size else b""

    def text(self) -> str:
        tail = self._tail_kept()
        dropped = self.total - len(self._head) - len(tail)
        head = self._head.decode(errors="replace")
        if dropped <= 0:
            return head + tail.decode(errors="replace")
        return head + marker(dropped) + tail.decode(errors="replace")


async def pump(
    stream: asyncio.StreamReader, sink: CappedOutput, on_runaway: Callable[[], None]
) -> None:
    """Read `stream` to its end into `sink`; call `on_runaway` once past the ceiling."""
    warned = False
    while chunk := await stream.read(CHUNK):
        sink.feed(chunk)
        if sink.runaway and not warned:
            warned = True
            on_runaway()
