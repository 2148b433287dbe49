"""The live progress bar of `orchestrator eval`: done/total, running accuracy, cost, ETA.

Counts the trials finished before this invocation (on `--resume`) as done, so the bar and
the running accuracy cover the whole evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from orchestrator.evaluation.records import TrialRecord


class EvalProgress:
    def __init__(self, console: Console, total: int, done: Sequence[TrialRecord]) -> None:
        self._console = console
        self._correct = sum(r.correct for r in done)
        self._finished = len(done)
        self._cost = sum(r.cost_usd for r in done)
        self._progress = Progress(
            TextColumn("[bold]eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("acc {task.fields[accuracy]}"),
            TextColumn("cost {task.fields[cost]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(
            "eval", total=total, completed=len(done), accuracy=self._accuracy(), cost=self._spent()
        )

    def _accuracy(self) -> str:
        return f"{100 * self._correct / self._finished:.1f}%" if self._finished else "-"

    def _spent(self) -> str:
        return f"${self._cost:.4f}"

    def __call__(self, record: TrialRecord) -> None:
        """Index subscriber: one finished (or interrupted) trial."""
        if not record.final:
            return  # interrupted: it runs again on --resume, not done yet
        self._finished += 1
        self._correct += record.correct
        self._cost += record.cost_usd
        mark = "[green]✓[/]" if record.correct else "[red]✗[/]"
        why = ""
        if not record.correct:
            wrong = f"answered {record.extracted!r}, expected {record.expected!r}"
            why = f" [dim]({escape(record.error or wrong)})[/]"
        self._progress.console.print(
            f"{mark} {escape(record.task_id)} r{record.repeat} [dim]{record.stop_reason}, "
            f"{record.seconds:.1f}s, ${record.cost_usd:.4f}[/]{why}",
            highlight=False,
        )
        self._progress.update(self._task, advance=1, accuracy=self._accuracy(), cost=self._spent())

    def __enter__(self) -> EvalProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
