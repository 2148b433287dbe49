"""The `orchestrator` command line. Each command is a thin shell over a module."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ledgers import FinalStatus, Limits
from orchestrator.api import Orchestrator
from orchestrator.cli_help import conventional_help, version_option
from orchestrator.columns import print_columns
from orchestrator.config import Settings, load_settings, with_model
from orchestrator.errors import OrchestratorError, RunStopped
from orchestrator.evaluation.cli import eval_app
from orchestrator.events import Background, Subscriber
from orchestrator.indexing import index_app
from orchestrator.interrupts import take_back_sigint
from orchestrator.live import LiveView
from orchestrator.scenarios.runner import Outcome
from orchestrator.service.serve import serve
from orchestrator.state import FinalResult, HumanConfig
from orchestrator.store import RunStore, list_runs
from orchestrator.waiting import WaitingLine
from specialists.models.protocol import ModelError

app = typer.Typer(
    help=(
        "Solve open-ended tasks with a team of AI specialists, directed by an orchestrator "
        "that keeps a task ledger (facts and plan) and a progress ledger (who acts next).\n\n"
        "Try the offline demo first (no model, no key):  orchestrator demo\n\n"
        "Exit codes of run and resume: 0 solved, 3 best guess, 4 failed, 1 the run stopped "
        "(its directory could not be written; resume it), 2 bad input, 130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _main(version: Annotated[bool, version_option()] = False) -> None:
    """The command-line entry point; `--version` is handled by its callback."""


# What `run` and `resume` exit with, so scripts and CI can tell the outcomes apart.
EXIT_SOLVED = 0
EXIT_STOPPED = 1  # the run could not go on (its directory cannot be written); resume it
EXIT_BAD_INPUT = 2
EXIT_BEST_GUESS = 3
EXIT_FAILED = 4
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; resume it
EXIT_FOR_STATUS = {
    FinalStatus.SOLVED: EXIT_SOLVED,
    FinalStatus.BEST_GUESS: EXIT_BEST_GUESS,
    FinalStatus.FAILED: EXIT_FAILED,
}
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
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No live view: print only the answer (or why it failed) and the run."
    ),
]
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


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _subscribers(quiet: bool, log_json: bool) -> list[Subscriber]:
    subs: list[Subscriber] = []
    if not quiet:
        subs.append(Background(LiveView(console)))  # the terminal never holds up the run
        if console.is_terminal:
            subs.append(WaitingLine(console))
    if log_json:
        from orchestrator import logs

        logs.configure()
        subs.append(logs.EventLogger())
    return subs


def _finish(result: FinalResult, store: RunStore, quiet: bool) -> NoReturn:
    """Print the outcome (quiet: the answer on stdout, why it is not solved on stderr)
    and exit with the code for its status."""
    if quiet and result.answer:
        console.print(result.answer, highlight=False, soft_wrap=True)
    if result.status is not FinalStatus.SOLVED:
        detail = f": {result.stop_detail}" if result.stop_detail else ""
        errors.print(
            f"{result.status.value} (stop: {result.stop_reason.value}){escape(detail)}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"[dim]run directory: {escape(str(store.root))}[/]", highlight=False)
    raise typer.Exit(EXIT_FOR_STATUS[result.status])


@contextmanager
def _sigterm_as_interrupt() -> Iterator[list[int]]:
    """SIGTERM stops a run the way Ctrl-C does: logged, resumable, exit 130.
    Yields a list that holds the signal received, if any."""
    received: list[int] = []

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        signal.raise_signal(signal.SIGINT)  # asyncio.run turns it into a cancellation

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute(
    orch: Orchestrator,
    store: RunStore,
    subscribers: Sequence[Subscriber],
    interactive: bool,
    quiet: bool,
) -> NoReturn:
    with _sigterm_as_interrupt() as received:
        try:
            result = asyncio.run(
                orch.execute(store, subscribers=subscribers, interactive=interactive)
            )
        except RunStopped as exc:
            if exc.answer:
                console.print(exc.answer, highlight=False, soft_wrap=True)
            _fail(str(exc), EXIT_STOPPED)
        except (OrchestratorError, ModelError) as exc:
            _fail(f"{exc} (run directory: {store.root})")
        except KeyboardInterrupt:
            what = "Terminated (SIGTERM)." if received else "Interrupted."
            errors.print(
                f"\n[yellow]{what}[/] Nothing is lost; continue with:\n"
                f"  orchestrator resume {escape(str(store.root))}",
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
    _finish(result, store, quiet)


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
    if not task.strip():
        _fail("the task is empty; say in plain words what you want done")
    if server:
        limits = (max_rounds, max_seconds, max_cost)
        _run_remote(server, token, task, team, model, limits, list(attach or []), quiet)
        return
    try:
        settings, _ = load_settings(config, os.environ)
        if model:
            settings = with_model(settings, model)
        settings = _override(settings, team, max_rounds, max_seconds, runs_dir, max_cost)
        if headed:
            settings = settings.model_copy(update={"headed": True})
        files = list(attach or [])
        orch = Orchestrator(settings, environ=os.environ)
        run_config = orch.new_config(
            task, human=HumanConfig(mode="console"), attachments=files, source="cli"
        )
        store = orch.create(run_config, attachments=files)
    except (OrchestratorError, ModelError) as exc:
        _fail(str(exc))
    _execute(orch, store, _subscribers(quiet, log_json), interactive=True, quiet=quiet)


def _run_remote(
    url: str,
    token: str | None,
    task: str,
    team: str | None,
    model: str | None,
    limits: tuple[int | None, float | None, float | None],
    attach: list[Path],
    quiet: bool,
) -> None:
    """`run --server`: the same flags, sent to a service instead of run here."""
    from orchestrator.service import client

    remote = client.Remote(url, token)
    try:
        members = [t.strip() for t in team.split(",") if t.strip()] if team else None
        done = client.run(
            remote,
            task,
            team=members,
            limits=client.limits_from(*limits),
            attach=attach,
            console=console,
            quiet=quiet,
            model=model,
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
    limits = _limits(settings.limits, {k: v for k, v in flags.items() if v is not None})
    update: dict[str, object] = {"limits": limits}
    if team is not None:
        names = [t.strip() for t in team.split(",") if t.strip()]
        if not names:
            raise OrchestratorError(f"--team {team!r}: name at least one specialist, e.g. 'user'")
        update["team"] = names
    if runs_dir is not None:
        update["runs_dir"] = runs_dir
    return Settings.model_validate({**settings.model_dump(), **update})


def _limits(limits: Limits, flags: dict[str, object]) -> Limits:
    """`limits` with the command line's values, validated (model_copy would skip that)."""
    try:
        return Limits.model_validate({**limits.model_dump(), **flags})
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = "--" + str(err["loc"][0]).removesuffix("_usd").replace("_", "-")
        message = err["msg"].removeprefix("Value error, ")
        raise OrchestratorError(f"{flag}: {message} (got {err['input']!r})") from None


