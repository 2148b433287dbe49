"""The `orchestrator` command line. Each command is a thin shell over a module."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ledgers import Limits
from orchestrator import attachments, session
from orchestrator.columns import print_columns
from orchestrator.config import Settings, load_settings, with_model
from orchestrator.errors import OrchestratorError
from orchestrator.evaluation.cli import eval_app
from orchestrator.events import Subscriber
from orchestrator.indexing import index_app
from orchestrator.live import LiveView
from orchestrator.scenarios.runner import Outcome
from orchestrator.service.serve import serve
from orchestrator.state import FinalResult, HumanConfig
from orchestrator.store import RunStore, list_runs
from specialists.models.protocol import ModelError

app = typer.Typer(
    help=(
        "Solve open-ended tasks with a team of AI specialists, directed by an orchestrator "
        "that keeps a task ledger (facts and plan) and a progress ledger (who acts next).\n\n"
        "Try the offline demo first:  orchestrator scenario run scenarios/demo.yaml --watch"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(
    help="Run scenario files: scripted or real runs with expectations.", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")
app.add_typer(eval_app, name="eval")
app.add_typer(index_app, name="index")
app.command("serve")(serve)

console = Console()
errors = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $ORCHESTRATOR_CONFIG, ./orchestrator.yaml, ~/.config/orchestrator/config.yaml).",
    ),
]
RunsDirOpt = Annotated[
    Path | None,
    typer.Option("--runs-dir", help="Where run directories go (default: from config, ./runs)."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final answer.")]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="ORCHESTRATOR_SERVER",
        help="Use a running `orchestrator serve` at this URL instead of running here.",
    ),
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="ORCHESTRATOR_TOKEN", help="The server's token.")
]
JsonLogsOpt = Annotated[
    bool, typer.Option("--log-json", help="Also write every event as a JSON log line to stderr.")
]


def _fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _subscribers(quiet: bool, log_json: bool) -> list[Subscriber]:
    subs: list[Subscriber] = []
    if not quiet:
        subs.append(LiveView(console))
    if log_json:
        from orchestrator import logs

        logs.configure()
        subs.append(logs.EventLogger())
    return subs


def _print_result(result: FinalResult, store: RunStore, quiet: bool) -> None:
    if quiet:
        console.print(result.answer, highlight=False)
    console.print(f"[dim]run directory: {store.root}[/]", highlight=False)


def _execute(store: RunStore, subscribers: Sequence[Subscriber], interactive: bool) -> FinalResult:
    try:
        return asyncio.run(session.execute(store, subscribers=subscribers, interactive=interactive))
    except (OrchestratorError, ModelError) as exc:
        _fail(f"{exc} (run directory: {store.root})")
    except KeyboardInterrupt:
        errors.print(
            "\n[yellow]Interrupted.[/] Nothing is lost; continue with:\n"
            f"  orchestrator resume {escape(str(store.root))}",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="What you want done, in plain words.")],
    config: ConfigOpt = None,
    team: Annotated[
        str | None, typer.Option(help="Comma-separated team, e.g. 'user'. Default: from config.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model for every role, e.g. openai:gpt-4o or local:smollm2 (default: from config).",
        ),
    ] = None,
    max_rounds: Annotated[int | None, typer.Option(help="Stop after this many rounds.")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="Wall-clock limit for the run.")] = None,
    max_cost: Annotated[
        float | None, typer.Option(help="Stop once the models have cost this many USD.")
    ] = None,
    headed: Annotated[bool, typer.Option(help="Show the browser's window.")] = False,
    attach: Annotated[
        list[Path] | None,
        typer.Option(
            "--attach",
            metavar="FILE",
            help="A file for the task (repeatable): copied into the workspace, and its name, "
            "type and size shown to the orchestrator (images too, to a vision model).",
        ),
    ] = None,
    runs_dir: RunsDirOpt = None,
    quiet: QuietOpt = False,
    log_json: JsonLogsOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Run TASK with the model(s) from your config; the person at the terminal can be asked questions."""
    if server:
        _run_remote(server, token, task, team, max_rounds, max_seconds, list(attach or []), quiet)
        return
    try:
        settings, _ = load_settings(config, os.environ)
        if model:
            settings = with_model(settings, model)
        settings = _override(settings, team, max_rounds, max_seconds, runs_dir, max_cost)
        if headed:
            settings = settings.model_copy(update={"headed": True})
        files = list(attach or [])
        described = attachments.describe_all(files)
        run_config = session.new_config(
            task, settings, human=HumanConfig(mode="console"), attachments=described
        )
        session.preflight(run_config, os.environ)
        store = session.start(run_config)
        attachments.copy_in(store.workspace, files, described)
    except (OrchestratorError, ModelError) as exc:
        _fail(str(exc))
    result = _execute(store, _subscribers(quiet, log_json), interactive=True)
    _print_result(result, store, quiet)


