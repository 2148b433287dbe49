"""PNG charts for the report, where a picture reads faster than a table: accuracy by
level, and cost per task (tokens when no prices are known). matplotlib is optional (the
`eval` extra); without it the report says so and keeps its tables."""

from __future__ import annotations

from pathlib import Path

from orchestrator.evaluation.summary import Summary

ACCURACY = "accuracy_by_level.png"
COST = "cost_per_task.png"


def draw(summary: Summary, folder: Path) -> tuple[list[str], str | None]:
    """Draw the charts into `folder`; return their file names and a note if skipped."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window
    except ImportError:
        return [], "Charts skipped: matplotlib is not installed (pip install 'orchestrator[eval]')."
    written = []
    if summary.by_level:
        _accuracy_by_level(summary, folder / ACCURACY)
        written.append(ACCURACY)
    if summary.tasks:
        _cost_per_task(summary, folder / COST)
        written.append(COST)
    return written, None


def _accuracy_by_level(summary: Summary, path: Path) -> None:
    import matplotlib.pyplot as pyplot

    names = list(summary.by_level)
    values = [100 * summary.by_level[n].mean for n in names]
    fig, ax = pyplot.subplots(figsize=(max(4.0, 1.3 * len(names) + 2), 3.2), dpi=100)
    bars = ax.bar(names, values, color="#4C72B0")
    for bar, name in zip(bars, names, strict=True):
        acc = summary.by_level[name]
        ax.annotate(
            f"{acc.correct}/{acc.trials}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.set_ylim(0, 110)
    ax.set_ylabel("accuracy (%)")
    overall = 100 * summary.accuracy.mean
    ax.set_title(f"Accuracy by level (overall {overall:.0f}%)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    pyplot.close(fig)


def _cost_per_task(summary: Summary, path: Path) -> None:
    import matplotlib.pyplot as pyplot

    rows = summary.tasks
    priced = any(r.cost_usd > 0 for r in rows)
    values = [r.cost_usd if priced else r.tokens for r in rows]
    passed = [r.correct == r.trials for r in rows]
    colors = ["#55A868" if ok else "#C44E52" for ok in passed]
    fig, ax = pyplot.subplots(figsize=(7.0, 0.35 * len(rows) + 1.4), dpi=100)
    # Colour is not the only cue: a failed task's bar is hatched and its label says so.
    bars = ax.barh(
        [r.task_id for r in rows],
        values,
        color=colors,
        hatch=[None if ok else "//" for ok in passed],
        edgecolor="black",
        linewidth=0.5,
    )
    for bar, value, ok in zip(bars, values, passed, strict=True):
        shown = f"${value:.4f}" if priced else f"{value:,.0f}"
        ax.annotate(
            f" {shown} {'✓ correct' if ok else '✗ failed'}",
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, max(values, default=0) * 1.45 or 1)
    ax.invert_yaxis()
    ax.set_xlabel(
        "mean cost per trial (USD)" if priced else "mean tokens per trial (no prices known)"
    )
    ax.set_title(
        "Cost per task (✓ always correct; red, hatched ✗ failed at least once)", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path)
    pyplot.close(fig)