RunArg = Annotated[
    str,
    typer.Argument(
        metavar="RUN", help="A run directory, or a run id as `orchestrator runs` lists it."
    ),
]


@app.command()
def resume(
    run: RunArg,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    log_json: JsonLogsOpt = False,
) -> None:
    """Continue a run stopped by Ctrl-C, a crash or kill -9, from its last completed round."""
    try:
        store = RunStore.open(_find_run(run, config))
        if (done := store.load_result()) is not None:
            console.print(
                f"This run already finished ({done.status.value}): {escape(done.answer)}",
                highlight=False,
            )
            raise typer.Exit(EXIT_FOR_STATUS[done.status])
        # The run's own settings, not today's config file: it continues as it was started.
        settings = store.load_config().settings
        orch = Orchestrator(settings, runs_dir=store.root.parent, environ=os.environ)
    except OrchestratorError as exc:
        _fail(str(exc))
    interactive = sys.stdin.isatty()
    _execute(orch, store, _subscribers(quiet, log_json), interactive=interactive, quiet=quiet)


def _find_run(run: str, config: Path | None) -> Path:
    """A run directory as given, or the run with this id (or unique id prefix) under the
    runs directory, its scenario runs and its evaluations' trials."""
    given = Path(run)
    if given.is_dir() or os.sep in run or not run:
        return given
    root = _runs_dir(config)
    places = [root, root / "scenarios", *sorted(root.glob("evals/*/runs/*/*"))]
    exact = [place / run for place in places if (place / run).is_dir()]
    if exact:
        return exact[0]
    prefixed = [p for place in places for p in list_runs(place) if p.name.startswith(run)]
    if len(prefixed) == 1:
        return prefixed[0]
    if prefixed:
        names = ", ".join(p.name for p in prefixed[:5])
        raise OrchestratorError(f"{run}: more than one run starts with this ({names}); say which")
    raise OrchestratorError(
        f"{run}: no such run directory, nor a run with this id under {root} "
        "(see `orchestrator runs`)"
    )


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
    found = list_runs(root)
    if not found:
        console.print(
            f"No runs in {escape(str(root))}. Scenario runs go to {escape(str(root / 'scenarios'))} "
            f"(orchestrator runs --runs-dir {escape(str(root / 'scenarios'))}); evaluation trials "
            f"to {escape(str(root / 'evals'))}/<evaluation>/runs/<task>/r<N>.",
            highlight=False,
        )
        return
    rows = [["run", "status", "stop", "rounds", "tokens", "cost", "task"]]
    rows += [_run_row(path) for path in found[:limit]]
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
def show(
    run: RunArg,
    config: ConfigOpt = None,
    observations: Annotated[
        bool,
        typer.Option(
            "--observations",
            "-o",
            help="Show whole what each specialist saw (a page's elements with their ids).",
        ),
    ] = False,
) -> None:
    """Print a readable transcript of a run: facts, plans, every round, the final answer."""
    try:
        store = RunStore.open(_find_run(run, config))
        store.load_config()
        view = LiveView(console, reply_chars=4000, observations=observations)
        for event in store.events():
            view(event)
        finished = store.load_result() is not None
    except OrchestratorError as exc:
        _fail(str(exc))
    if not finished:
        console.print(
            "[yellow]This run has not finished.[/] Continue it with: "
            f"orchestrator resume {escape(str(store.root))}",
            highlight=False,
        )


