"""One trial: one task, one repeat, one orchestrator run, scored — whatever happens.

The run is built the way scenarios build theirs (`scenarios.runner.build_config`): a
scripted or real model, a scripted person, the suite's local sites served on 127.0.0.1
and the attachments copied into the run's workspace. The run has its own directory,
workspace and team (so its own browser). It is bounded twice: by its own
`limits.max_seconds` (the run stops and still writes a best-guess answer) and by an outer
guard a little longer than that (the run is cancelled: `outcome: timeout`).

`run_trial` never raises for a failed run: a crash becomes `outcome: error` with the
message and a traceback file next to the run. Only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ledgers import StopReason
from orchestrator import attachments, sites
from orchestrator.api import Orchestrator
from orchestrator.config import Settings
from orchestrator.evaluation import scoring
from orchestrator.evaluation.extraction import extract
from orchestrator.evaluation.judge import judge_model_for
from orchestrator.evaluation.records import Outcome, TrialRecord
from orchestrator.evaluation.suites import EvalTask
from orchestrator.models.spec import ModelSpec
from orchestrator.scenarios.runner import build_config, copy_fixture, unescape
from orchestrator.scenarios.schema import Approvals, Scenario
from orchestrator.state import FinalResult
from orchestrator.store import RunStore, list_runs
from specialists.models.protocol import ModelError

GRACE_SECONDS = 30.0
ERROR_FILE = "eval_error.txt"


@dataclass(frozen=True)
class TrialJob:
    """Everything a worker needs to run one trial (picklable, for Ray)."""

    suite_path: Path
    task: EvalTask
    repeat: int
    eval_dir: Path
    runs_dir: Path  # where this trial's run directory goes
    settings: Settings
    sites: Mapping[str, Path] = field(default_factory=dict)
    approvals: Approvals | None = None
    use_settings_models: bool = False  # --model given: ignore the task's script
    judge: ModelSpec | None = None
    grace_seconds: float = GRACE_SECONDS


PROVIDER_STOPS = {StopReason.MODEL_UNAVAILABLE, StopReason.ERROR}


def scenario_for(job: TrialJob) -> Scenario:
    """The task as a scenario, so the scenario runner's config builder can be reused."""
    task, base = job.task, job.settings
    scripted = task.scripted is not None and not job.use_settings_models
    model = {"scripted": task.scripted} if scripted else {"models": base.models}
    return Scenario.model_validate(
        {
            "name": task.id,
            "task": task.question,
            "team": list(task.team or base.team),
            "limits": task.limits_over(base.limits),
            "stall": base.stall,
            "context": base.context,
            "final_answer_seconds": base.final_answer_seconds,
            "model": model,
            "human": list(task.human) if task.human is not None else None,
            "approvals": job.approvals or Approvals(mode=base.approvals),
            "specialists": base.specialists,
            "fixtures": {"sites": {name: str(path) for name, path in job.sites.items()}},
        }
    )


async def run_trial(job: TrialJob, environ: Mapping[str, str] | None = None) -> TrialRecord:
    started = now()
    missing = [str(a.src) for a in job.task.attachments if not a.src.is_file()]
    if missing:  # this task cannot be run as given; the others can
        detail = f"attachment not found: {', '.join(missing)} (files go next to the suite file)"
        return failure(job, "error", detail, started)
    scenario = scenario_for(job)
    limits = scenario.limits
    guard = None
    if limits.max_seconds is not None:
        guard = limits.max_seconds + scenario.final_answer_seconds + job.grace_seconds
    deadline = asyncio.timeout(guard)
    try:
        async with deadline:
            result, store = await _run(job, scenario, environ)
    except TimeoutError as exc:
        if not deadline.expired():  # raised inside the run, not our guard: a crash
            _write_traceback(job, exc)
            return failure(job, "error", f"TimeoutError: {exc}", started)
        detail = f"no result {guard:g}s after the start (run limit {limits.max_seconds:g}s)"
        return failure(job, "timeout", detail, started)
    except Exception as exc:  # a crashed trial is recorded, never dropped
        _write_traceback(job, exc)
        return failure(job, "error", f"{type(exc).__name__}: {exc}", started)
    return await _scored(job, result, store, started, environ)


