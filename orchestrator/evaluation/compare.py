"""`orchestrator eval compare A B`: what changed, task by task, between two evaluations.

Tasks are matched by id. For each: correct trials in A and B, and the change in mean cost
and time; tasks only in one of them are listed as such. Regressions (fewer correct in B)
come first, then improvements, then the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.evaluation import metrics
from orchestrator.evaluation.metrics import TaskRow
from orchestrator.evaluation.records import EvalDir


@dataclass(frozen=True)
class TaskDiff:
    task_id: str
    a: TaskRow | None
    b: TaskRow | None

    @property
    def change(self) -> str:
        if self.a is None:
            return "only in B"
        if self.b is None:
            return "only in A"
        rate_a, rate_b = self.a.correct / self.a.trials, self.b.correct / self.b.trials
        if rate_b < rate_a:
            return "regressed"
        if rate_b > rate_a:
            return "improved"
        return "same"

    def delta(self, field: str, prefix: str = "", digits: int = 4, suffix: str = "") -> str:
        """B minus A for a per-task mean, e.g. `+$0.0120`; `-` if either is missing."""
        if self.a is None or self.b is None:
            return "-"
        change = float(getattr(self.b, field)) - float(getattr(self.a, field))
        sign = "+" if change >= 0 else "-"
        return f"{sign}{prefix}{abs(change):.{digits}f}{suffix}"


@dataclass(frozen=True)
class Comparison:
    a_name: str
    b_name: str
    accuracy_a: float
    accuracy_b: float
    diffs: list[TaskDiff]

    def count(self, change: str) -> int:
        return sum(1 for d in self.diffs if d.change == change)


_ORDER = {"regressed": 0, "improved": 1, "only in A": 2, "only in B": 3, "same": 4}


def compare(a: EvalDir, b: EvalDir) -> Comparison:
    rows_a, acc_a = _rows(a)
    rows_b, acc_b = _rows(b)
    ids = list(rows_a) + [t for t in rows_b if t not in rows_a]
    diffs = [TaskDiff(t, rows_a.get(t), rows_b.get(t)) for t in ids]
    diffs.sort(key=lambda d: _ORDER[d.change])
    return Comparison(str(a.root), str(b.root), acc_a, acc_b, diffs)


def _rows(eval_dir: EvalDir) -> tuple[dict[str, TaskRow], float]:
    records = metrics.complete(eval_dir.manifest(), eval_dir.latest())
    rows = {row.task_id: row for row in metrics.task_rows(records)}
    return rows, metrics.accuracy(records).mean


def cell(row: TaskRow | None) -> str:
    return "-" if row is None else f"{row.correct}/{row.trials}"
