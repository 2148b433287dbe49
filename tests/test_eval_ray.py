"""`--backend ray`: the scripted sample suite on a local Ray cluster started for the test,
with the same run directories, index and report as the local backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from orchestrator.config import Settings
from orchestrator.evaluation import report
from orchestrator.evaluation.backends.local import LocalBackend
from orchestrator.evaluation.runner import EvalOptions, execute, make_backend, plan
from orchestrator.store import RunStore

ray = pytest.importorskip("ray", reason="the Ray backend is an optional extra")

SCRIPTED = Path(__file__).resolve().parent.parent / "evals" / "sample-scripted" / "suite.yaml"


@pytest.mark.slow
def test_the_ray_backend_runs_the_suite_like_the_local_one(tmp_path: Path) -> None:
    ray_opts = EvalOptions(out=tmp_path / "ray", backend="ray", concurrency=2)
    planned = plan(SCRIPTED, ray_opts, Settings())
    backend = make_backend(ray_opts)
    assert type(backend).__name__ == "RayBackend"
    asyncio.run(execute(planned, backend))
    assert not ray.is_initialized()  # the cluster it started was shut down

    local_opts = EvalOptions(out=tmp_path / "local", concurrency=2)
    local = plan(SCRIPTED, local_opts, Settings())
    asyncio.run(execute(local, LocalBackend(2)))

    on_ray, here = planned.eval_dir.latest(), local.eval_dir.latest()
    assert set(on_ray) == set(here)
    assert len(on_ray) == len(planned.jobs)
    for key, record in on_ray.items():
        same = here[key]
        assert (record.outcome, record.stop_reason, record.correct, record.extracted) == (
            same.outcome,
            same.stop_reason,
            same.correct,
            same.extracted,
        ), key
        assert record.run_dir is not None
        assert record.run_dir.startswith(f"runs/{key[0]}/r1/")
        if record.outcome == "finished":
            store = RunStore(planned.eval_dir.root / record.run_dir)
            assert store.load_result() is not None  # written by the worker, on this disk
    summary = report.write(planned.eval_dir)
    assert summary.complete
    assert summary.accuracy == report.write(local.eval_dir).accuracy
    assert (planned.eval_dir.root / "report.md").is_file()


def test_a_worker_that_cannot_see_the_evaluation_directory_says_so(tmp_path: Path) -> None:
    from dataclasses import replace

    from orchestrator.evaluation.backends.ray_cluster import run_in_worker

    opts = EvalOptions(out=tmp_path / "eval")
    job = plan(SCRIPTED, opts, Settings()).jobs[0]
    elsewhere = replace(job, eval_dir=tmp_path / "not-mounted", runs_dir=tmp_path / "nm" / "r1")
    record = run_in_worker(elsewhere)  # what the Ray task does first, on any node
    assert (record.outcome, record.correct) == ("error", False)
    assert record.error is not None
    assert "not visible on node" in record.error
    assert "filesystem shared by every node" in record.error
