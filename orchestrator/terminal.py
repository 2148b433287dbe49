"""Reading a line from the person at the terminal without blocking the event loop.

A daemon thread does the blocking `input()`: if the run is cancelled (Ctrl-C) while a
question is open, the thread is simply abandoned, instead of holding up interpreter exit
the way a thread-pool worker stuck in `input()` would.
"""

from __future__ import annotations

import asyncio
import threading


async def read_line(prompt: str) -> str | None:
    """One line typed by the person, or None at end of input."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = loop.create_future()

    def deliver(value: str | None) -> None:
        if not answer.done():
            answer.set_result(value)

    def read() -> None:
        try:
            line: str | None = input(prompt)
        except (EOFError, OSError):
            line = None
        loop.call_soon_threadsafe(deliver, line)

    threading.Thread(target=read, name="terminal-input", daemon=True).start()
    return await answer
