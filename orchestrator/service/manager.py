"""The service's runs: created from requests, executed by `api.Orchestrator`, indexed in
SQLite, with people answering over HTTP, and recovered after a restart.

A run belongs to the service if its config's `source` starts with "service". On start,
every such run without a result was cut off (the server stopped or was killed): it is
queued again (`recover="resume"`) or left `interrupted` for a person to resume.

Runs execute in this process or, with a remote `backend` (`ray_runs.RayRuns`), in Ray
workers (a run whose worker dies is resumed, RELAUNCHES times at most, like a run cut off
by a restart); the manager is the same front either way: people answer through `people.json`
(`FilePeople` on the worker), and whether a run waits for a person is read from its
events (`human_waiting` / `human_answered`), which reach the manager either way.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from orchestrator.api import Orchestrator, RunHandle
from orchestrator.config import Settings
from orchestrator.errors import OrchestratorError
from orchestrator.events import Event, HumanAnswered, HumanWaiting, Subscriber
from orchestrator.run_backends import RunBackend
from orchestrator.scenarios.runner import build_config
from orchestrator.scenarios.schema import Scenario, ScriptedChoice
from orchestrator.service.index import RunIndex, RunRow, read_row
from orchestrator.service.people import Ask, FilePeople, HttpPeople, PendingBook
from orchestrator.service.schemas import CreateRun
from orchestrator.session import SCREENSHOTS, People, PeopleFactory
from orchestrator.state import RunConfig
from orchestrator.yamlfile import parse_located

Recover = Literal["resume", "interrupt"]
SOURCE = "service"
RELAUNCHES = 2  # times a run whose worker died is resumed at once, per server life


class RunConflict(OrchestratorError):
    """The run is not in a state that allows this (409)."""


class RunManager:
    def __init__(
        self,
        settings: Settings,
        *,
        runs_dir: Path,
        max_concurrent: int = 4,
        recover: Recover = "resume",
        environ: Mapping[str, str] | None = None,
        backend: RunBackend | None = None,
        park_after: float | None = None,
    ) -> None:
        self.runs_dir = runs_dir
        self.park_after = park_after  # seconds a run may wait for a person in its slot
        self.recover_mode: Recover = recover
        self.index = RunIndex(runs_dir)
        self.orch = Orchestrator(
            settings,
            runs_dir=runs_dir,
            max_concurrent=max_concurrent,
            environ=environ,
            on_change=self._changed,
            backend=backend,
        )
        self._books: dict[str, PendingBook] = {}
        self._asking: dict[str, set[str]] = {}  # run id -> the ids of its unanswered asks
        self._relaunched: Counter[str] = Counter()

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> list[str]:
        """Rebuild the index and recover cut-off runs; returns the ids recovered."""
        recovered = []
        for row in self.index.rebuild():
            if row.state != "interrupted" or not row.source.startswith(SOURCE):
                continue
            recovered.append(row.run_id)
            if self.recover_mode == "resume":
                self.resume(row.run_id)
        return recovered

    async def close(self) -> None:
        await self.orch.close()
        self.index.close()

    # --- runs ---------------------------------------------------------------------------

    async def create(self, request: CreateRun) -> RunHandle:
        """Check and write the run (off the event loop: YAML, fsyncs), then queue it."""
        if request.scenario is not None:
            config = await asyncio.to_thread(self._scenario_config, request.scenario)
            return await self._submit(config)
        if not request.attachments:
            return await self._submit(await asyncio.to_thread(self._task_config, request, []))
        uploads = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.runs_dir))
        try:
            paths = await asyncio.to_thread(self._upload, request, uploads)
            config = await asyncio.to_thread(self._task_config, request, paths)
            return await self._submit(config, paths)
        finally:
            await asyncio.to_thread(shutil.rmtree, uploads, True)

    def _upload(self, request: CreateRun, folder: Path) -> list[Path]:
        paths = []
        for i, attachment in enumerate(request.attachments):
            try:
                data = attachment.content()
            except ValueError as exc:
                raise OrchestratorError(f"attachments.{i}.content_base64: {exc}") from None
            path = folder / attachment.name
            path.write_bytes(data)
            paths.append(path)
        return paths

    def _task_config(self, request: CreateRun, attachments: list[Path]) -> RunConfig:
        assert request.task is not None
        options: dict[str, Any] = {"team": request.team, "limits": request.limits}
        if isinstance(request.model, ScriptedChoice):
            options["script"] = request.model.scripted
        elif request.model is not None:
            options["model"] = request.model.models
        return self.orch.new_config(
            request.task,
            attachments=attachments,
            approvals=request.approvals,
            source=SOURCE,
            **options,
        )

    def _scenario_config(self, text: str) -> RunConfig:
        located = parse_located(text, "scenario", Scenario)
        scenario = located.value
        if scenario.fixtures.files or scenario.fixtures.sites or scenario.fixtures.indexes:
            raise located.error(
                ("fixtures",),
                "fixtures are not available over HTTP (they name files on the server); "
                "send files as `attachments` with a `task` instead",
            )
        config = build_config(
            Path("scenario"), scenario, self.runs_dir, {}, source=f"{SOURCE}:scenario"
        )
        self.orch.preflight(config)
        return config

    async def _submit(self, config: RunConfig, attachments: list[Path] | None = None) -> RunHandle:
        return await self.orch.asubmit(
            config,
            attachments=attachments or [],
            people=self._people(config),
            subscribers=[self._watch(config.run_id)],
        )

    def _people(self, config: RunConfig) -> PeopleFactory:
        scripted = config.human.mode == "scripted"  # a scenario's replies answer its questions
        run_id = config.run_id
        if self.orch.backend.remote:
            root = (self.runs_dir / run_id).resolve()
            return FilePeople(root, scripted=scripted, park_after=self.park_after)
        book = self.book(run_id)

        def people(bus: Any) -> People:
            http = HttpPeople(
                book, bus, park_after=self.park_after, park=lambda: self.orch.park(run_id)
            )
            return People(human=None if scripted else http, decide=http.decide)

        return people

    def resume(self, run_id: str) -> RunHandle:
        handle = self.orch.get(run_id)
        if handle is not None and handle.live:
            raise RunConflict(f"run {run_id} is already {handle.state}")
        store = self.orch.open(run_id)
        if store.load_result() is not None:
            raise RunConflict(f"run {run_id} has already finished; nothing to resume")
        return self.orch.resume(
            run_id, people=self._people(store.load_config()), subscribers=[self._watch(run_id)]
        )

    def cancel(self, run_id: str) -> RunHandle:
        store = self.orch.open(run_id)
        handle = self.orch.get(run_id)
        if (handle is None or not handle.live) and store.load_result() is not None:
            raise RunConflict(f"run {run_id} has already finished; nothing to cancel")
        return self.orch.cancel(
            run_id, people=self._people(store.load_config()), subscribers=[self._watch(run_id)]
        )

    def answer(self, run_id: str, ask_id: str, *, answer: str | None, approved: bool | None) -> Ask:
        self.orch.open(run_id)
        done = self.book(run_id).answer(ask_id, answer=answer, approved=approved)
        self._unpark(run_id)
        return done

    def _may_relaunch(self, handle: RunHandle) -> bool:
        return (
            handle.lost
            and self.recover_mode == "resume"
            and self._relaunched[handle.run_id] < RELAUNCHES
        )

    def _relaunch(self, run_id: str) -> None:
        handle = self.orch.get(run_id)
        if handle is not None and handle.lost and not handle.live:
            self.resume(run_id)

    def _unpark(self, run_id: str) -> None:
        """A parked run goes back in the queue once nothing it asked is pending."""
        handle = self.orch.get(run_id)
        if handle is not None and handle.state == "parked" and not self.book(run_id).pending():
            self.resume(run_id)

    def book(self, run_id: str) -> PendingBook:
        if run_id not in self._books:
            self._books[run_id] = PendingBook(
                self.runs_dir / run_id, on_change=lambda: self._refresh(run_id)
            )
        return self._books[run_id]

    # --- reading ------------------------------------------------------------------------

    def row(self, run_id: str) -> RunRow:
        row = self.index.get(run_id)
        if row is None:
            store = self.orch.open(run_id)  # raises for an unknown run
            row = read_row(store.root)
            self.index.put(row)
        return row

    def detail(self, run_id: str) -> dict[str, Any]:
        store = self.orch.open(run_id)
        config = store.load_config()
        state = store.load_checkpoint() if store.has_checkpoint() else None
        result = store.load_result()
        return {
            **self.row(run_id).as_dict(),
            "team": config.settings.team,
            "limits": config.settings.limits.model_dump(mode="json"),
            "attachments": [a.model_dump() for a in config.attachments],
            "phase": state.phase.value if state else None,
            "round": state.rounds if state else 0,
            "task_ledger": state.ledger.model_dump(mode="json") if state and state.ledger else None,
            "progress_ledger": (
                state.last_progress.model_dump(mode="json")
                if state and state.last_progress
                else None
            ),
            "result": result.model_dump(mode="json") if result else None,
            "asks": [a.model_dump() for a in self.book(run_id).asks()],
            "last_seq": store.last_seq(),
        }

    def files(self, run_id: str) -> list[dict[str, Any]]:
        root = self.orch.open(run_id).workspace
        return [
            {"path": str(p.relative_to(root)), "size": p.stat().st_size}
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()
        ]

    def file(self, run_id: str, relative: str) -> Path | None:
        """A workspace file, or None if there is none or the path leaves the workspace."""
        root = self.orch.open(run_id).workspace.resolve()
        try:
            path = (root / relative).resolve()
        except (OSError, RuntimeError):
            return None
        if not path.is_relative_to(root) or not path.is_file():
            return None
        return path

    def screenshot(self, run_id: str, name: str) -> Path | None:
        folder = self.orch.open(run_id).root / SCREENSHOTS
        path = folder / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return None
        return path

    # --- keeping the index current -------------------------------------------------------

    def _watch(self, run_id: str) -> Subscriber:
        """Follows a run's asks from its events, wherever it executes."""

        def watch(event: Event) -> None:
            if isinstance(event, HumanWaiting):
                self._asking.setdefault(run_id, set()).add(event.id)
            elif isinstance(event, HumanAnswered):
                self._asking.get(run_id, set()).discard(event.id)
            else:
                return
            self._refresh(run_id)

        return watch

    def _changed(self, handle: RunHandle) -> None:
        if not handle.live:
            self._asking.pop(handle.run_id, None)
        if handle.state == "finished":
            self.book(handle.run_id).close_pending()
        if handle.state == "parked":  # answered while it was being parked: resume it
            asyncio.get_running_loop().call_soon(self._unpark, handle.run_id)
        if self._may_relaunch(handle):  # its worker died: resumed as on a restart
            self._relaunched[handle.run_id] += 1
            asyncio.get_running_loop().call_soon(self._relaunch, handle.run_id)
        self._refresh(handle.run_id)

    def _refresh(self, run_id: str) -> None:
        handle = self.orch.get(run_id)
        state: str | None = handle.state if handle is not None else None
        if state == "parked" or (
            state == "running" and (self._asking.get(run_id) or self.book(run_id).waiting)
        ):
            state = "waiting"
        row = read_row(self.runs_dir / run_id, state=state)
        if handle is not None and handle.error:
            row.error = handle.error
        self.index.put(row)