def _run_remote(
    url: str,
    token: str | None,
    task: str,
    team: str | None,
    max_rounds: int | None,
    max_seconds: float | None,
    attach: list[Path],
    quiet: bool,
) -> None:
    from orchestrator.service import client

    remote = client.Remote(url, token)
    try:
        members = [t.strip() for t in team.split(",") if t.strip()] if team else None
        limits = client.limits_from(max_rounds, max_seconds)
        done = client.run(
            remote, task, team=members, limits=limits, attach=attach, console=console, quiet=quiet
        )
    except OrchestratorError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        remote.close()
    if quiet:
        console.print(done.get("answer") or "", highlight=False)
    console.print(f"[dim]run {done['run_id']} at {url} ({done['state']})[/]", highlight=False)


def _override(
    settings: Settings,
    team: str | None,
    max_rounds: int | None,
    max_seconds: float | None,
    runs_dir: Path | None,
    max_cost: float | None = None,
) -> Settings:
    flags = {"max_rounds": max_rounds, "max_seconds": max_seconds, "max_cost_usd": max_cost}
    changes = {k: v for k, v in flags.items() if v is not None}
    try:  # validated, not model_copy'd: `--max-rounds -5` must be refused here
        limits = Limits.model_validate({**settings.limits.model_dump(), **changes})
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = "--" + str(err["loc"][0]).removesuffix("_usd").replace("_", "-")
        _fail(f"{flag}: {err['msg']}")
    update: dict[str, object] = {"limits": limits}
    if team:
        update["team"] = [t.strip() for t in team.split(",") if t.strip()]
    if runs_dir is not None:
        update["runs_dir"] = runs_dir
    return Settings.model_validate({**settings.model_dump(), **update})


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run directory to continue.")],
    quiet: QuietOpt = False,
    log_json: JsonLogsOpt = False,
) -> None:
    """Continue a run stopped by Ctrl-C, a crash or kill -9, from its last completed round."""
    try:
        store = RunStore.open(run_dir)
        if (done := store.load_result()) is not None:
            console.print(f"This run already finished ({done.status.value}): {done.answer}")
            return
    except OrchestratorError as exc:
        _fail(str(exc))
    result = _execute(store, _subscribers(quiet, log_json), interactive=sys.stdin.isatty())
    _print_result(result, store, quiet)


