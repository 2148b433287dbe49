"""Evaluations end to end: real runs (scripted model, scripted person), real files, real
local sites, real subprocesses; crashes, timeouts, Ctrl-C and resume."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.fake_openai import FakeOpenAI, Reply, chat_completion

from orchestrator.config import Settings
from orchestrator.errors import OrchestratorError
from orchestrator.evaluation import report
from orchestrator.evaluation.backends.local import LocalBackend
from orchestrator.evaluation.loading import load_suite
from orchestrator.evaluation.records import EvalDir, TrialRecord
from orchestrator.evaluation.runner import EvalOptions, execute, plan
from orchestrator.evaluation.trial import TrialJob, run_trial
from orchestrator.models.spec import ModelSpec
from orchestrator.store import RunStore, list_runs
from specialists.models.protocol import ModelConfigError

ROOT = Path(__file__).resolve().parent.parent
SCRIPTED = ROOT / "evals" / "sample-scripted" / "suite.yaml"
XLSX = Path("/usr/share/doc/xlsx2csv/examples/test/sheets_order.xlsx")


def run_eval(suite: Path, out: Path, **options: Any) -> tuple[EvalDir, list[TrialRecord]]:
    opts = EvalOptions(out=out, **options)
    planned = plan(suite, opts, Settings(runs_dir=out.parent / "runs"))
    seen: list[TrialRecord] = []
    asyncio.run(execute(planned, LocalBackend(opts.concurrency), seen.append))
    return planned.eval_dir, seen


def web_surfer_loads() -> bool:
    try:
        return callable(getattr(importlib.import_module("specialists.web_surfer"), "create", None))
    except ImportError:
        return False


def test_the_scripted_sample_suite_runs_end_to_end(tmp_path: Path) -> None:
    eval_dir, seen = run_eval(SCRIPTED, tmp_path / "eval", concurrency=2)
    records = eval_dir.latest()
    ids = [t.id for t in load_suite(SCRIPTED).tasks]
    assert sorted(r.task_id for r in seen) == sorted(ids)  # none dropped
    assert set(records) == {(i, 1) for i in ids}
    by_id = {key[0]: record for key, record in records.items()}

    right = ["pydocs-version", "lru-cache-maxsize", "sheets-order-names", "float-column-mean"]
    for task_id in [*right, "exif-camera", "teapot-rfc"]:
        record = by_id[task_id]
        assert (record.outcome, record.stop_reason, record.correct) == (
            "finished",
            "satisfied",
            True,
        ), record
        assert record.cost_usd > 0
        assert record.tokens > 0
        assert record.rounds >= 1
    assert by_id["teapot-rfc"].score_detail.startswith("judge: Same code (418)")
    wrong = by_id["debian-reference-pages"]
    assert (wrong.correct, wrong.extracted, wrong.expected) == (False, "233", "261")
    slow = by_id["slow-answer-timeout"]
    assert (slow.stop_reason, slow.status, slow.correct) == ("timeout", "best_guess", True)
    needs_web = by_id["json-indent-needs-web"]
    if not web_surfer_loads():  # the failure must be recorded, clearly, not crash the eval
        assert (needs_web.outcome, needs_web.stop_reason) == ("error", "error")
        assert "specialist 'web_surfer' could not be loaded" in (needs_web.error or "")

    # Each trial has its own run directory, with the site URL and attachments in place.
    pydocs = RunStore(eval_dir.root / by_id["pydocs-version"].run_dir)  # type: ignore[operator]
    config = pydocs.load_config()
    assert "http://127.0.0.1:" in config.task
    assert "{{" not in config.task
    assert config.source.startswith("eval:")
    sheets = RunStore(eval_dir.root / by_id["sheets-order-names"].run_dir)  # type: ignore[operator]
    assert (sheets.workspace / "sheets_order.xlsx").read_bytes() == XLSX.read_bytes()
    assert str(sheets.workspace) in sheets.load_config().task

    summary = report.write(eval_dir)
    assert summary.complete
    assert summary.accuracy.trials == len(ids)
    assert summary.accuracy.correct == sum(r.correct for r in records.values())
    assert summary.stop_reasons["timeout"] == 1
    failed = {f.task_id: f for f in summary.failures}
    assert "debian-reference-pages" in failed
    assert (eval_dir.root / failed["debian-reference-pages"].run_dir / "result.json").is_file()  # type: ignore[operator]
    text = (eval_dir.root / "report.md").read_text()
    assert "## Failures" in text
    assert "| debian-reference-pages | 1 | satisfied |" in text
    assert f"]({failed['debian-reference-pages'].run_dir})" in text
    for chart in ("accuracy_by_level.png", "cost_per_task.png"):
        assert (eval_dir.root / chart).read_bytes().startswith(b"\x89PNG"), chart
        assert f"]({chart})" in text
    modes = {
        name: (eval_dir.root / name).stat().st_mode & 0o777
        for name in ("report.md", "summary.json", "cost_per_task.png")
    }
    assert len(set(modes.values())) == 1, f"the report files differ from the charts: {modes}"
    saved = json.loads((eval_dir.root / "summary.json").read_text())
    assert saved["accuracy"]["mean"] == summary.accuracy.mean
    assert set(saved["by_level"]) == {"level 1", "level 2"}
    assert saved["by_tag"]["file"]["trials"] == 4


def suite_yaml(tmp_path: Path, tasks: list[dict[str, Any]], name: str = "suite") -> Path:
    """A suite of one-round scripted tasks: `delay` slows the progress ledger's reply."""
    lines = [f"name: {name}", "defaults: {team: [user], limits: {max_seconds: 30}}", "tasks:"]
    for task in tasks:
        script = {
            "orchestrator.facts": [
                {"json": {"given": [], "to_look_up": [], "to_derive": [], "guesses": []}}
            ],
            "orchestrator.plan": [{"json": {"steps": [{"owner": "user", "action": "none"}]}}],
            "orchestrator.progress": [
                {
                    "delay": task.get("delay", 0),
                    "json": {
                        "request_satisfied": {"reason": "known", "answer": True},
                        "in_loop": {"reason": "no", "answer": False},
                        "progress_made": {"reason": "yes", "answer": True},
                        "next_speaker": {"reason": "done", "answer": "user"},
                        "instruction": {"reason": "done", "answer": "none"},
                    },
                }
            ],
            "orchestrator.final": [
                {"json": {"answer": task["answer"], "evidence": [], "confidence": "certain"}}
            ],
        }
        entry = {
            "id": task["id"],
            "task": f"Task {task['id']}",
            "expected": task.get("expected", task["answer"]),
            "model": {"scripted": {"script": script}},
        }
        entry.update({k: v for k, v in task.items() if k in ("team", "limits")})
        lines.append("  - " + json.dumps(entry))
    path = tmp_path / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_crashed_trial_is_recorded_and_the_others_run(tmp_path: Path) -> None:
    suite = suite_yaml(
        tmp_path,
        [{"id": "fine", "answer": "1"}, {"id": "ghost", "answer": "2", "team": ["ghost"]}],
    )
    eval_dir, _ = run_eval(suite, tmp_path / "eval")
    records = {k[0]: r for k, r in eval_dir.latest().items()}
    assert records["fine"].correct
    ghost = records["ghost"]
    assert (ghost.outcome, ghost.stop_reason, ghost.correct) == ("error", "error", False)
    assert ghost.error is not None
    assert "unknown specialist(s): ghost" in ghost.error
    assert ghost.run_dir is not None
    trace = eval_dir.runs_dir("ghost", 1) / "eval_error.txt"
    assert "OrchestratorError" in trace.read_text()
    summary = report.write(eval_dir)
    assert summary.stop_reasons == {"satisfied": 1, "error": 1}


