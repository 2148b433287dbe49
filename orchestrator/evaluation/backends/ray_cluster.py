"""Trials as Ray tasks: fan an evaluation out over a Ray cluster (`--backend ray`).

Ray schedules; we only submit one task per trial and await the records, at most
`concurrency` in flight. Each Ray task runs one orchestrator run to completion in a worker
with `trial.run_trial`, writing its run directory straight into the evaluation directory,
and returns the record to the driver, which appends it to the index. So the run
directories and the report are the same as with the local backend.

Where it runs:
- no address (and no `RAY_ADDRESS`): a local cluster is started for the evaluation and
  stopped after it, with `concurrency` CPUs;
- `--ray-address auto` (a cluster started with `ray start --head` on this machine) or
  `--ray-address ray://HEAD:10001` (Ray Client) for a remote cluster.

A real cluster needs (1) the same version of this project installed on every node (or a
`runtime_env`), (2) the evaluation directory and the suite's files (attachments, local
sites) on a filesystem every node mounts at the same path (NFS, a cluster FS), and
(3) model keys in the workers' environment. Each worker checks (2) before it starts and
reports a clear error for the trial if it cannot see those paths. Ray is an optional
extra: `pip install 'orchestrator[ray]'`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any

from orchestrator import ray_cluster
from orchestrator.evaluation.backends import CANCELLED, Sink
from orchestrator.evaluation.records import TrialRecord
from orchestrator.evaluation.trial import TrialJob, failure, now, run_trial


def run_in_worker(job: TrialJob) -> TrialRecord:
    """The Ray task: one trial, in its own event loop, on whichever node Ray chose."""
    started = now()
    missing = [p for p in (job.eval_dir, job.suite_path) if not p.exists()]
    if missing:
        detail = (
            f"{', '.join(map(str, missing))} not visible on node {socket.gethostname()}: "
            "a Ray cluster needs the evaluation directory and the suite's files on a "
            "filesystem shared by every node, at the same path"
        )
        return failure(job, "error", detail, started)
    return asyncio.run(run_trial(job))


class RayBackend:
    def __init__(self, concurrency: int = 1, *, address: str | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._ray = ray_cluster.ray_module()  # fail before the evaluation starts without Ray
        self._concurrency = concurrency
        self._address = ray_cluster.address_or_env(address)

    async def run(self, jobs: Sequence[TrialJob], sink: Sink) -> None:
        ray = self._ray
        started_here = ray_cluster.connect(ray, self._address, self._concurrency)
        try:
            remote = ray.remote(num_cpus=1, max_retries=0)(run_in_worker)
            slots = asyncio.Semaphore(self._concurrency)
            async with asyncio.TaskGroup() as group:
                for job in jobs:
                    group.create_task(self._one(ray, remote, job, slots, sink))
        finally:
            if started_here:
                ray.shutdown()

    async def _one(
        self, ray: Any, remote: Any, job: TrialJob, slots: asyncio.Semaphore, sink: Sink
    ) -> None:
        async with slots:
            started = now()
            ref = remote.remote(job)
            try:
                record: TrialRecord = await ref
            except asyncio.CancelledError:
                ray.cancel(ref)  # interrupts the worker's run, which keeps its checkpoint
                sink(failure(job, "cancelled", CANCELLED, started))
                raise
            except ray.exceptions.RayError as exc:  # the worker died, or Ray failed the task
                record = failure(job, "error", f"ray: {type(exc).__name__}: {exc}", started)
            sink(record)
