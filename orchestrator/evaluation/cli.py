"""`orchestrator eval`: run a suite, rebuild a report, compare two evaluations.

    orchestrator eval SUITE [options]       run (or with --resume, finish) an evaluation
    orchestrator eval report DIR            rebuild summary.json, report.md and the charts
    orchestrator eval compare DIR_A DIR_B   per-task differences between two evaluations

Mounted by the main CLI with `app.add_typer(eval_app, name="eval")`. A first argument
that is not a subcommand is taken as the SUITE of `eval run`, so `eval SUITE` reads as
the issue asks while `report` and `compare` stay subcommands.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from orchestrator.config import load_settings
from orchestrator.dirlock import DirLock
from orchestrator.errors import OrchestratorError
from orchestrator.evaluation import compare as comparing
from orchestrator.evaluation import report, runner
from orchestrator.evaluation.progress import EvalProgress
from orchestrator.evaluation.records import EvalDir
from specialists.models.protocol import ModelError

console = Console()
errors = Console(stderr=True)


class _SuiteFirst(TyperGroup):
    """`eval SUITE ...` means `eval run SUITE ...`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=_SuiteFirst,
    help=(
        "Evaluate the orchestrator on a task suite (GAIA-style JSONL or our YAML).\n\n"
        "Run a suite: orchestrator eval SUITE [OPTIONS] (the options: orchestrator eval run --help)\n\n"
        "Rebuild a report: orchestrator eval report DIR\n\n"
        "Compare two evaluations: orchestrator eval compare DIR_A DIR_B\n\n"
        "Offline example: orchestrator eval evals/sample-scripted/suite.yaml"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@eval_app.command("run")
def run_command(
    suite: Annotated[Path, typer.Argument(help="A suite file: *.yaml (ours) or *.jsonl (GAIA).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Evaluation directory (default: RUNS_DIR/evals/<time>-<suite>)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Real model for every task, e.g. openai:gpt-4o (replaces scripted models)."
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, help="Trials run at the same time.")
    ] = 1,
    repeats: Annotated[
        int,
        typer.Option("--repeats", "-k", min=1, help="Runs per task (for mean, spread, pass@k)."),
    ] = 1,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N (matching) tasks.")
    ] = None,
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help="Only tasks whose id or a tag matches this glob, e.g. 'web' or 'pydocs-*'.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="Finish the evaluation in --out: skip finished trials, rerun the rest "
            "(tasks, repeats and model come from its eval.json)."
        ),
    ] = False,
    rerun_errors: Annotated[
        bool, typer.Option(help="With --resume, also rerun trials that ended in an error.")
    ] = False,
    backend: Annotated[
        str, typer.Option(help="Where trials run: 'local' (asyncio) or 'ray' (a Ray cluster).")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to use: 'auto', or ray://HEAD:10001 (default: start a local one)."
        ),
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="Model for tasks scored by the 'judge' scorer.")
    ] = None,
    team: Annotated[
        str | None,
        typer.Option(help="Default team for tasks that name none, e.g. 'web_surfer,file_surfer'."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file.")] = None,
    stop_after_errors: Annotated[
        int,
        typer.Option(
            min=0,
            help="Stop after this many trials in a row fail with the same provider error "
            "(0: never).",
        ),
    ] = 3,
) -> None:
    """Run every task of SUITE, each in its own run directory; write summary.json and report.md."""
    if backend not in ("local", "ray"):
        _fail(f"unknown backend {backend!r}; choose 'local' or 'ray'")
    if rerun_errors and not resume:
        _fail("--rerun-errors only makes sense with --resume")
    try:
        settings, _ = load_settings(config, os.environ)
        if team:
            settings = settings.model_copy(
                update={"team": [t.strip() for t in team.split(",") if t.strip()]}
            )
        if resume and out is None:
            _fail("--resume needs --out DIR: the evaluation to finish")
        options = runner.EvalOptions(
            out=out or runner.default_out(settings, suite),
            repeats=repeats,
            concurrency=concurrency,
            backend="ray" if backend == "ray" else "local",
            ray_address=ray_address,
            model=model,
            judge_model=judge_model,
            pattern=filter_,
            limit=limit,
            resume=resume,
            rerun_errors=rerun_errors,
            stop_after_same_error=stop_after_errors,
        )
        # One process per evaluation: a second `--resume` would run the same trials twice.
        lock = DirLock(options.out, "this evaluation")
        if resume and options.out.is_dir():
            lock.acquire()
        planned = runner.plan(suite, options, settings)
        lock.acquire()
        chosen = runner.make_backend(options)
    except (OrchestratorError, ModelError) as exc:
        _fail(str(exc))
    eval_dir = planned.eval_dir
    total = len(planned.manifest.trials())
    console.print(
        f"[bold]{planned.manifest.suite_name}[/]: {total} trial(s), {len(planned.already_done)} "
        f"already done, {len(planned.jobs)} to run on {backend} (concurrency {concurrency})\n"
        f"[dim]evaluation directory: {eval_dir.root}[/]",
        highlight=False,
    )
    provider_down: runner.ProviderDown | None = None
    with EvalProgress(console, total, planned.already_done) as progress:
        try:
            asyncio.run(runner.execute(planned, chosen, progress))
        except KeyboardInterrupt:
            progress_stopped = True
        except runner.ProviderDown as exc:
            progress_stopped, provider_down = False, exc
        except OrchestratorError as exc:
            _fail(str(exc))
        else:
            progress_stopped = False
    summary = report.write(eval_dir)
    if provider_down is not None:
        console.print(f"[dim]report: {eval_dir.root / report.REPORT}[/]", highlight=False)
        _fail(f"{provider_down}: orchestrator eval {suite} --out {eval_dir.root} --resume", code=1)
    if progress_stopped:
        errors.print(
            f"\n[yellow]Interrupted.[/] Finished trials are kept; finish with:\n"
            f"  orchestrator eval {suite} --out {eval_dir.root} --resume",
            highlight=False,
            soft_wrap=True,  # a command to copy: never wrapped
        )
        raise typer.Exit(130)
    _print_summary(summary, eval_dir.root)


@eval_app.command("report")
def report_command(
    eval_dir: Annotated[Path, typer.Argument(help="An evaluation directory (it has eval.json).")],
) -> None:
    """Rebuild summary.json, report.md and the charts of an evaluation from its index."""
    try:
        summary = report.write(EvalDir(eval_dir))
    except OrchestratorError as exc:
        _fail(str(exc))
    _print_summary(summary, eval_dir)


@eval_app.command("compare")
def compare_command(
    dir_a: Annotated[Path, typer.Argument(help="The baseline evaluation directory.")],
    dir_b: Annotated[Path, typer.Argument(help="The evaluation to compare with it.")],
    all_tasks: Annotated[bool, typer.Option("--all", help="Also list unchanged tasks.")] = False,
) -> None:
    """Show per-task differences between two evaluations of the same suite."""
    try:
        result = comparing.compare(EvalDir(dir_a), EvalDir(dir_b))
    except OrchestratorError as exc:
        _fail(str(exc))
    table = Table(
        "task",
        "change",
        "A correct",
        "B correct",
        "Δ cost",
        "Δ time",
        "Δ rounds",
        title=f"A: {result.a_name}\nB: {result.b_name}",
    )
    for d in result.diffs:
        if d.change == "same" and not all_tasks:
            continue
        table.add_row(
            d.task_id,
            _colored(d.change),
            comparing.cell(d.a),
            comparing.cell(d.b),
            d.delta("cost_usd", "$", 4),
            d.delta("seconds", "", 1, "s"),
            d.delta("rounds", "", 1),
        )
    console.print(table)
    counts = ", ".join(
        f"{result.count(c)} {c}"
        for c in ("regressed", "improved", "same", "only in A", "only in B")
    )
    console.print(
        f"accuracy A {100 * result.accuracy_a:.1f}% → B {100 * result.accuracy_b:.1f}%; {counts}",
        highlight=False,
    )


def _colored(change: str) -> str:
    color = {"regressed": "red", "improved": "green"}.get(change)
    return f"[{color}]{change}[/]" if color else change


def _print_summary(summary: Any, root: Path) -> None:
    a = summary.accuracy
    table = Table("", "trials", "correct", "accuracy", title="Accuracy")
    table.add_row("overall", str(a.trials), str(a.correct), f"{100 * a.mean:.1f}%")
    for name, acc in summary.by_level.items():
        table.add_row(name, str(acc.trials), str(acc.correct), f"{100 * acc.mean:.1f}%")
    console.print(table)
    t = summary.totals
    stops = ", ".join(f"{k} {v}" for k, v in summary.stop_reasons.items())
    console.print(
        f"cost ${t.cost_usd:.4f} · {t.tokens:,} tokens · {t.seconds:.1f}s · stop reasons: {stops}",
        highlight=False,
    )
    console.print(f"report: {root / report.REPORT}", highlight=False)
