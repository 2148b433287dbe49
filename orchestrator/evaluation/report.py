"""The evaluation report: `summary.json` for programs, `report.md` (+ PNG charts) for people.

Rebuilt from `eval.json` and the index alone, so `orchestrator eval report DIR` gives the
same report at any time, also for an interrupted evaluation (its missing trials are
counted as failures and the report says how to resume).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.evaluation import charts, metrics
from orchestrator.evaluation.metrics import Accuracy
from orchestrator.evaluation.records import EvalDir, TrialRecord
from orchestrator.evaluation.summary import Failure, Summary
from orchestrator.store import write_atomic

SUMMARY = "summary.json"
REPORT = "report.md"


def summarize(eval_dir: EvalDir) -> tuple[Summary, list[TrialRecord]]:
    manifest = eval_dir.manifest()
    records = metrics.complete(manifest, eval_dir.latest())
    summary = Summary(
        suite=manifest.suite,
        suite_name=manifest.suite_name,
        model=manifest.model,
        repeats=manifest.repeats,
        created=manifest.created,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        complete=all(r.stop_reason != metrics.MISSING for r in records),
        accuracy=metrics.accuracy(records),
        by_level=metrics.grouped(records, metrics.level_of),
        by_tag=metrics.grouped(records, metrics.tags_of),
        totals=metrics.totals(records),
        stop_reasons=metrics.stop_reasons(records),
        tasks=metrics.task_rows(records),
        failures=[_failure(r) for r in metrics.failures(records)],
        charts=[],
    )
    return summary, records


def _like_the_charts(path: Path) -> None:
    """The permissions a newly created file gets (as the PNGs do), not mkstemp's 0600."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


def write(eval_dir: EvalDir) -> Summary:
    """Write summary.json, report.md and the charts into the evaluation directory."""
    summary, _ = summarize(eval_dir)
    drawn, note = charts.draw(summary, eval_dir.root)
    summary = summary.model_copy(update={"charts": drawn, "charts_note": note})
    for name, text in (
        (SUMMARY, summary.model_dump_json(indent=2)),
        (REPORT, render(summary, eval_dir.root)),
    ):
        write_atomic(eval_dir.root / name, text)
        _like_the_charts(eval_dir.root / name)
    return summary


def _failure(r: TrialRecord) -> Failure:
    detail = r.error or r.score_detail
    return Failure(
        task_id=r.task_id,
        repeat=r.repeat,
        outcome=r.outcome,
        stop_reason=r.stop_reason,
        status=r.status,
        answer=r.extracted,
        expected=r.expected,
        detail=detail,
        run_dir=r.run_dir,
    )


def render(s: Summary, root: Path) -> str:
    lines = [f"# Evaluation: {s.suite_name}", ""]
    lines += [
        f"Suite `{s.suite}` · model: {s.model or 'scripted (per task)'} · "
        f"repeats: {s.repeats} · started {s.created} · report {s.generated}",
        "",
    ]
    if not s.complete:
        lines += [
            f"> **Incomplete:** {s.stop_reasons.get(metrics.MISSING, 0)} trial(s) have no "
            "result and count as failures. Finish with "
            f"`orchestrator eval {s.suite} --out {root} --resume`.",
            "",
        ]
    lines += _accuracy_section(s) + _tasks_section(s) + _stops_section(s) + _failures_section(s)
    return "\n".join(lines) + "\n"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _accuracy_table(rows: dict[str, Accuracy], label: str) -> list[str]:
    ks = sorted({k for a in rows.values() for k in a.pass_at})
    head = f"| {label} | tasks | trials | correct | accuracy | spread | " + " | ".join(
        f"pass@{k}" for k in ks
    )
    lines = [head + " |", "|" + "---|" * (6 + len(ks))]
    for name, a in rows.items():
        spread = f"±{_pct(a.spread)} ({_pct(a.low)} to {_pct(a.high)})" if a.spread else "-"
        passes = " | ".join(_pct(a.pass_at.get(k, 0.0)) for k in ks)
        lines.append(
            f"| {name} | {a.tasks} | {a.trials} | {a.correct} | {_pct(a.mean)} | {spread} | {passes} |"
        )
    return lines


def _accuracy_section(s: Summary) -> list[str]:
    lines = ["## Accuracy", ""]
    lines += _accuracy_table({"overall": s.accuracy}, "")
    lines += [""]
    if "accuracy_by_level.png" in s.charts:
        lines += ["![Accuracy by level](accuracy_by_level.png)", ""]
    lines += ["### By level", "", *_accuracy_table(s.by_level, "level"), ""]
    lines += ["### By tag", "", *_accuracy_table(s.by_tag, "tag"), ""]
    if s.charts_note:
        lines += [f"_{s.charts_note}_", ""]
    return lines


def _tasks_section(s: Summary) -> list[str]:
    t = s.totals
    lines = ["## Cost and effort per task", ""]
    if "cost_per_task.png" in s.charts:
        lines += ["![Cost per task](cost_per_task.png)", ""]
    lines += [
        f"Total: {t.trials} trial(s), ${t.cost_usd:.4f}, {t.tokens:,} tokens, "
        f"{t.seconds:.1f}s of run time (per trial: ${t.mean_cost_usd:.4f}, {t.mean_seconds:.1f}s).",
        "Per task, the mean over its trials:",
        "",
        "| task | level | tags | correct | cost | tokens | time | rounds | stalls | replans | stop reasons |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in s.tasks:
        stops = ", ".join(f"{k} x{v}" if v > 1 else k for k, v in r.stop_reasons.items())
        lines.append(
            f"| {r.task_id} | {r.level or '-'} | {', '.join(r.tags) or '-'} | "
            f"{r.correct}/{r.trials} | ${r.cost_usd:.4f} | {r.tokens:,.0f} | {r.seconds:.1f}s | "
            f"{r.rounds:g} | {r.stalls:g} | {r.replans:g} | {stops} |"
        )
    return [*lines, ""]


def _stops_section(s: Summary) -> list[str]:
    lines = ["## Stop reasons", "", "| stop reason | trials |", "|---|---|"]
    lines += [f"| {reason} | {n} |" for reason, n in s.stop_reasons.items()]
    return [*lines, ""]


def _failures_section(s: Summary) -> list[str]:
    lines = ["## Failures", ""]
    if not s.failures:
        return [*lines, "None: every trial was scored correct.", ""]
    lines += [
        "| task | repeat | stop reason | status | answer | expected | why | run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in s.failures:
        run = f"[{Path(f.run_dir).name}]({f.run_dir})" if f.run_dir else "-"
        lines.append(
            f"| {f.task_id} | {f.repeat} | {f.stop_reason} | {f.status or '-'} | "
            f"{_cell(f.answer)} | {_cell(f.expected)} | {_cell(f.detail)} | {run} |"
        )
    return [*lines, ""]


def _cell(text: str | None, limit: int = 120) -> str:
    if text is None:
        return "-"
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
