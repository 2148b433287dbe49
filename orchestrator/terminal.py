"""Reading a line from the person at the terminal without blocking the event loop.

The event loop watches stdin's file descriptor and reads it unbuffered, so a question left
open when the run is cancelled (Ctrl-C) leaves nothing behind: no worker thread stuck in
`input()` holding stdin's buffer lock, which would abort the interpreter at exit.
"""

from __future__ import annotations

import asyncio
import os
import sys

from orchestrator.events import settle_views


async def read_line(prompt: str) -> str | None:
    """One line typed by the person (without the newline), or None at end of input."""
    settle_views()
    sys.stdout.write(prompt)
    sys.stdout.flush()
    fd = sys.stdin.fileno()
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str | None] = loop.create_future()
    received = bytearray()

    def on_readable() -> None:
        chunk = os.read(fd, 4096)
        received.extend(chunk)
        if (not chunk or b"\n" in received) and not line.done():
            text = received.decode(errors="replace")
            line.set_result(text.split("\n", 1)[0].rstrip("\r") if text else None)

    loop.add_reader(fd, on_readable)
    try:
        return await line
    finally:
        loop.remove_reader(fd)