@app.command("runs")
def list_runs_command(
    runs_dir: RunsDirOpt = None,
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many runs.")] = 20,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """List recent runs, newest first."""
    if server:
        from orchestrator.service import client

        remote = client.Remote(server, token)
        try:
            client.list_runs(remote, console, limit)
        except OrchestratorError as exc:
            _fail(str(exc))
        finally:
            remote.close()
        return
    root = runs_dir or _runs_dir(config)
    rows = [["run", "status", "stop", "rounds", "tokens", "cost", "task"]]
    rows += [_run_row(path) for path in list_runs(root)[:limit]]
    # The run id (what `show` and `resume` take) is never cut; only the task gives way.
    print_columns(console, f"Runs in {root}", rows, flexible=6)


def _runs_dir(config: Path | None) -> Path:
    try:
        return load_settings(config, os.environ)[0].runs_dir
    except OrchestratorError as exc:
        _fail(str(exc))


def _run_row(path: Path) -> list[str]:
    store = RunStore(path)
    try:
        cfg = store.load_config()
        result = store.load_result()
    except OrchestratorError as exc:
        return [path.name, "unreadable", "-", "-", "-", "-", str(exc)]
    task = " ".join(cfg.task.split())
    if result is None:
        state = "interrupted" if store.has_checkpoint() else "not-started"
        return [path.name, state, "-", "-", "-", "-", task]
    return [
        path.name,
        result.status.value,
        result.stop_reason.value,
        str(result.rounds),
        f"{result.tokens:,}",
        f"${result.cost_usd:.4f}",
        task,
    ]


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="The run directory to show.")]) -> None:
    """Print a readable transcript of a run: facts, plans, every round, the final answer."""
    try:
        store = RunStore.open(run_dir)
        store.load_config()
    except OrchestratorError as exc:
        _fail(str(exc))
    view = LiveView(console, reply_chars=4000)
    for event in store.events():
        view(event)
    if store.load_result() is None:
        console.print(
            f"[yellow]This run has not finished.[/] Continue it with: orchestrator resume {run_dir}"
        )


@scenario_app.command("run")
def scenario_run(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders of them.")],
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where run directories go.")] = Path(
        "runs/scenarios"
    ),
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write a JUnit XML report here.")
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Show each run live as it happens.")
    ] = False,
) -> None:
    """Run scenarios headless, print a summary, and exit non-zero if any fails."""
    from orchestrator.scenarios import junit as junit_report
    from orchestrator.scenarios.runner import expand, run_many

    files = expand(paths)
    if not files:
        _fail("no scenario files found in " + ", ".join(map(str, paths)))

    def subscribers() -> list[Subscriber]:
        return [LiveView(console)] if watch else []

    def progress(outcome: Outcome) -> None:
        mark = "[green]PASS[/]" if outcome.passed else "[red]FAIL[/]"
        console.print(
            f"{mark} {outcome.name} [dim]({outcome.path}, {outcome.seconds:.1f}s)[/]",
            highlight=False,
        )
        for failure in outcome.failures:
            console.print(f"     [red]- {escape(failure)}[/]", highlight=False, soft_wrap=True)

    try:
        outcomes = asyncio.run(run_many(files, runs_dir, subscribers=subscribers, on_done=progress))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    _summary(outcomes)
    if junit is not None:
        junit_report.write(outcomes, junit)
        console.print(f"[dim]JUnit report: {junit}[/]")
    if not all(o.passed for o in outcomes):
        raise typer.Exit(1)


def _summary(outcomes: Sequence[Outcome]) -> None:
    rows = [
        ["scenario", "result", "status", "stop", "rounds", "stalls", "replans", "tokens", "time"]
    ]
    for o in outcomes:
        r = o.result
        numbers = (
            [str(r.rounds), str(r.stalls), str(r.replans), f"{r.tokens:,}"] if r else ["-"] * 4
        )
        rows.append(
            [
                o.name,
                "pass" if o.passed else "FAIL",
                r.status.value if r else "-",
                r.stop_reason.value if r else "-",
                *numbers,
                f"{o.seconds:.1f}s",
            ]
        )
    console.print()
    print_columns(console, "Scenarios", rows, flexible=0)
    passed = sum(1 for o in outcomes if o.passed)
    console.print(f"{passed} passed, {len(outcomes) - passed} failed")


@app.command()
def doctor(config: ConfigOpt = None) -> None:
    """Check the config, model connectivity (one tiny call), the browser and the sandbox."""
    from orchestrator.doctor import run_checks

    ok = asyncio.run(run_checks(config, os.environ, console))
    if not ok:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
