"""The evaluation directory and what it persists.

    <eval>/eval.json                 the plan: suite, trials (task x repeat), options
    <eval>/index.jsonl               one TrialRecord per trial as it ends (appended, fsynced)
    <eval>/runs/<task>/r<k>/<run>/   the trial's run directory (config, events, workspace, ...)
    <eval>/summary.json, report.md, *.png   written by `report.py`

The index is the source of truth for `--resume`: a trial whose latest record is final
(anything but `cancelled`) is done; the others run again. A crash loses at most the
trials in flight. Schema versions (bump and add a line when a persisted field changes):
  1: first version.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import RunDirError
from orchestrator.store import write_atomic

SCHEMA_VERSION = 1
MANIFEST = "eval.json"
INDEX = "index.jsonl"
RUNS = "runs"

Outcome = Literal["finished", "error", "timeout", "cancelled"]


class TaskInfo(BaseModel):
    """What the report needs to know about a task even if it never ran."""

    model_config = ConfigDict(frozen=True)

    level: int | None = None
    tags: list[str] = Field(default_factory=list)
    expected: str = ""


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    suite: str
    suite_name: str
    created: str
    repeats: int = Field(ge=1)
    model: str | None = None  # None: each task's scripted model
    task_ids: list[str]
    tasks: dict[str, TaskInfo]

    def trials(self) -> list[tuple[str, int]]:
        return [(t, r) for t in self.task_ids for r in range(1, self.repeats + 1)]


class TrialRecord(BaseModel):
    """How one trial (a task, one repeat) ended. A trial that never produced an answer is
    recorded too, as incorrect, with the reason (`outcome`, `stop_reason`, `error`)."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    task_id: str
    repeat: int
    outcome: Outcome
    stop_reason: str  # the run's stop reason, or timeout / error / cancelled
    error: str | None = None
    run_dir: str | None = None  # relative to the eval directory
    status: str | None = None  # solved / best_guess / failed, when the run finished
    answer: str = ""
    extracted: str | None = None
    expected: str = ""
    correct: bool = False
    score_detail: str = ""
    level: int | None = None
    tags: list[str] = Field(default_factory=list)
    rounds: int = 0
    stalls: int = 0
    replans: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    started: str = ""
    finished: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.repeat)

    @property
    def final(self) -> bool:
        return self.outcome != "cancelled"


class EvalDir:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def index_path(self) -> Path:
        return self.root / INDEX

    def runs_dir(self, task_id: str, repeat: int) -> Path:
        return self.root / RUNS / task_id / f"r{repeat}"

    def exists(self) -> bool:
        return (self.root / MANIFEST).is_file()

    def write_manifest(self, manifest: Manifest) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / MANIFEST, manifest.model_dump_json(indent=2))

    def manifest(self) -> Manifest:
        path = self.root / MANIFEST
        if not path.is_file():
            raise RunDirError(f"{self.root}: not an evaluation directory (it has no {MANIFEST})")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunDirError(f"{path}: unreadable ({exc})") from None
        if not isinstance(raw, dict) or raw.get("schema_version") != SCHEMA_VERSION:
            raise RunDirError(f"{path}: unsupported schema version (expects {SCHEMA_VERSION})")
        try:
            return Manifest.model_validate(raw)
        except ValidationError as exc:
            raise RunDirError(f"{path}: invalid ({exc.error_count()} problems): {exc}") from None

    def append(self, record: TrialRecord) -> None:
        """Add `record` to the index durably: a crash right after keeps it."""
        line = record.model_dump_json() + "\n"
        if _ends_torn(self.index_path):
            line = "\n" + line  # end the torn line so this record stays parseable
        with self.index_path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def records(self) -> Iterator[TrialRecord]:
        """Every record in the index, oldest first; a torn or invalid line is skipped."""
        if not self.index_path.is_file():
            return
        with self.index_path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    break  # torn by a crash mid-write
                try:
                    yield TrialRecord.model_validate_json(line)
                except ValidationError:
                    continue

    def latest(self) -> dict[tuple[str, int], TrialRecord]:
        """The last record of each trial."""
        return {record.key: record for record in self.records()}

    def done(self) -> set[tuple[str, int]]:
        return {key for key, record in self.latest().items() if record.final}


def _ends_torn(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) != b"\n"
    except (FileNotFoundError, OSError):
        return False  # missing or empty
