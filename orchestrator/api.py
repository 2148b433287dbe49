"""The Python API: run tasks from your own program; the surface the CLI, the scenario
runner, evaluation and the service all use.

    orch = Orchestrator(settings)
    result = await orch.run("What is ...?", team=["web_surfer"], model="openai:gpt-4o")
    async for event in orch.run_stream("..."): ...

Two ways in: in the foreground (`new_config`, `create`, `execute`: the command line and the
evaluation's trials, which own their task and see its exceptions), or through the queue
(`submit`, `run`, `run_stream`: the service and embedders), where runs wait for a slot,
their events fan out to any number of readers (see `feed`) and a handle per run id lets
you attach, cancel, park or resume. Either way the run itself is `orchestrator.session`.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ledgers import Limits
from orchestrator import attachments as attached
from orchestrator import session
from orchestrator.config import ApprovalMode, ScriptedModelConfig, Settings, load_settings
from orchestrator.errors import OrchestratorError, RunDirError
from orchestrator.events import Event, Subscriber
from orchestrator.feed import EventFeed
from orchestrator.run_backends import (
    PARKED,
    InProcess,
    RunBackend,
    RunFailedElsewhere,
    RunLost,
    RunParked,
)
from orchestrator.session import PeopleFactory
from orchestrator.state import FinalResult, RunConfig
from orchestrator.store import RunStore

RunState = Literal["queued", "running", "parked", "finished", "interrupted", "error"]


class RunNotFinished(OrchestratorError):
    """The run stopped without a result (interrupted, or an internal error); resume it."""


class RunHandle:
    """One run known to this process: its state, its events, its result."""

    def __init__(self, store: RunStore, feed: EventFeed) -> None:
        self.store = store
        self.feed = feed
        self.state: RunState = "queued"
        self.error: str | None = None
        self.cancel_requested = asyncio.Event()
        self.parking = False
        self.lost = False  # the process executing it died (`RunLost`): resumable
        self.task: asyncio.Task[None] | None = None
        self._done: asyncio.Future[FinalResult] = asyncio.get_running_loop().create_future()
        self._done.add_done_callback(lambda f: f.cancelled() or f.exception())

    @property
    def run_id(self) -> str:
        return self.store.root.name

    @property
    def live(self) -> bool:
        return self.state in ("queued", "running")

    async def result(self) -> FinalResult:
        """The final result; raises `RunNotFinished` if the run stopped without one."""
        return await asyncio.shield(self._done)

    def events(self, after: int = 0) -> AsyncIterator[Event]:
        return _events_only(self.feed.follow(after))

    def _finished(self, result: FinalResult | None, state: RunState, error: str = "") -> None:
        self.state, self.error = state, error or None
        if self._done.done():
            return
        if result is not None:
            self._done.set_result(result)
        else:
            why = f": {error}" if error else ""
            self._done.set_exception(RunNotFinished(f"run {self.run_id} {state}{why}"))


class Orchestrator:
    """Runs tasks, at most `max_concurrent` at once (the rest wait in order)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        runs_dir: Path | None = None,
        max_concurrent: int = 4,
        environ: Mapping[str, str] | None = None,
        on_change: Callable[[RunHandle], None] | None = None,
        backend: RunBackend | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self.backend: RunBackend = backend or InProcess()
        # Like the CLI: the config file and the environment, unless settings are given.
        self.settings = settings or load_settings(None, self._environ)[0]
        self.runs_dir = runs_dir or self.settings.runs_dir
        self.max_concurrent = max(1, max_concurrent)
        self._on_change = on_change or (lambda handle: None)
        self._handles: dict[str, RunHandle] = {}
        self._waiting: deque[tuple[RunHandle, PeopleFactory | None, Sequence[Subscriber]]] = deque()
        self._running = 0

    # --- building a run -----------------------------------------------------------------

    def new_config(
        self,
        task: str,
        *,
        team: Sequence[str] | None = None,
        model: str | Mapping[str, Any] | None = None,
        script: ScriptedModelConfig | Mapping[str, Any] | None = None,
        limits: Limits | Mapping[str, Any] | None = None,
        approvals: ApprovalMode | None = None,
        attachments: Sequence[Path] = (),
        source: str = "api",
        **extra: Any,
    ) -> RunConfig:
        """A checked RunConfig: the settings with these overrides (preflight included)."""
        update: dict[str, Any] = {"runs_dir": self.runs_dir}
        if team is not None:
            update["team"] = list(team)
        if model is not None:
            update["models"] = {"default": model} if isinstance(model, str) else dict(model)
        if limits is not None:
            given = limits if isinstance(limits, Mapping) else limits.model_dump()
            update["limits"] = {**self.settings.limits.model_dump(), **given}
        if approvals is not None:
            update["approvals"] = approvals
        settings = Settings.model_validate({**self.settings.model_dump(), **update})
        if script is not None:
            extra["scripted"] = ScriptedModelConfig.model_validate(script)
        config = session.new_config(
            task,
            settings,
            source=source,
            attachments=attached.describe_all(list(attachments)),
            **extra,
        )
        self.preflight(config)
        return config

    def preflight(self, config: RunConfig) -> None:
        """Fail now, before a run directory exists, if the team or models can't be had."""
        session.preflight(config, self._environ)

    # --- starting, following, stopping -------------------------------------------------

    def create(self, config: RunConfig, *, attachments: Sequence[Path] = ()) -> RunStore:
        """Create the run directory for `config`; then `execute` it here or `submit` it to
        the queue. `attachments`, if given, are the files `config.attachments` describes,
        copied in (a caller that places them itself passes none)."""
        store = session.start(config, self.runs_dir)
        if attachments:
            attached.copy_in(store.workspace, list(attachments), config.attachments)
        return store

    async def execute(
        self,
        store: RunStore,
        *,
        subscribers: Sequence[Subscriber] = (),
        interactive: bool = False,
        sites_running: bool = False,
    ) -> FinalResult:
        """Run (or resume) the run in `store` in the calling task, to its end, outside the
        queue: the CLI's, the scenario runner's and the evaluation's way in. The person at
        a terminal can be asked (`interactive`), and what ends the run without a result
        (`RunStopped`, a model's error, Ctrl-C) reaches the caller as it is."""
        return await session.execute(
            store,
            subscribers=subscribers,
            interactive=interactive,
            environ=self._environ,
            sites_running=sites_running,
        )

    def submit(
        self,
        config: RunConfig,
        *,
        attachments: Sequence[Path] = (),
        people: PeopleFactory | None = None,
        subscribers: Sequence[Subscriber] = (),
    ) -> RunHandle:
        """Create the run directory and queue the run; returns at once."""
        return self._enqueue(self.create(config, attachments=attachments), people, subscribers)

    async def asubmit(
        self,
        config: RunConfig,
        *,
        attachments: Sequence[Path] = (),
        people: PeopleFactory | None = None,
        subscribers: Sequence[Subscriber] = (),
    ) -> RunHandle:
        """`submit`, with the disk work (written and fsynced) off the event loop."""

        store = await asyncio.to_thread(self.create, config, attachments=attachments)
        return self._enqueue(store, people, subscribers)

    def resume(
        self,
        run_id: str,
        *,
        people: PeopleFactory | None = None,
        subscribers: Sequence[Subscriber] = (),
    ) -> RunHandle:
        """Queue an unfinished run again; it continues from its last checkpoint."""
        handle = self._handles.get(run_id)
        if handle is not None and handle.live:
            return handle
        store = self.open(run_id)
        if store.load_result() is not None:
            raise OrchestratorError(f"run {run_id} has already finished; nothing to resume")
        return self._enqueue(store, people, subscribers)

    def cancel(
        self,
        run_id: str,
        *,
        people: PeopleFactory | None = None,
        subscribers: Sequence[Subscriber] = (),
    ) -> RunHandle:
        """End a run with stop reason `cancelled` and a best-guess answer. A run that is
        not executing is started just to write that answer."""
        handle = self._handles.get(run_id)
        if handle is None or not handle.live:
            handle = self.resume(run_id, people=people, subscribers=subscribers)
        handle.cancel_requested.set()
        if handle.state == "queued":  # no need to wait for a slot just to stop
            for i, (waiting, people_for, subs) in enumerate(self._waiting):
                if waiting is handle:
                    del self._waiting[i]
                    self._launch(handle, people_for, subs)
                    break
        return handle

    def park(self, run_id: str) -> None:
        """Stop executing a run while it waits for a person, freeing its slot: it keeps its
        checkpoint, its state is `parked` and its readers stay attached; `resume` it once
        the answer is recorded where its person channel will find it (the service does)."""
        handle = self._handles.get(run_id)
        if handle is None or handle.task is None or handle.task.done():
            return
        handle.parking = True
        handle.task.cancel(PARKED)

    async def run(self, task: str, **options: Any) -> FinalResult:
        """Run `task` to its end (options as for `new_config`, plus `people`)."""
        people = options.pop("people", None)
        config = self.new_config(task, **options)
        handle = self.submit(config, attachments=options.get("attachments", ()), people=people)
        return await handle.result()

    async def run_stream(self, task: str, **options: Any) -> AsyncIterator[Event]:
        """Run `task`, yielding each event as it happens; the last is `run_finished`."""
        people = options.pop("people", None)
        config = self.new_config(task, **options)
        handle = self.submit(config, attachments=options.get("attachments", ()), people=people)
        async for event in handle.events():
            yield event

    def attach(self, run_id: str, after: int = 0) -> AsyncIterator[Event]:
        """A run's events after `after`: logged ones, then live ones if it is executing here."""
        return _events_only(self.feed(run_id).follow(after))

    def get(self, run_id: str) -> RunHandle | None:
        return self._handles.get(run_id)

    def feed(self, run_id: str) -> EventFeed:
        handle = self._handles.get(run_id)
        if handle is not None:
            return handle.feed
        feed = EventFeed(self.open(run_id).root)
        feed.close()
        return feed

    def open(self, run_id: str) -> RunStore:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise RunDirError(f"{run_id!r} is not a run id")
        return RunStore.open(self.runs_dir / run_id)

    async def close(self) -> None:
        """Interrupt every executing run (each stays resumable from its checkpoint)."""
        self._waiting.clear()
        tasks = [h.task for h in self._handles.values() if h.task is not None and not h.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for handle in self._handles.values():
            if handle.live or handle.state == "parked":
                handle._finished(None, "interrupted", "the process stopped")
                handle.feed.close()
        await self.backend.close()

    # --- the queue ----------------------------------------------------------------------

    def _enqueue(
        self, store: RunStore, people: PeopleFactory | None, subscribers: Sequence[Subscriber]
    ) -> RunHandle:
        previous = self._handles.get(store.root.name)
        feed = previous.feed if previous is not None else EventFeed(store.root)
        feed.reopen()
        handle = RunHandle(store, feed)
        self._handles[handle.run_id] = handle
        self._waiting.append((handle, people, subscribers))
        self._on_change(handle)
        self._pump()
        return handle

    def _pump(self) -> None:
        while self._waiting and self._running < self.max_concurrent:
            self._launch(*self._waiting.popleft())

    def _launch(
        self, handle: RunHandle, people: PeopleFactory | None, subscribers: Sequence[Subscriber]
    ) -> None:
        self._running += 1
        handle.state = "running"
        self._on_change(handle)
        handle.task = asyncio.create_task(self._execute(handle, people, subscribers))

    async def _execute(
        self, handle: RunHandle, people: PeopleFactory | None, subscribers: Sequence[Subscriber]
    ) -> None:
        try:
            result = await self.backend.execute(
                handle.store,
                subscribers=[handle.feed.publish, *subscribers],  # closed below, unless parked
                environ=self._environ,
                people=people,
                cancel=handle.cancel_requested,
            )
            handle._finished(result, "finished")
        except asyncio.CancelledError:
            if not handle.parking:
                handle._finished(None, "interrupted", "the process stopped")
                raise
            handle._finished(None, "parked")
        except RunParked:
            handle._finished(None, "parked")
        except RunLost as exc:
            handle.lost = True
            handle._finished(None, "interrupted", str(exc))
        except RunFailedElsewhere as exc:
            handle._finished(None, "error", str(exc))
        except Exception as exc:  # a bug or a broken run dir must not take others down
            handle._finished(None, "error", f"{type(exc).__name__}: {exc}")
        finally:
            self._running -= 1
            if handle.state != "parked":  # a parked run's readers wait for it to resume
                handle.feed.close()
            self._on_change(handle)
            self._pump()


async def _events_only(items: AsyncIterator[Event | None]) -> AsyncIterator[Event]:
    async for item in items:
        if item is not None:
            yield item
