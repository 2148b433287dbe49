"""Running scenario files headless and judging them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import attachments, session, sites
from orchestrator.api import Orchestrator
from orchestrator.config import Settings
from orchestrator.errors import OrchestratorError
from orchestrator.events import Subscriber
from orchestrator.scenarios import expectations
from orchestrator.scenarios.schema import RealChoice, Scenario, ScriptedChoice
from orchestrator.state import FinalResult, HumanConfig, RunConfig, SiteConfig
from orchestrator.store import WORKSPACE, RunStore
from orchestrator.yamlfile import Located, load_located
from specialists.models.protocol import ModelError

INDEXES = "indexes"  # in the run directory: the search indexes `fixtures.indexes` builds

# `\{{name}}` is the text `{{name}}` itself: how text that is not ours (a GAIA question)
# keeps its braces through substitution.
PLACEHOLDER = re.compile(r"(\\?)\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")


def literal(text: str) -> str:
    """`text` with every placeholder-shaped run escaped, so `substitute` leaves it as is."""
    return PLACEHOLDER.sub(lambda m: m.group(0) if m.group(1) else "\\" + m.group(0), text)


def unescape(text: str) -> str:
    """`literal(text)` back as written (what `substitute` makes of it)."""
    return PLACEHOLDER.sub(lambda m: m.group(0)[1:] if m.group(1) else m.group(0), text)


@dataclass
class Outcome:
    path: Path
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    error: str | None = None  # the scenario could not run at all
    warnings: list[str] = field(default_factory=list)  # said even when it passed
    result: FinalResult | None = None
    run_dir: Path | None = None
    seconds: float = 0.0


class UnknownPlaceholder(OrchestratorError):
    def __init__(self, parts: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.parts = parts


def substitute(value: Any, values: Mapping[str, str], parts: tuple[str | int, ...] = ()) -> Any:
    """Replace {{name}} placeholders in every string inside `value` (at field `parts`)."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            if match.group(1):
                return match.group(0)[1:]
            key = match.group(2)
            if key not in values:
                known = ", ".join("{{" + k + "}}" for k in sorted(values)) or "none"
                raise UnknownPlaceholder(
                    parts, f"unknown placeholder {{{{{key}}}}}; known: {known}"
                )
            return values[key]

        return PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [substitute(v, values, (*parts, i)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: substitute(v, values, (*parts, k)) for k, v in value.items()}
    return value


def _check_references(path: Path, located: Located[Scenario]) -> None:
    """What the schema alone cannot check: fixtures exist, expectations name the team."""
    base, scenario = path.parent, located.value
    for i, fixture in enumerate(scenario.fixtures.files):
        if not (base / fixture.src).exists():
            raise located.error(
                ("fixtures", "files", i, "src"), f"{base / fixture.src} does not exist"
            )
    for name, site in scenario.fixtures.sites.items():
        if not (base / site.path).is_dir():
            raise located.error(("fixtures", "sites", name), f"{base / site.path} is not a folder")
    for name, folder in scenario.fixtures.indexes.items():
        if not (base / folder).is_dir():
            raise located.error(("fixtures", "indexes", name), f"{base / folder} is not a folder")
    for speaker in scenario.expect.reply_contains:
        if speaker not in scenario.team:
            raise located.error(
                ("expect", "reply_contains", speaker),
                f"{speaker!r} is not on the team ({', '.join(scenario.team)})",
            )


def _settings(scenario: Scenario, runs_dir: Path) -> Settings:
    models = scenario.model.models if isinstance(scenario.model, RealChoice) else {}
    return Settings(
        models=models,
        team=scenario.team,
        limits=scenario.limits,
        stall=scenario.stall,
        context=scenario.context,
        approvals=scenario.approvals.mode,
        runs_dir=runs_dir,
        specialists=scenario.specialists,
        final_answer_seconds=scenario.final_answer_seconds,
    )


def build_config(
    path: Path,
    scenario: Scenario,
    runs_dir: Path,
    site_urls: Mapping[str, tuple[str, int]],
    *,
    source: str | None = None,
) -> RunConfig:
    settings = _settings(scenario, runs_dir)
    config = session.new_config(scenario.task, settings, source=source or f"scenario:{path}")
    values = {f"sites.{name}": url for name, (url, _) in site_urls.items()}
    values["workspace"] = str((runs_dir / config.run_id / WORKSPACE).resolve())
    for name in scenario.fixtures.indexes:
        values[f"indexes.{name}"] = str(index_path(runs_dir / config.run_id, name).resolve())
    data = config.model_dump(by_alias=True)
    data["task"] = substitute(scenario.task, values, ("task",))
    data["settings"]["specialists"] = substitute(
        data["settings"]["specialists"], values, ("specialists",)
    )
    if scenario.human is not None:
        replies = substitute(scenario.human, values, ("human",))
        data["human"] = HumanConfig(mode="scripted", replies=replies).model_dump()
    if isinstance(scenario.model, ScriptedChoice):
        scripted = scenario.model.scripted.model_dump(by_alias=True, exclude_none=True)
        data["scripted"] = substitute(scripted, values, ("model", "scripted"))
    data["attachments"] = [
        attachments.describe(path.parent / f.src, f.dest or Path(f.src).name).model_dump()
        for f in scenario.fixtures.files
        if f.attach
    ]
    data["approval_rules"] = [r.model_dump() for r in scenario.approvals.rules]
    data["sites"] = {
        name: SiteConfig(
            path=str((path.parent / scenario.fixtures.sites[name].path).resolve()), port=port
        ).model_dump()
        for name, (_, port) in site_urls.items()
    }
    return RunConfig.model_validate(data)


async def run_one(
    path: Path,
    runs_dir: Path,
    *,
    subscribers: Callable[[], Sequence[Subscriber]] = tuple,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    started = time.monotonic()
    outcome = Outcome(path=path, name=path.stem, passed=False)
    try:
        located = load_located(path, Scenario)
        scenario = located.value
        outcome.name = scenario.name
        _check_references(path, located)
        folders = {
            name: (path.parent / site.path, site.port or 0)
            for name, site in scenario.fixtures.sites.items()
        }
        with _serve(located, folders) as running:
            urls = {name: (site.url, site.port) for name, site in running.items()}
            try:
                config = build_config(path, scenario, runs_dir, urls)
            except UnknownPlaceholder as exc:
                raise located.error(exc.parts, str(exc)) from None
            orch = Orchestrator(config.settings, runs_dir=runs_dir, environ=environ)
            store = orch.create(config)
            outcome.run_dir = store.root
            await asyncio.to_thread(build_indexes, path, located, store.root)
            for fixture in scenario.fixtures.files:
                copy_fixture(
                    path.parent / fixture.src,
                    store.workspace / (fixture.dest or Path(fixture.src).name),
                )
            result = await orch.execute(store, subscribers=subscribers(), sites_running=True)
        outcome.result = result
        events = list(store.events())
        outcome.failures = expectations.check(
            scenario.expect, result, events, _unused(store, config)
        )
        scripted = isinstance(scenario.model, ScriptedChoice)
        outcome.warnings = expectations.warnings(scenario.expect, events, scripted)
        outcome.passed = not outcome.failures
    except (OrchestratorError, ModelError) as exc:
        outcome.error = str(exc)
        outcome.failures = [str(exc)]
    outcome.seconds = time.monotonic() - started
    return outcome


@contextlib.contextmanager
def _serve(
    located: Located[Scenario], folders: Mapping[str, tuple[Path, int]]
) -> Iterator[dict[str, sites.Site]]:
    """The fixture sites, served; a fixed port that cannot be had names its field."""
    try:
        with sites.serve(folders) as running:
            yield running
    except sites.PortTaken as exc:
        raise located.error(("fixtures", "sites", exc.name, "port"), str(exc)) from None


def index_path(run_dir: Path, name: str) -> Path:
    return run_dir / INDEXES / f"{name}.sqlite"


def build_indexes(path: Path, located: Located[Scenario], run_dir: Path) -> None:
    """Each `fixtures.indexes` folder indexed as `orchestrator index build FOLDER` does."""
    # deferred: the builder's parsers are needed only by scenarios that index a folder
    from specialists.web_surfer.search.index_build import (
        DEFAULT_EXCLUDES,
        BuildError,
        build_from_folder,
    )

    for name, folder in located.value.fixtures.indexes.items():
        try:
            build_from_folder(
                path.parent / folder,
                index_path(run_dir, name),
                exclude=DEFAULT_EXCLUDES,
                jobs=min(os.cpu_count() or 1, 8),
            )
        except (BuildError, OSError, sqlite3.Error) as exc:
            raise located.error(("fixtures", "indexes", name), f"cannot index it: {exc}") from None


def copy_fixture(src: Path, dest: Path) -> None:
    """Copy a fixture file or folder to `dest`, creating parent folders."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest)


def _unused(store: RunStore, config: RunConfig) -> dict[str, int]:
    state = store.load_checkpoint()
    unused: dict[str, int] = {}
    if config.scripted is not None:
        for purpose, replies in config.scripted.script.items():
            left = len(replies) - state.model_cursors.get(purpose, 0)
            if left > 0:
                unused[purpose] = left
    if config.human.mode == "scripted" and state.human_cursor < len(config.human.replies):
        unused["human"] = len(config.human.replies) - state.human_cursor
    return unused


async def run_many(
    paths: Sequence[Path],
    runs_dir: Path,
    *,
    subscribers: Callable[[], Sequence[Subscriber]] = tuple,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    outcomes = []
    for path in paths:
        outcome = await run_one(path, runs_dir, subscribers=subscribers)
        if on_done is not None:
            on_done(outcome)
        outcomes.append(outcome)
    return outcomes


def expand(paths: Sequence[Path]) -> list[Path]:
    """Scenario files from files and folders (folders: every *.yaml inside, sorted)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.yaml") if q.is_file())
        else:
            found.append(p)
    return found