async def _run(
    job: TrialJob, scenario: Scenario, environ: Mapping[str, str] | None
) -> tuple[FinalResult, RunStore]:
    existing = list_runs(job.runs_dir)
    if existing:  # interrupted before: continue from its checkpoint, on its old ports
        store = RunStore.open(existing[0])
        _copy_attachments(job, store, only_missing=True)
        orch = Orchestrator(store.load_config().settings, runs_dir=job.runs_dir, environ=environ)
        return await orch.execute(store), store
    folders = {name: (path, 0) for name, path in _sites_used(job, scenario).items()}
    serving = sites.serve(folders)
    running = serving.__enter__()
    try:
        urls = {name: (site.url, site.port) for name, site in running.items()}
        source = f"eval:{job.suite_path}#{job.task.id}/r{job.repeat}"
        config = build_config(job.suite_path, scenario, job.runs_dir, urls, source=source)
        told = [attachments.describe(a.src, a.dest) for a in job.task.attachments]
        config = config.model_copy(update={"attachments": told})
        orch = Orchestrator(config.settings, runs_dir=job.runs_dir, environ=environ)
        store = orch.create(config)
        _copy_attachments(job, store)
        result = await orch.execute(store, sites_running=True)
    finally:
        # Stopping a site's server waits for its serving loop's next poll: off the event
        # loop, so the other trials keep running meanwhile.
        await asyncio.to_thread(serving.__exit__, None, None, None)
    return result, store


def _copy_attachments(job: TrialJob, store: RunStore, only_missing: bool = False) -> None:
    for attachment in job.task.attachments:
        dest = store.workspace / attachment.dest
        if not (only_missing and dest.exists()):
            copy_fixture(attachment.src, dest)


def _sites_used(job: TrialJob, scenario: Scenario) -> dict[str, Path]:
    """Only the sites the task or its script mention are served: each server costs a
    thread and up to half a second to shut down."""
    text = scenario.model_dump_json()
    return {name: path for name, path in job.sites.items() if f"sites.{name}" in text}


async def _scored(
    job: TrialJob,
    result: FinalResult,
    store: RunStore,
    started: str,
    environ: Mapping[str, str] | None,
) -> TrialRecord:
    task = job.task
    extracted = extract(result.answer, task.extract)
    if isinstance(task.scorer, scoring.JudgeScorer):
        score = await _judged(job, task.scorer, extracted, environ)
    else:
        score = scoring.score_text(task.scorer, extracted, task.expected)
    return _record(
        job,
        "finished",
        result.stop_reason.value,
        started,
        run_dir=store.root,
        status=result.status.value,
        answer=result.answer,
        extracted=extracted,
        correct=score.correct,
        score_detail=score.detail,
        # why a run could not go on (the provider's own words), for the console and report
        error=result.stop_detail if result.stop_reason in PROVIDER_STOPS else None,
        rounds=result.rounds,
        stalls=result.stalls,
        replans=result.replans,
        tokens=result.tokens,
        cost_usd=result.cost_usd,
        seconds=result.seconds,
    )


async def _judged(
    job: TrialJob,
    spec: scoring.JudgeScorer,
    extracted: str | None,
    environ: Mapping[str, str] | None,
) -> scoring.Score:
    try:
        judge = judge_model_for(job.judge, job.task, environ)
    except ModelError as exc:
        return scoring.Score(False, f"judge unavailable: {exc}")
    try:
        task = job.task
        question = unescape(task.question)
        return await scoring.score_with_judge(spec, extracted, task.expected, question, judge)
    finally:
        if judge is not None:
            await judge.close()


def failure(job: TrialJob, outcome: Outcome, error: str, started: str) -> TrialRecord:
    """A trial without a result: counted as incorrect, with what the checkpoint spent."""
    runs = list_runs(job.runs_dir)
    spent: dict[str, float | int] = {}
    if runs and RunStore(runs[0]).has_checkpoint():
        try:
            state = RunStore(runs[0]).load_checkpoint()
            spent = {
                "rounds": state.rounds,
                "stalls": state.stalls_total,
                "replans": state.replans,
                "tokens": state.meter.tokens,
                "cost_usd": round(state.meter.cost_usd, 6),
                "seconds": round(state.seconds, 3),
            }
        except Exception:  # an unreadable checkpoint must not hide the failure itself
            spent = {}
    return _record(
        job,
        outcome,
        outcome,
        started,
        run_dir=runs[0] if runs else None,
        error=error,
        score_detail=f"no answer: {outcome}",
        **spent,
    )


def _record(
    job: TrialJob,
    outcome: Outcome,
    stop_reason: str,
    started: str,
    *,
    run_dir: Path | None,
    **fields: object,
) -> TrialRecord:
    task = job.task
    relative = str(run_dir.relative_to(job.eval_dir)) if run_dir is not None else None
    return TrialRecord.model_validate(
        {
            "task_id": task.id,
            "repeat": job.repeat,
            "outcome": outcome,
            "stop_reason": stop_reason,
            "run_dir": relative,
            "expected": task.expected,
            "level": task.level,
            "tags": list(task.tags),
            "started": started,
            "finished": now(),
            **fields,
        }
    )


def _write_traceback(job: TrialJob, exc: BaseException) -> None:
    job.runs_dir.mkdir(parents=True, exist_ok=True)
    text = "".join(traceback.format_exception(exc))
    (job.runs_dir / ERROR_FILE).write_text(text, encoding="utf-8")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
