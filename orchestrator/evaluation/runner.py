"""`orchestrator eval SUITE`: plan the trials, run the unfinished ones, write the report.

A trial is one task run once (`--repeats K` makes K trials per task). The plan is written
to `eval.json` before anything runs, and each trial's record is appended to the index as
it ends, so an interrupted evaluation (Ctrl-C, a crash) is resumed with `--resume`: the
trials with a final record are skipped, the others run again (an interrupted run
continues from its checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from orchestrator.config import Settings, apply_env
from orchestrator.errors import OrchestratorError
from orchestrator.evaluation.backends import Backend
from orchestrator.evaluation.loading import load_suite
from orchestrator.evaluation.records import EvalDir, Manifest, TaskInfo, TrialRecord
from orchestrator.evaluation.suites import EvalTask, Suite
from orchestrator.evaluation.trial import TrialJob
from orchestrator.models.factory import NO_MODEL_ADVICE
from orchestrator.models.spec import ModelSpec
from specialists.models.protocol import ModelConfigError

BackendName = Literal["local", "ray"]


@dataclass(frozen=True)
class EvalOptions:
    out: Path
    repeats: int = 1
    concurrency: int = 1
    backend: BackendName = "local"
    ray_address: str | None = None
    model: str | None = None  # replaces every task's scripted model and the config's
    judge_model: str | None = None
    pattern: str | None = None  # glob over task ids and tags
    limit: int | None = None
    resume: bool = False
    rerun_errors: bool = False
    stop_after_same_error: int = 3  # trials in a row failing the same way (0: never stop)


class ProviderDown(OrchestratorError):
    """Trials kept failing with the same provider error (a bad key, a dead endpoint):
    every other trial would too, so the evaluation stops early."""


@dataclass(frozen=True)
class Plan:
    """What this invocation will run."""

    eval_dir: EvalDir
    manifest: Manifest
    jobs: list[TrialJob]
    already_done: list[TrialRecord]
    stop_after_same_error: int = 3


def default_out(settings: Settings, suite_path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return settings.runs_dir / "evals" / f"{stamp}-{suite_path.stem}"


def plan(suite_path: Path, options: EvalOptions, settings: Settings) -> Plan:
    """Load the suite and decide the trials; raise OrchestratorError on bad input."""
    eval_dir = EvalDir(options.out)
    suite = load_suite(suite_path)
    if options.resume:
        manifest = eval_dir.manifest()
        if Path(manifest.suite) != suite_path.resolve():
            raise OrchestratorError(
                f"{eval_dir.root} evaluates {manifest.suite}, not {suite_path.resolve()}"
            )
        missing = [t for t in manifest.task_ids if t not in {task.id for task in suite.tasks}]
        if missing:
            raise OrchestratorError(
                f"{suite_path}: task(s) {', '.join(missing)} of {eval_dir.root} are gone"
            )
    else:
        if eval_dir.exists():
            raise OrchestratorError(
                f"{eval_dir.root} already holds an evaluation; add --resume to finish it, "
                "or choose another --out"
            )
        suite = suite.select(options.pattern, options.limit)
        if not suite.tasks:
            raise OrchestratorError(f"{suite_path}: no task matches {options.pattern!r}")
        manifest = _manifest(suite, options)
    model = manifest.model
    effective = _with_model(settings, model)
    _preflight(suite, manifest, effective)
    if not options.resume:
        eval_dir.write_manifest(manifest)
    latest = eval_dir.latest()
    skip = {
        k
        for k, r in latest.items()
        if r.final and not (options.rerun_errors and r.outcome == "error")
    }
    jobs = [
        _job(suite, suite.task(task_id), repeat, eval_dir, effective, model is not None, options)
        for task_id, repeat in manifest.trials()
        if (task_id, repeat) not in skip
    ]
    done = [latest[key] for key in manifest.trials() if key in skip]
    return Plan(eval_dir, manifest, jobs, done, options.stop_after_same_error)


async def execute(
    planned: Plan,
    backend: Backend,
    on_record: Callable[[TrialRecord], None] | None = None,
) -> EvalDir:
    """Run the planned trials on `backend`, appending each record to the index."""

    same: list[TrialRecord] = []

    def sink(record: TrialRecord) -> None:
        planned.eval_dir.append(record)
        if on_record is not None:
            on_record(record)
        if not (record.final and record.stop_reason == "model_unavailable" and record.error):
            same.clear()
            return
        if same and same[-1].error != record.error:
            same.clear()
        same.append(record)
        if stop_after and len(same) >= stop_after:
            raise ProviderDown(
                f"{len(same)} trials in a row could not reach the model, each with: "
                f"{record.error}; stopped early (fix it, then finish with --resume)"
            )

    stop_after = planned.stop_after_same_error
    try:
        await backend.run(planned.jobs, sink)
    except* ProviderDown as stopped:
        raise stopped.exceptions[0] from None
    return planned.eval_dir


def make_backend(options: EvalOptions, environ: Mapping[str, str] | None = None) -> Backend:
    if options.backend == "ray":
        from orchestrator.evaluation.backends.ray_cluster import RayBackend

        return RayBackend(options.concurrency, address=options.ray_address)
    from orchestrator.evaluation.backends.local import LocalBackend

    return LocalBackend(options.concurrency, environ)


def _manifest(suite: Suite, options: EvalOptions) -> Manifest:
    return Manifest(
        suite=str(suite.path.resolve()),
        suite_name=suite.name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        repeats=options.repeats,
        model=options.model,
        task_ids=[t.id for t in suite.tasks],
        tasks={
            t.id: TaskInfo(level=t.level, tags=list(t.tags), expected=t.expected)
            for t in suite.tasks
        },
    )


def _with_model(settings: Settings, model: str | None) -> Settings:
    """`--model` merged into the config's default model as `ORCHESTRATOR_MODEL` is:
    its `base_url`, key variable and limits stay."""
    if model is None:
        return settings
    return apply_env(settings, {"ORCHESTRATOR_MODEL": model})


def _preflight(suite: Suite, manifest: Manifest, settings: Settings) -> None:
    """Tasks without a script need a real model: say so before anything runs."""
    unscripted = [t.id for t in suite.tasks if t.id in manifest.tasks and t.scripted is None]
    if (manifest.model or unscripted) and settings.model_for("orchestrator") is None:
        raise ModelConfigError(
            f"task(s) {', '.join(unscripted[:3])}{'...' if len(unscripted) > 3 else ''} "
            f"have no scripted model and {NO_MODEL_ADVICE}"
        )


def _job(
    suite: Suite,
    task: EvalTask,
    repeat: int,
    eval_dir: EvalDir,
    settings: Settings,
    real: bool,
    options: EvalOptions,
) -> TrialJob:
    return TrialJob(
        suite_path=suite.path.resolve(),
        task=task,
        repeat=repeat,
        eval_dir=eval_dir.root.resolve(),
        runs_dir=eval_dir.runs_dir(task.id, repeat).resolve(),
        settings=settings,
        sites=suite.sites,
        approvals=suite.approvals,
        use_settings_models=real,
        judge=ModelSpec(model=options.judge_model) if options.judge_model else None,
    )