async def test_a_run_that_outlives_its_guard_is_a_timeout(tmp_path: Path) -> None:
    suite = load_suite(suite_yaml(tmp_path, [{"id": "stuck", "answer": "1", "delay": 30}]))
    (task,) = suite.tasks
    job = TrialJob(
        suite_path=suite.path,
        task=task,
        repeat=1,
        eval_dir=tmp_path,
        runs_dir=tmp_path / "runs" / "stuck" / "r1",
        settings=Settings(),
        # The guard is the run's limit + final-answer time + grace: a negative grace puts
        # it before the run's own limit, to see what happens when a run does not stop.
        grace_seconds=-(30 + 120) + 0.5,
    )
    started = time.monotonic()
    record = await run_trial(job)
    assert time.monotonic() - started < 5
    assert (record.outcome, record.stop_reason, record.correct) == ("timeout", "timeout", False)
    assert record.error == "no result 0.5s after the start (run limit 30s)"
    (run,) = list_runs(job.runs_dir)
    assert record.run_dir == str(run.relative_to(tmp_path))
    events = [e.type for e in RunStore(run).events()]  # type: ignore[attr-defined]
    assert "plan_made" in events
    assert events[-1] == "run_interrupted"


async def test_resume_skips_finished_trials_and_continues_the_interrupted_one(
    tmp_path: Path,
) -> None:
    suite = suite_yaml(
        tmp_path,
        [
            {"id": "quick", "answer": "1"},
            {"id": "slow", "answer": "2", "delay": 1.0},
            {"id": "later", "answer": "3"},
        ],
    )
    out = tmp_path / "eval"
    opts = EvalOptions(out=out, concurrency=1)
    planned = plan(suite, opts, Settings())
    seen: list[TrialRecord] = []
    first_done = asyncio.Event()

    def sink(record: TrialRecord) -> None:
        seen.append(record)
        first_done.set()

    running = asyncio.ensure_future(execute(planned, LocalBackend(1), sink))
    await asyncio.wait_for(first_done.wait(), timeout=20)
    await asyncio.sleep(0.3)  # "slow" is now waiting for its model
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert [(r.task_id, r.outcome) for r in seen] == [("quick", "finished"), ("slow", "cancelled")]
    quick_run = list_runs(EvalDir(out).runs_dir("quick", 1))[0]
    quick_events = (quick_run / "events.jsonl").read_bytes()

    partial = report.write(EvalDir(out))
    assert not partial.complete
    assert partial.stop_reasons == {"missing": 2, "satisfied": 1}
    assert "--resume" in (out / "report.md").read_text()

    resumed = plan(suite, EvalOptions(out=out, resume=True), Settings())
    assert [(j.task.id, j.repeat) for j in resumed.jobs] == [("slow", 1), ("later", 1)]
    assert [r.task_id for r in resumed.already_done] == ["quick"]
    await execute(resumed, LocalBackend(1))
    latest = EvalDir(out).latest()
    assert all(r.final and r.correct for r in latest.values())
    assert len(latest) == 3
    # "quick" was not run again; "slow" went on in the run directory it had.
    assert list_runs(EvalDir(out).runs_dir("quick", 1)) == [quick_run]
    assert (quick_run / "events.jsonl").read_bytes() == quick_events
    (slow_run,) = list_runs(EvalDir(out).runs_dir("slow", 1))
    assert "run_resumed" in (slow_run / "events.jsonl").read_text()
    assert report.write(EvalDir(out)).complete