DEMO = "demo/demo.yaml"  # package data: `orchestrator demo` works from any folder


@app.command()
def demo(
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the run goes.")] = Path(
        "runs/scenarios"
    ),
) -> None:
    """Watch a whole orchestrated run offline: a scripted model and person, two stalls, a replan."""
    from importlib.resources import as_file, files

    with as_file(files("orchestrator") / DEMO) as path:
        scenario_run([path], runs_dir=runs_dir, junit=None, watch=True)


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
        if not watch:
            return []
        line = [WaitingLine(console)] if console.is_terminal else []
        return [Background(LiveView(console)), *line]

    def progress(outcome: Outcome) -> None:
        mark = "[green]PASS[/]" if outcome.passed else "[red]FAIL[/]"
        console.print(
            f"{mark} {outcome.name} [dim]({outcome.path}, {outcome.seconds:.1f}s)[/]",
            highlight=False,
        )
        for failure in outcome.failures:
            console.print(f"     [red]- {escape(failure)}[/]", highlight=False, soft_wrap=True)
        for warning in outcome.warnings:
            console.print(
                f"     [yellow]warning: {escape(warning)}[/]", highlight=False, soft_wrap=True
            )
        if outcome.warnings and outcome.run_dir is not None:
            console.print(
                f"     [dim]what each specialist saw: orchestrator show -o {escape(str(outcome.run_dir))}[/]",
                highlight=False,
                soft_wrap=True,
            )

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
    take_back_sigint()
    conventional_help(typer.main.get_command(app))(prog_name="orchestrator")


if __name__ == "__main__":
    main()
