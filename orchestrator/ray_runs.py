"""Runs as Ray tasks (`orchestrator serve --backend ray`): each run executes on whichever
node Ray picks, writing its run directory on a filesystem every node shares.

The service stays a front over the same loop and the same run directory:
- events: the worker's run writes `events.jsonl` as always; the service tails it
  (`feed.LogTail`) and hands each new event to the run's subscribers (the SSE feed);
- cancel: the service writes `cancel.requested` in the run directory; the worker polls
  for it and sets the loop's `Deps.cancel` (a best-guess answer, stop reason `cancelled`).
  The file stays, so a cancel the worker never saw still applies when the run resumes;
- interrupt (the server stops): `interrupt.requested` makes the worker cancel its run,
  which keeps its checkpoint, within STOP_SECONDS; after that Ray kills the task. If the
  server dies (kill -9), Ray ends its job's tasks; the next server resumes the runs;
- people: questions and approvals are in `people.json` (`service.people.FilePeople` on
  the worker polls it for the answers the service records); a run that waits too long
  writes `park.requested` and stops (checkpoint kept), freeing its slot and its CPU;
- the concurrency limit and the queue stay in `api.Orchestrator`; each run also takes
  RUN_CPUS of its node's CPUs in Ray's accounting.
A worker that cannot see the run directory reports it as the run's error.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator import ray_cluster, session
from orchestrator.errors import RunDirError
from orchestrator.events import Subscriber
from orchestrator.feed import LogTail
from orchestrator.run_backends import PARKED, RunFailedElsewhere, RunLost, RunParked
from orchestrator.session import PeopleFactory
from orchestrator.state import FinalResult
from orchestrator.store import CONFIG, RunStore

CANCEL_MARK = "cancel.requested"
INTERRUPT_MARK = "interrupt.requested"
PARK_MARK = "park.requested"  # written by the run's own people (`FilePeople`) on the worker
POLL_SECONDS = 0.1  # how often the service tails the log and the worker looks for marks
STOP_SECONDS = 10.0  # a worker's time to stop cleanly before Ray is told to kill it
LOCK_SECONDS = 15.0  # the worker of a killed server may take a moment to die and unlock
RUN_CPUS = 1


def run_in_worker(run_dir: str, people: PeopleFactory | None, poll: float) -> dict[str, str]:
    """The Ray task: one run (new or resumed), in its own event loop, on any node."""
    root = Path(run_dir)
    if not (root / CONFIG).is_file():
        return {
            "state": "error",
            "error": f"{root} is not visible on node {socket.gethostname()}: `serve --backend "
            "ray` needs the runs dir on a filesystem shared by every node, at the same path",
        }
    return asyncio.run(_run(root, people, poll))


async def _run(root: Path, people: PeopleFactory | None, poll: float) -> dict[str, str]:
    cancel = asyncio.Event()
    main = asyncio.current_task()
    assert main is not None

    def interrupted() -> bool:
        if (root / CANCEL_MARK).exists():
            cancel.set()
        return (root / INTERRUPT_MARK).exists() or (root / PARK_MARK).exists()

    async def watch() -> None:  # marks are files (another process, maybe another node)
        while True:
            if interrupted():
                main.cancel(PARKED if (root / PARK_MARK).exists() else "the server stopped")
                return
            await asyncio.sleep(poll)

    if interrupted():
        return {"state": "interrupted"}
    watcher = asyncio.create_task(watch())
    try:
        store = RunStore.open(root)
        await _lock(store)
        result = await session.execute(store, people=people, cancel=cancel)
        return {"state": "finished", "result": result.model_dump_json()}
    except asyncio.CancelledError:  # interrupted or parked: the checkpoint stays for a resume
        return {"state": "parked" if (root / PARK_MARK).exists() else "interrupted"}
    except Exception as exc:  # reported to the service as the run's error
        return {"state": "error", "error": f"{type(exc).__name__}: {exc}"}
    finally:
        watcher.cancel()


async def _lock(store: RunStore) -> None:
    deadline = time.monotonic() + LOCK_SECONDS
    while True:
        try:
            store.lock()  # `session.execute` finds it held and goes on
            return
        except RunDirError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


class RayRuns:
    """A `RunBackend` that executes each run as a Ray task."""

    remote = True

    def __init__(self, *, address: str | None = None, cpus: int = 4, poll: float = POLL_SECONDS):
        self._ray = ray_cluster.ray_module()  # fail at once if Ray is not installed
        self._address = ray_cluster.address_or_env(address)
        self._cpus = cpus
        self._poll = poll
        self._task: Any = None
        self._started_here = False

    @property
    def where(self) -> str:
        return self._address or f"a local Ray cluster ({self._cpus} CPUs)"

    def connect(self) -> None:
        """Join (or start) the cluster; blocking, so call it before serving."""
        if self._task is not None:
            return
        self._started_here = ray_cluster.connect(self._ray, self._address, self._cpus)
        self._task = self._ray.remote(num_cpus=RUN_CPUS, max_retries=0)(run_in_worker)

    async def execute(
        self,
        store: RunStore,
        *,
        subscribers: Sequence[Subscriber],
        environ: Mapping[str, str],  # the workers' own environment is used (keys included)
        people: PeopleFactory | None,
        cancel: asyncio.Event,
    ) -> FinalResult:
        self.connect()
        root = store.root.resolve()  # the worker's current directory is not ours
        for mark in (INTERRUPT_MARK, PARK_MARK):
            (root / mark).unlink(missing_ok=True)
        tail = await asyncio.to_thread(LogTail, root)  # reads the log so far
        live = list(subscribers)

        async def deliver() -> None:
            for event in await asyncio.to_thread(tail.read):
                for subscriber in list(live):
                    try:
                        subscriber(event)
                    except Exception as exc:  # as on the bus: a display bug must not end a run
                        live.remove(subscriber)
                        print(
                            f"orchestrator: event subscriber {subscriber!r} failed and was "
                            f"removed: {exc!r}",
                            file=sys.stderr,
                        )

        marked = cancel.is_set() and _mark(root / CANCEL_MARK)
        ref = self._task.remote(str(root), people, self._poll)
        outcome = asyncio.wrap_future(ref.future())
        try:
            while not outcome.done():
                await asyncio.wait({outcome}, timeout=self._poll)
                if cancel.is_set() and not marked:
                    marked = _mark(root / CANCEL_MARK)
                await deliver()
            reply: dict[str, str] = outcome.result()
        except asyncio.CancelledError:
            await self._stop(ref, outcome, root)
            await deliver()
            raise
        except self._ray.exceptions.RayError as exc:  # the worker or its node died
            await deliver()
            raise RunLost(
                f"ray: {type(exc).__name__}: {exc}; the last checkpoint is kept: resume the run"
            ) from None
        await deliver()
        if reply["state"] == "finished":
            return FinalResult.model_validate_json(reply["result"])
        if reply["state"] == "parked":
            raise RunParked(PARKED)
        if reply["state"] == "interrupted":
            raise RunFailedElsewhere("interrupted on its worker; the checkpoint is kept: resume it")
        raise RunFailedElsewhere(reply.get("error", "failed on its worker"))

    async def _stop(self, ref: Any, outcome: asyncio.Future[Any], root: Path) -> None:
        """Ask the worker to interrupt the run (checkpoint kept); kill it if it does not."""
        _mark(root / INTERRUPT_MARK)
        await asyncio.wait({outcome}, timeout=STOP_SECONDS)
        if not outcome.done():
            self._ray.cancel(ref, force=True)
        else:
            outcome.exception()  # retrieved: no "never retrieved" warning

    async def close(self) -> None:
        if self._started_here:
            self._ray.shutdown()
            self._started_here = False
        self._task = None


def _mark(path: Path) -> bool:
    path.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
    return True
