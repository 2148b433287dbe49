"""Where the `user` specialist's questions go: a terminal, a script, or nobody."""

from __future__ import annotations

import sys

from rich.console import Console

from orchestrator.events import settle_views
from orchestrator.terminal import read_line


class NoHuman:
    async def ask(self, question: str) -> str | None:
        return None


class ScriptedHuman:
    """Answers from a list, in order; once the list is used up, nobody is there."""

    def __init__(self, replies: list[str], cursor: int = 0) -> None:
        self._replies = replies
        self.cursor = cursor
        self.questions: list[str] = []

    async def ask(self, question: str) -> str | None:
        self.questions.append(question)
        if self.cursor >= len(self._replies):
            return None
        reply = self._replies[self.cursor]
        self.cursor += 1
        return reply

    def unused(self) -> int:
        return len(self._replies) - self.cursor


class ConsoleHuman:
    """Asks on the terminal. Without a terminal (piped stdin), nobody is there."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)

    async def ask(self, question: str) -> str | None:
        if not sys.stdin.isatty():
            return None
        settle_views()  # the step that led to the question is shown first
        self._console.print(f"\n[bold magenta]The team asks you:[/] {question}")
        self._console.print("[dim](press Enter on an empty line to decline)[/]")
        return await read_line("> ") or None
