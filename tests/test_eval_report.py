"""The report's arithmetic (accuracy with repeats, spread, pass@k, missing trials, stop
reasons) and `compare`, on evaluation directories written through the real index."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.evaluation import compare, metrics, report
from orchestrator.evaluation.records import EvalDir, Manifest, TaskInfo, TrialRecord


def manifest(tasks: dict[str, int | None], repeats: int) -> Manifest:
    return Manifest(
        suite="/suite.yaml",
        suite_name="s",
        created="2026-01-01T00:00:00+00:00",
        repeats=repeats,
        task_ids=list(tasks),
        tasks={t: TaskInfo(level=level, tags=["web"], expected="x") for t, level in tasks.items()},
    )


def trial(task: str, repeat: int, correct: bool, **fields: object) -> TrialRecord:
    base: dict[str, object] = {
        "task_id": task,
        "repeat": repeat,
        "outcome": "finished",
        "stop_reason": "satisfied",
        "correct": correct,
        "expected": "x",
        "extracted": "x" if correct else "y",
        "level": 1,
        "tags": ["web"],
        "cost_usd": 0.01,
        "tokens": 100,
        "seconds": 2.0,
        "rounds": 3,
        "run_dir": f"runs/{task}/r{repeat}/run",
    }
    base.update(fields)
    return TrialRecord.model_validate(base)


def evaluation(tmp_path: Path, m: Manifest, records: list[TrialRecord]) -> EvalDir:
    eval_dir = EvalDir(tmp_path)
    eval_dir.write_manifest(m)
    for record in records:
        eval_dir.append(record)
    return eval_dir


def test_accuracy_spread_and_pass_at_k() -> None:
    # Task a: right in 1 of 3 repeats; task b: right in all 3.
    records = [trial("a", 1, True), trial("a", 2, False), trial("a", 3, False)]
    records += [trial("b", k, True) for k in (1, 2, 3)]
    acc = metrics.accuracy(records)
    assert (acc.tasks, acc.trials, acc.correct) == (2, 6, 4)
    assert acc.mean == pytest.approx(4 / 6, abs=1e-4)  # repeats: 100%, 50%, 50%
    assert (acc.low, acc.high) == (0.5, 1.0)
    assert acc.spread == pytest.approx(0.2887, abs=1e-4)  # sample std of 1, .5, .5
    # pass@k for a: 1 - C(2,k)/C(3,k) -> 1/3, 2/3, 1; for b: 1.
    assert acc.pass_at == {
        1: pytest.approx(0.6667, abs=1e-4),
        2: pytest.approx(0.8333, abs=1e-4),
        3: 1.0,
    }


def test_missing_and_interrupted_trials_count_as_failures(tmp_path: Path) -> None:
    m = manifest({"a": 1, "b": 2, "c": None}, repeats=1)
    eval_dir = evaluation(
        tmp_path,
        m,
        [
            trial("a", 1, True),
            trial("b", 1, False, outcome="cancelled", stop_reason="cancelled", error="interrupted"),
        ],
    )
    summary = report.write(eval_dir)
    assert not summary.complete
    assert summary.accuracy.trials == 3
    assert summary.accuracy.correct == 1
    assert summary.stop_reasons == {"missing": 2, "satisfied": 1}
    assert set(summary.by_level) == {"level 1", "level 2", "no level"}
    assert [(f.task_id, f.stop_reason, f.detail) for f in summary.failures] == [
        ("b", "missing", "interrupted"),
        ("c", "missing", "never ran"),
    ]
    text = (tmp_path / "report.md").read_text()
    assert "**Incomplete:** 2 trial(s) have no result" in text
    assert f"--out {tmp_path} --resume" in text


def test_the_latest_record_of_a_trial_wins_and_torn_lines_are_skipped(tmp_path: Path) -> None:
    m = manifest({"a": 1}, repeats=1)
    eval_dir = evaluation(tmp_path, m, [trial("a", 1, False, outcome="error", stop_reason="error")])
    with eval_dir.index_path.open("a") as handle:
        handle.write('{"task_id": "a", "rep')  # a crash mid-write
    eval_dir.append(trial("a", 1, True))  # the rerun, after the crash
    records = list(eval_dir.records())
    assert [r.outcome for r in records] == ["error", "finished"]
    assert eval_dir.latest()[("a", 1)].correct
    assert eval_dir.done() == {("a", 1)}


def test_per_task_rows_average_their_trials() -> None:
    rows = metrics.task_rows(
        [
            trial("a", 1, True, cost_usd=0.02, rounds=2),
            trial("a", 2, False, cost_usd=0.04, rounds=5, stop_reason="max_rounds"),
        ]
    )
    (row,) = rows
    assert (row.trials, row.correct, row.cost_usd, row.rounds) == (2, 1, 0.03, 3.5)
    assert row.stop_reasons == {"satisfied": 1, "max_rounds": 1}


def test_compare_lists_regressions_first(tmp_path: Path) -> None:
    m = manifest({"same": 1, "worse": 1, "better": 1, "gone": 1}, repeats=1)
    a = evaluation(
        tmp_path / "a",
        m,
        [
            trial("same", 1, True),
            trial("worse", 1, True),
            trial("better", 1, False),
            trial("gone", 1, True),
        ],
    )
    m2 = manifest({"same": 1, "worse": 1, "better": 1, "new": 1}, repeats=1)
    b = evaluation(
        tmp_path / "b",
        m2,
        [
            trial("same", 1, True),
            trial("worse", 1, False, cost_usd=0.05),
            trial("better", 1, True),
            trial("new", 1, True),
        ],
    )
    result = compare.compare(a, b)
    assert [(d.task_id, d.change) for d in result.diffs] == [
        ("worse", "regressed"),
        ("better", "improved"),
        ("gone", "only in A"),
        ("new", "only in B"),
        ("same", "same"),
    ]
    assert result.diffs[0].delta("cost_usd", "$") == "+$0.0400"
    assert result.diffs[2].delta("cost_usd") == "-"
    assert (result.accuracy_a, result.accuracy_b) == (0.75, 0.75)
