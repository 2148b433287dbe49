"""The run directory: everything about one run, written so that nothing is lost.

    <run>/config.json       RunConfig, written once
    <run>/events.jsonl      every event, one JSON object per line, flushed as emitted
    <run>/checkpoint.json   RunState after the last completed round (atomic replace)
    <run>/result.json       FinalResult, when the run has ended
    <run>/workspace/        files shared by the specialists

A crash or `kill -9` loses at most the round in flight: resume starts from the checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ValidationError

from orchestrator.errors import RunDirError
from orchestrator.events import AnyEvent, Event, parse_event
from orchestrator.state import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    FinalResult,
    RunConfig,
    RunState,
    upgrade,
)

CONFIG = "config.json"
EVENTS = "events.jsonl"
CHECKPOINT = "checkpoint.json"
RESULT = "result.json"
WORKSPACE = "workspace"


def new_run_id(task: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-")[:32].rstrip("-") or "run"
    return f"{stamp}-{slug}-{secrets.token_hex(3)}"


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so a reader sees the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._events: IO[str] | None = None

    # --- creating and opening ---------------------------------------------------------

    @classmethod
    def create(cls, runs_dir: Path, config: RunConfig) -> RunStore:
        root = runs_dir / config.run_id
        root.mkdir(parents=True, exist_ok=False)
        (root / WORKSPACE).mkdir()
        store = cls(root)
        write_atomic(root / CONFIG, config.model_dump_json(indent=2, by_alias=True))
        return store

    @classmethod
    def open(cls, root: Path) -> RunStore:
        if not root.is_dir():
            raise RunDirError(f"{root}: no such run directory (see `orchestrator runs`)")
        if not (root / CONFIG).is_file():
            raise RunDirError(f"{root}: not a run directory (it has no {CONFIG})")
        return cls(root)

    @property
    def workspace(self) -> Path:
        return self.root / WORKSPACE

    # --- config, checkpoint, result ---------------------------------------------------

    def _read(self, name: str, model: type[BaseModel]) -> BaseModel:
        path = self.root / name
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunDirError(f"{path}: missing") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise RunDirError(f"{path}: unreadable ({exc})") from None
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version not in READABLE_VERSIONS:
            raise RunDirError(
                f"{path}: schema version {version} is not supported by this version "
                f"(expects {SCHEMA_VERSION})"
            )
        try:
            return model.model_validate(upgrade(raw))
        except ValidationError as exc:
            raise RunDirError(f"{path}: invalid ({exc.error_count()} problems): {exc}") from None

    def load_config(self) -> RunConfig:
        config = self._read(CONFIG, RunConfig)
        assert isinstance(config, RunConfig)
        return config

    def has_checkpoint(self) -> bool:
        return (self.root / CHECKPOINT).is_file()

    def load_checkpoint(self) -> RunState:
        state = self._read(CHECKPOINT, RunState)
        assert isinstance(state, RunState)
        return state

    def save_checkpoint(self, state: RunState) -> None:
        self.write_checkpoint(state.model_dump_json(by_alias=True))

    def write_checkpoint(self, serialised: str) -> None:
        write_atomic(self.root / CHECKPOINT, serialised)

    def load_result(self) -> FinalResult | None:
        if not (self.root / RESULT).is_file():
            return None
        result = self._read(RESULT, FinalResult)
        assert isinstance(result, FinalResult)
        return result

    def save_result(self, result: FinalResult) -> None:
        write_atomic(self.root / RESULT, result.model_dump_json(indent=2))

    # --- events -----------------------------------------------------------------------

    def append_event(self, event: Event) -> None:
        """Event-bus subscriber: one line per event, flushed so a crash keeps it."""
        if self._events is None:
            self._events = self._open_events()
        self._events.write(event.model_dump_json() + "\n")
        self._events.flush()

    def _open_events(self) -> IO[str]:
        path = self.root / EVENTS
        if path.is_file():
            # A crash mid-write can leave a torn last line: cut it so appends stay parseable.
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):
                with path.open("r+b") as handle:
                    handle.truncate(data.rfind(b"\n") + 1)
        return path.open("a", encoding="utf-8")

    def events(self) -> Iterator[AnyEvent]:
        """The events written so far. A torn last line (a crash mid-write) is skipped."""
        path = self.root / EVENTS
        if not path.is_file():
            return
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    break
                try:
                    yield parse_event(line)
                except ValidationError:
                    continue

    def last_seq(self) -> int:
        last = 0
        for event in self.events():
            last = max(last, event.seq)
        return last

    def close(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None


def list_runs(runs_dir: Path) -> list[Path]:
    """Run directories under `runs_dir`, newest first."""
    if not runs_dir.is_dir():
        return []
    runs = [p for p in runs_dir.iterdir() if (p / CONFIG).is_file()]
    return sorted(runs, key=lambda p: p.name, reverse=True)