def test_ctrl_c_leaves_a_directory_that_resume_finishes(tmp_path: Path) -> None:
    suite = suite_yaml(
        tmp_path,
        [{"id": f"t{i}", "answer": str(i), "delay": 0.6} for i in range(1, 5)],
    )
    out = tmp_path / "eval"
    command = [sys.executable, "-m", "orchestrator.evaluation", str(suite), "--out", str(out)]
    env = {**os.environ, "COLUMNS": "120", "HOME": str(tmp_path)}
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    index = out / "index.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (index.is_file() and index.read_text().count("\n")):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stdout + stderr
    assert f"--out {out} --resume" in stderr
    first = [json.loads(line) for line in index.read_text().splitlines()]
    finished = {r["task_id"] for r in first if r["outcome"] == "finished"}
    assert finished
    assert len(finished) < 4
    assert (out / "report.md").is_file()  # the partial report is written on the way out

    done = subprocess.run(
        [*command, "--resume"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(finished)} already done" in done.stdout
    records = [json.loads(line) for line in index.read_text().splitlines()]
    runs_per_task = {
        t: sum(r["task_id"] == t and r["outcome"] == "finished" for r in records)
        for t in ("t1", "t2", "t3", "t4")
    }
    assert runs_per_task == {"t1": 1, "t2": 1, "t3": 1, "t4": 1}  # nothing redone
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"]
    assert summary["accuracy"]["correct"] == 4


def test_gaia_jsonl_with_a_real_client_over_http(tmp_path: Path) -> None:
    (tmp_path / "sheets.xlsx").write_bytes(XLSX.read_bytes())
    suite = tmp_path / "metadata.jsonl"
    suite.write_text(
        json.dumps(
            {
                "task_id": "sheet-names",
                "Question": "List the sheet names in order.",
                "Level": "1",
                "Final answer": "b, e, d, a",
                "file_name": "sheets.xlsx",
                "Annotator Metadata": {"Steps": "open the workbook"},
            }
        )
        + "\n"
    )

    def reply(obj: dict[str, Any]) -> Reply:
        return Reply(body=chat_completion(json.dumps(obj), usage=(100, 20), model="fake-model"))

    with FakeOpenAI() as server:
        server.reply(
            reply({"given": ["a workbook"], "to_look_up": [], "to_derive": [], "guesses": []}),
            reply({"steps": [{"owner": "user", "action": "none needed"}]}),
            reply(
                {
                    "request_satisfied": {"reason": "read it", "answer": True},
                    "in_loop": {"reason": "no", "answer": False},
                    "progress_made": {"reason": "yes", "answer": True},
                    "next_speaker": {"reason": "done", "answer": "user"},
                    "instruction": {"reason": "done", "answer": "none"},
                }
            ),
            reply(
                {
                    "answer": "The sheets are b, e, d and a.\nFINAL ANSWER: b; e; d; a",
                    "evidence": ["workbook.xml"],
                    "confidence": "certain",
                }
            ),
        )
        settings = Settings(
            team=["user"],
            models={
                "default": ModelSpec(
                    model="compatible:fake-model",
                    base_url=server.base_url,
                    capabilities={"structured_output": True},  # type: ignore[arg-type]
                    pricing={"input_per_mtok": 1.0, "output_per_mtok": 2.0},  # type: ignore[arg-type]
                )
            },
        )
        opts = EvalOptions(out=tmp_path / "eval")
        planned = plan(suite, opts, settings)
        asyncio.run(execute(planned, LocalBackend(1, environ={})))
    (record,) = planned.eval_dir.latest().values()
    assert (record.outcome, record.extracted, record.correct) == ("finished", "b; e; d; a", True)
    assert record.cost_usd == pytest.approx((400 * 1.0 + 80 * 2.0) / 1e6)
    workspace = RunStore(planned.eval_dir.root / record.run_dir).workspace  # type: ignore[operator]
    assert (workspace / "sheets.xlsx").is_file()
    first_prompt = server.requests[0].json["messages"][-1]["content"]
    assert f"{workspace}/sheets.xlsx" in first_prompt


def test_bad_plans_fail_before_anything_runs(tmp_path: Path) -> None:
    suite = suite_yaml(tmp_path, [{"id": "a", "answer": "1"}])
    out = tmp_path / "eval"
    with pytest.raises(OrchestratorError, match="not an evaluation directory"):
        plan(suite, EvalOptions(out=out, resume=True), Settings())
    plan(suite, EvalOptions(out=out), Settings())
    with pytest.raises(OrchestratorError, match="already holds an evaluation; add --resume"):
        plan(suite, EvalOptions(out=out), Settings())
    with pytest.raises(OrchestratorError, match="no task matches 'zzz'"):
        plan(suite, EvalOptions(out=tmp_path / "other", pattern="zzz"), Settings())
    unscripted = tmp_path / "real.yaml"
    unscripted.write_text("name: real\ntasks:\n  - {id: q, task: t, expected: x}\n")
    with pytest.raises(
        ModelConfigError, match="task\\(s\\) q have no scripted model and no model is configured"
    ):
        plan(unscripted, EvalOptions(out=tmp_path / "e3"), Settings())
    assert not (tmp_path / "e3").exists()


def test_repeats_give_spread_and_pass_at_k(tmp_path: Path) -> None:
    suite = suite_yaml(
        tmp_path, [{"id": "a", "answer": "1"}, {"id": "b", "answer": "2", "expected": "3"}]
    )
    eval_dir, seen = run_eval(suite, tmp_path / "eval", repeats=3, concurrency=3)
    assert sorted((r.task_id, r.repeat) for r in seen) == [(t, k) for t in "ab" for k in (1, 2, 3)]
    summary = report.write(eval_dir)
    assert summary.accuracy.pass_at == {1: 0.5, 2: 0.5, 3: 0.5}
    assert summary.accuracy.mean == 0.5
    assert summary.accuracy.spread == 0.0
    assert "pass@3" in (eval_dir.root / "report.md").read_text()
    assert len({r.run_dir for r in seen}) == 6  # a run directory per trial
