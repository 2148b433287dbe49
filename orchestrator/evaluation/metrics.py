"""From trial records to the numbers in the report. Pure functions, no I/O.

Every planned trial counts: one with no final record (never run, or interrupted) is
scored incorrect with the stop reason `missing`. With K repeats:

- `mean` is the mean over repeats of that repeat's accuracy, `spread` their sample
  standard deviation (0 with one repeat), `low`/`high` the worst and best repeat;
- `pass@k` (k = 1..K) is the unbiased estimator of Chen et al. (2021), averaged over
  tasks: 1 - C(n-c, k) / C(n, k) for a task with n trials of which c are correct.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from math import comb

from pydantic import BaseModel

from orchestrator.evaluation.records import Manifest, TrialRecord

MISSING = "missing"


class Accuracy(BaseModel):
    tasks: int
    trials: int
    correct: int
    mean: float
    spread: float
    low: float
    high: float
    pass_at: dict[int, float]


class TaskRow(BaseModel):
    task_id: str
    level: int | None
    tags: list[str]
    trials: int
    correct: int
    cost_usd: float  # mean per trial, here and below
    tokens: float
    seconds: float
    rounds: float
    stalls: float
    replans: float
    stop_reasons: dict[str, int]


class Totals(BaseModel):
    trials: int
    cost_usd: float
    tokens: int
    seconds: float  # summed over trials
    mean_cost_usd: float
    mean_seconds: float


def complete(manifest: Manifest, latest: dict[tuple[str, int], TrialRecord]) -> list[TrialRecord]:
    """One record per planned trial: the latest final one, or a `missing` placeholder."""
    rows = []
    for task_id, repeat in manifest.trials():
        record = latest.get((task_id, repeat))
        if record is None or not record.final:
            info = manifest.tasks[task_id]
            record = TrialRecord(
                task_id=task_id,
                repeat=repeat,
                outcome="cancelled",
                stop_reason=MISSING,
                error=record.error if record else "never ran",
                run_dir=record.run_dir if record else None,
                expected=info.expected,
                level=info.level,
                tags=info.tags,
                score_detail="no final record",
            )
        rows.append(record)
    return rows


def accuracy(records: Sequence[TrialRecord]) -> Accuracy:
    by_task: dict[str, list[TrialRecord]] = defaultdict(list)
    by_repeat: dict[int, list[TrialRecord]] = defaultdict(list)
    for r in records:
        by_task[r.task_id].append(r)
        by_repeat[r.repeat].append(r)
    per_repeat = [_rate(rs) for _, rs in sorted(by_repeat.items())] or [0.0]
    k_max = max((len(rs) for rs in by_task.values()), default=0)
    pass_at = {
        k: round(statistics.fmean(_pass_at(rs, k) for rs in by_task.values()), 4)
        for k in range(1, k_max + 1)
    }
    return Accuracy(
        tasks=len(by_task),
        trials=len(records),
        correct=sum(r.correct for r in records),
        mean=round(statistics.fmean(per_repeat), 4),
        spread=round(statistics.stdev(per_repeat), 4) if len(per_repeat) > 1 else 0.0,
        low=round(min(per_repeat), 4),
        high=round(max(per_repeat), 4),
        pass_at=pass_at,
    )


def _rate(records: Sequence[TrialRecord]) -> float:
    return sum(r.correct for r in records) / len(records) if records else 0.0


def _pass_at(records: Sequence[TrialRecord], k: int) -> float:
    n, c = len(records), sum(r.correct for r in records)
    if k > n:
        return float(c > 0)
    return 1.0 - comb(n - c, k) / comb(n, k)


def grouped(
    records: Sequence[TrialRecord], keys: Callable[[TrialRecord], Iterable[str]]
) -> dict[str, Accuracy]:
    groups: dict[str, list[TrialRecord]] = defaultdict(list)
    for r in records:
        for key in keys(r):
            groups[key].append(r)
    return {key: accuracy(rs) for key, rs in sorted(groups.items())}


def level_of(record: TrialRecord) -> list[str]:
    return [f"level {record.level}" if record.level is not None else "no level"]


def tags_of(record: TrialRecord) -> list[str]:
    return list(record.tags) or ["(untagged)"]


def task_rows(records: Sequence[TrialRecord]) -> list[TaskRow]:
    by_task: dict[str, list[TrialRecord]] = defaultdict(list)
    for r in records:
        by_task[r.task_id].append(r)
    rows = []
    for task_id, rs in by_task.items():
        rows.append(
            TaskRow(
                task_id=task_id,
                level=rs[0].level,
                tags=rs[0].tags,
                trials=len(rs),
                correct=sum(r.correct for r in rs),
                cost_usd=round(statistics.fmean(r.cost_usd for r in rs), 6),
                tokens=round(statistics.fmean(r.tokens for r in rs), 1),
                seconds=round(statistics.fmean(r.seconds for r in rs), 3),
                rounds=round(statistics.fmean(r.rounds for r in rs), 2),
                stalls=round(statistics.fmean(r.stalls for r in rs), 2),
                replans=round(statistics.fmean(r.replans for r in rs), 2),
                stop_reasons=dict(Counter(r.stop_reason for r in rs)),
            )
        )
    return rows


def stop_reasons(records: Sequence[TrialRecord]) -> dict[str, int]:
    return dict(Counter(r.stop_reason for r in records).most_common())


def totals(records: Sequence[TrialRecord]) -> Totals:
    n = len(records)
    cost = sum(r.cost_usd for r in records)
    seconds = sum(r.seconds for r in records)
    return Totals(
        trials=n,
        cost_usd=round(cost, 6),
        tokens=sum(r.tokens for r in records),
        seconds=round(seconds, 3),
        mean_cost_usd=round(cost / n, 6) if n else 0.0,
        mean_seconds=round(seconds / n, 3) if n else 0.0,
    )


def failures(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    return [r for r in records if not r.correct]
