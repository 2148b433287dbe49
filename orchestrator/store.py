"""The run directory: everything about one run, written so that nothing is lost.

    <run>/config.json       RunConfig, written once
    <run>/events.jsonl      every event, one JSON object per line, written as emitted
    <run>/events.abandoned.jsonl  events of rounds a crash cut short, set aside on resume
    <run>/checkpoint.json   RunState after the last completed round (atomic replace)
    <run>/inflight.json     the delegation under way after that round, if one is
    <run>/result.json       FinalResult, when the run has ended
    <run>/workspace/        files shared by the specialists
    <run>/.lock             held (flock, see dirlock) by the one process executing the run; names it

A crash or `kill -9` loses at most the round in flight: resume starts from the checkpoint.
A write that fails (disk full, permission denied) raises `RunDirError`, naming the file.

Durability is a group commit, the way a database commits a transaction: every event is
written to the log as it happens and the checkpoint is replaced at each round boundary,
so a killed process loses nothing the kernel has; the fsyncs that make it survive a
machine's crash are done once per round, for the log and the checkpoint together, in the
background (`orchestrator.durable`), and before an approved action runs. The checkpoint
names the log's length at that moment, so the log's tail past it is known to belong to a
round that never committed: resume sets it aside instead of leaving that round in the log
twice. `durability: event` fsyncs every event and every checkpoint before going on; `none`
never fsyncs (still atomic: the old checkpoint or the new, never half).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ValidationError

from orchestrator.config import Durability
from orchestrator.dirlock import DirLock
from orchestrator.errors import RunDirError, RunWriteError, os_reason
from orchestrator.events import AnyEvent, Event, RunInterrupted, parse_event
from orchestrator.state import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    FinalResult,
    Inflight,
    RunConfig,
    RunState,
    upgrade,
)

CONFIG = "config.json"
EVENTS = "events.jsonl"
ABANDONED = "events.abandoned.jsonl"
CHECKPOINT = "checkpoint.json"
INFLIGHT = "inflight.json"
RESULT = "result.json"
WORKSPACE = "workspace"


def new_run_id(task: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-")[:32].rstrip("-") or "run"
    return f"{stamp}-{slug}-{secrets.token_hex(3)}"


def write_atomic(path: Path, text: str, *, sync: bool = True) -> None:
    """Replace `path` with `text` so a reader sees the old or the new file, never half.
    With `sync`, the new file and its directory entry are on disk when this returns."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if not sync:
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class RunStore:
    def __init__(self, root: Path, durability: Durability = "round") -> None:
        self.root = root
        self.durability: Durability = durability
        self._events: IO[bytes] | None = None
        self._logged = 0  # the log's length in bytes, once it is open for appending
        self._inflight: int | None = None  # inflight.json, open for marks
        self._lock = DirLock(root, "this run")

    # --- creating and opening ---------------------------------------------------------

    @classmethod
    def create(cls, runs_dir: Path, config: RunConfig) -> RunStore:
        root = runs_dir / config.run_id
        try:
            root.mkdir(parents=True, exist_ok=False)
            (root / WORKSPACE).mkdir()
            write_atomic(root / CONFIG, config.model_dump_json(indent=2, by_alias=True))
        except OSError as exc:
            raise RunDirError(
                f"{runs_dir}: cannot create a run directory here ({os_reason(exc)}); "
                "choose another with --runs-dir or runs_dir in the config"
            ) from None
        return cls(root, config.settings.durability)

    @classmethod
    def open(cls, root: Path) -> RunStore:
        if not root.is_dir():
            raise RunDirError(f"{root}: no such run directory (see `orchestrator runs`)")
        if not (root / CONFIG).is_file():
            raise RunDirError(f"{root}: not a run directory (it has no {CONFIG})")
        return cls(root)

    # --- one process at a time --------------------------------------------------------

    def lock(self) -> None:
        """Take the run's exclusive lock, or raise `RunDirError` naming its holder."""
        self._lock.acquire()

    def unlock(self) -> None:
        self._lock.release()

    @property
    def workspace(self) -> Path:
        return self.root / WORKSPACE

    # --- config, checkpoint, result ---------------------------------------------------

    def _read(self, name: str, model: type[BaseModel]) -> BaseModel:
        path = self.root / name
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise RunDirError(f"{path}: missing") from None
        except OSError as exc:
            raise RunDirError(f"{path}: unreadable ({os_reason(exc)})") from None
        except json.JSONDecodeError as exc:
            problem = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
            raise RunDirError(f"{path}: corrupt, not valid JSON ({problem})") from None
        except UnicodeDecodeError:
            raise RunDirError(f"{path}: corrupt, not UTF-8 text") from None
        except RecursionError:
            raise RunDirError(f"{path}: corrupt, JSON nested too deeply") from None
        if not isinstance(raw, dict):
            kind = "a list" if isinstance(raw, list) else f"the value {str(raw)[:20]!r}"
            raise RunDirError(f"{path}: corrupt, expected a JSON object, found {kind}")
        version = raw.get("schema_version")
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
        # exists(), not is_file(): a directory in its place must fail loading, not be ignored
        return (self.root / CHECKPOINT).exists()

    def load_checkpoint(self) -> RunState:
        state = self._read(CHECKPOINT, RunState)
        assert isinstance(state, RunState)
        return state

    def save_checkpoint(self, state: RunState) -> None:
        self.write_checkpoint(state.model_dump_json(by_alias=True))

    def write_checkpoint(self, serialised: str) -> None:
        """Replace the checkpoint at once (a killed process leaves the old or the new one);
        fsynced here under `durability: event`, by `sync` (a group commit) under `round`."""
        self._write(CHECKPOINT, serialised, sync=self.durability == "event")

    def sync(self) -> None:
        """The group commit's fsyncs: the log, then the checkpoint and its directory entry,
        so on disk the checkpoint never names more log than there is. Safe to call from a
        worker thread while events are appended (the round's tail is then synced too)."""
        if self.durability == "none":
            return
        self._sync_events()
        path = self.root / CHECKPOINT
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            dir_fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise RunWriteError(f"{path}: cannot write ({os_reason(exc)})") from None

    def write_inflight(self, serialised: str) -> None:
        """Mark a delegation as under way (see `orchestrator.durable`). One `pwrite` over
        the whole of the previous mark (padded with spaces), not a rename: a killed process
        leaves the old mark or the new one, a rename costs a forced writeback on ext4,
        and a mark torn by a machine crash does not parse, which only loses its note.
        Fsynced only under `durability: event`."""
        path = self.root / INFLIGHT
        try:
            if self._inflight is None:
                self._inflight = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            data = serialised.encode("utf-8")
            size = os.fstat(self._inflight).st_size
            os.pwrite(self._inflight, data + b" " * max(0, size - len(data)), 0)
            if self.durability == "event":
                os.fsync(self._inflight)
        except OSError as exc:
            raise RunWriteError(f"{path}: cannot write ({os_reason(exc)})") from None

    def load_inflight(self) -> Inflight | None:
        """The delegation last marked as under way; None if there is none (or it is not
        ours: a mark that does not parse is as good as none, it only adds a note)."""
        try:
            return Inflight.model_validate_json((self.root / INFLIGHT).read_bytes())
        except (OSError, ValidationError):
            return None

    def load_result(self) -> FinalResult | None:
        if not (self.root / RESULT).exists():
            return None
        result = self._read(RESULT, FinalResult)
        assert isinstance(result, FinalResult)
        return result

    def save_result(self, result: FinalResult) -> None:
        self._write(RESULT, result.model_dump_json(indent=2))

    def _write(self, name: str, text: str, *, sync: bool = True) -> None:
        try:
            write_atomic(self.root / name, text, sync=sync and self.durability != "none")
        except OSError as exc:
            raise RunWriteError(f"{self.root / name}: cannot write ({os_reason(exc)})") from None

    # --- events -----------------------------------------------------------------------

    def append_event(self, event: Event) -> None:
        """Event-bus subscriber (a critical one): one line per event, written at once so
        a killed process keeps it; fsynced per `durability`, and before a granted action
        runs. Raises `RunDirError` if the line cannot be written."""
        line = (event.model_dump_json() + "\n").encode("utf-8")
        try:
            if self._events is None:
                self._events = self._open_events()
            rest = memoryview(line)
            while rest:  # an unbuffered write may be short (a size limit): the next one says why
                written = self._events.write(rest)
                if not written:
                    raise OSError(errno.EIO, "nothing was written")
                rest = rest[written:]
                self._logged += written
            if self.durability == "event" or (self.durability == "round" and event.durable):
                os.fsync(self._events.fileno())
        except OSError as exc:
            self._drop_events()  # a half-written line is cut when the log is next opened
            raise RunWriteError(f"{self.root / EVENTS}: cannot write ({os_reason(exc)})") from None

    def log_length(self) -> int:
        """The log's length in bytes: what a checkpoint written now commits."""
        if self._events is None:
            self._events = self._open_events()
        return self._logged

    def _sync_events(self) -> None:
        events = self._events
        if events is not None:
            try:
                os.fsync(events.fileno())
            except OSError as exc:
                raise RunWriteError(
                    f"{self.root / EVENTS}: cannot write ({os_reason(exc)})"
                ) from None

    def set_aside(self, committed: int) -> list[AnyEvent]:
        """Move the log's tail past `committed` bytes (what the last checkpoint commits)
        to events.abandoned.jsonl, and return its events: a round a crash cut short, run
        again from the checkpoint, is then in the log once. The record of how the run was
        interrupted stays in the log. Call before appending."""
        path = self.root / EVENTS
        try:
            if not path.is_file() or path.stat().st_size <= committed:
                return []
            with path.open("r+b") as handle:
                handle.seek(committed)
                lines = [ln for ln in handle.read().splitlines(keepends=True) if ln.endswith(b"\n")]
                parsed = [next(_parse_lines([line]), None) for line in lines]
                kept = [i for i, e in enumerate(parsed) if isinstance(e, RunInterrupted)]
                with (self.root / ABANDONED).open("ab") as aside:
                    aside.writelines(line for i, line in enumerate(lines) if i not in kept)
                    aside.flush()
                    if self.durability != "none":
                        os.fsync(aside.fileno())
                handle.truncate(committed)
                handle.seek(committed)
                handle.writelines(lines[i] for i in kept)
        except OSError as exc:
            raise RunWriteError(
                f"{path}: cannot set aside a cut round ({os_reason(exc)})"
            ) from None
        return [e for e in parsed if e is not None and not isinstance(e, RunInterrupted)]

    def _drop_events(self) -> None:
        if self._events is not None:
            with contextlib.suppress(OSError):  # the torn tail is cut when it is next opened
                self._events.close()
            self._events = None

    def _open_events(self) -> IO[bytes]:
        path = self.root / EVENTS
        if path.is_file():
            # A crash or a full disk mid-write can leave a torn last line, even half of a
            # multi-byte character: cut it, in bytes, so appends stay parseable.
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):
                with path.open("r+b") as torn:
                    torn.truncate(data.rfind(b"\n") + 1)
        handle = path.open("ab", buffering=0)
        self._logged = handle.seek(0, os.SEEK_END)
        return handle

    def events(self) -> Iterator[AnyEvent]:
        """The events written so far, read as bytes. A torn last line (a crash mid-write)
        and lines that do not parse (bad bytes, an unknown event) are skipped."""
        return _read_log(self.root / EVENTS)

    def abandoned(self) -> Iterator[AnyEvent]:
        """The events set aside on earlier resumes (rounds a crash cut short)."""
        return _read_log(self.root / ABANDONED)

    def last_seq(self) -> int:
        last = 0
        for event in self.events():
            last = max(last, event.seq)
        return last

    def close(self) -> None:
        self._drop_events()
        if self._inflight is not None:
            with contextlib.suppress(OSError):
                os.close(self._inflight)
            self._inflight = None
        self.unlock()


def _read_log(path: Path) -> Iterator[AnyEvent]:
    if not path.is_file():
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise RunDirError(f"{path}: unreadable ({os_reason(exc)})") from None
    with handle:
        yield from _parse_lines(handle)


def _parse_lines(lines: Iterable[bytes]) -> Iterator[AnyEvent]:
    """Events from log lines; a torn last line and lines that do not parse are skipped."""
    for line in lines:
        if not line.endswith(b"\n"):
            break
        try:
            yield parse_event(line)
        except (ValidationError, RecursionError):
            continue


def list_runs(runs_dir: Path) -> list[Path]:
    """Run directories under `runs_dir`, newest first."""
    if not runs_dir.is_dir():
        return []
    runs = [p for p in runs_dir.iterdir() if (p / CONFIG).is_file()]
    return sorted(runs, key=lambda p: p.name, reverse=True)
