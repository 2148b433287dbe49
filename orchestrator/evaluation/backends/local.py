"""Trials as asyncio tasks in this process, at most `concurrency` at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from orchestrator.evaluation.backends import CANCELLED, Sink
from orchestrator.evaluation.trial import TrialJob, failure, now, run_trial


class LocalBackend:
    def __init__(self, concurrency: int = 1, environ: Mapping[str, str] | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._slots = asyncio.Semaphore(concurrency)
        self._environ = environ

    async def run(self, jobs: Sequence[TrialJob], sink: Sink) -> None:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(self._one(job, sink), name=f"{job.task.id}/r{job.repeat}")

    async def _one(self, job: TrialJob, sink: Sink) -> None:
        async with self._slots:  # cancelled while queued: never started, nothing to record
            started = now()
            try:
                record = await run_trial(job, self._environ)
            except asyncio.CancelledError:
                sink(failure(job, "cancelled", CANCELLED, started))
                raise
            sink(record)
