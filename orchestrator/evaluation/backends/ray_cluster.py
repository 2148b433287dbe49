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
import os
import socket
from collections.abc import Sequence
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.evaluation.backends import CANCELLED, Sink
from orchestrator.evaluation.records import TrialRecord
from orchestrator.evaluation.trial import TrialJob, failure, now, run_trial

INSTALL_ADVICE = (
    "the Ray backend needs Ray, an optional extra: pip install 'orchestrator[ray]' "
    "(or: pip install 'ray>=2.40')"
)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise OrchestratorError(INSTALL_ADVICE) from None
    return ray


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
        self._ray = _ray()  # fail before the evaluation starts if Ray is missing
        self._concurrency = concurrency
        self._address = address or os.environ.get("RAY_ADDRESS") or None

    async def run(self, jobs: Sequence[TrialJob], sink: Sink) -> None:
        ray = self._ray
        started_here = not ray.is_initialized()
        if started_here:
            self._init(ray)
        try:
            remote = ray.remote(num_cpus=1, max_retries=0)(run_in_worker)
            slots = asyncio.Semaphore(self._concurrency)
            async with asyncio.TaskGroup() as group:
                for job in jobs:
                    group.create_task(self._one(ray, remote, job, slots, sink))
        finally:
            if started_here:
                ray.shutdown()

    def _init(self, ray: Any) -> None:
        options: dict[str, Any] = {"log_to_driver": False}
        if self._address is None:  # a local cluster just for this evaluation
            options |= {"num_cpus": self._concurrency, "include_dashboard": False}
        else:
            options["address"] = self._address
            _probe(self._address)  # ray.init waits on a dead cluster for a very long time
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self._address or "a local cluster"
            raise OrchestratorError(f"cannot start or reach Ray at {where}: {exc}") from exc

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


PROBE_SECONDS = 5.0


def _probe(address: str) -> None:
    """Fail within PROBE_SECONDS, with a clear message, if nothing listens at `address`
    (`ray://HOST:PORT` for Ray Client, or `HOST:PORT` of the head's GCS); `auto` is
    looked up by Ray itself, which fails fast when there is no local cluster."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if address == "auto" or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        client = (
            " (Ray Client needs `pip install 'ray[client]'` here)"
            if address.startswith("ray://")
            else ""
        )
        raise OrchestratorError(
            f"cannot reach Ray at {address}: {reason} within {PROBE_SECONDS:g} s; is the cluster "
            f"up (`ray status` on its head) and the port open?{client}"
        ) from None
