"""Task suites: what an evaluation runs, loaded from GAIA-style JSONL or our YAML format.

Both formats become the same plain `Suite` of `EvalTask`s. Attachments resolve relative
to the suite file (absolute paths stay as they are) and must exist when the suite is
loaded; every problem is one line naming the file, the line and the field
(`suite.yaml:12:5: tasks[3].attachments[0]: ...`).

- `*.jsonl`: GAIA's metadata format, one task per line (`gaia_suite.py`).
- `*.yaml` / `*.yml`: ours, with defaults, local sites, scorers and optional per-task
  scripted models for offline runs (`yaml_suite.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ledgers import Limits
from orchestrator.config import ScriptedModelConfig
from orchestrator.evaluation.extraction import Extraction
from orchestrator.evaluation.scoring import GaiaScorer, ScorerSpec
from orchestrator.scenarios.schema import Approvals

TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Attachment:
    src: Path  # absolute
    dest: str  # path inside the run's workspace


@dataclass(frozen=True)
class EvalTask:
    id: str
    question: str
    expected: str
    level: int | None = None
    tags: tuple[str, ...] = ()
    scorer: ScorerSpec = field(default_factory=GaiaScorer)
    extract: Extraction = field(default_factory=Extraction)
    attachments: tuple[Attachment, ...] = ()
    team: tuple[str, ...] | None = None  # None: the team from the settings
    limits: Mapping[str, Any] = field(default_factory=dict)  # only the fields set
    scripted: ScriptedModelConfig | None = None
    human: tuple[str, ...] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def limits_over(self, base: Limits) -> Limits:
        """`base` with this task's limits on top, field by field."""
        return Limits.model_validate({**base.model_dump(), **self.limits})


@dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    format: str  # "yaml" or "gaia-jsonl"
    tasks: tuple[EvalTask, ...]
    description: str = ""
    sites: Mapping[str, Path] = field(default_factory=dict)  # name → absolute folder
    approvals: Approvals | None = None

    def task(self, task_id: str) -> EvalTask:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    def select(self, pattern: str | None = None, limit: int | None = None) -> Suite:
        """The tasks whose id or tags match the glob `pattern`, at most `limit` of them."""
        tasks = [
            t
            for t in self.tasks
            if pattern is None
            or fnmatchcase(t.id, pattern)
            or any(fnmatchcase(tag, pattern) for tag in t.tags)
        ]
        if limit is not None:
            tasks = tasks[:limit]
        return Suite(
            self.path,
            self.name,
            self.format,
            tuple(tasks),
            self.description,
            self.sites,
            self.approvals,
        )


def resolve(base: Path, src: str) -> Path:
    """`src` relative to the suite's folder (absolute paths unchanged)."""
    return (base / Path(src).expanduser()).resolve()


def attachment_note(task: EvalTask) -> str:
    """The sentence appended to the task text that tells the team where its files are."""
    if not task.attachments:
        return ""
    names = ", ".join(f"{{{{workspace}}}}/{a.dest}" for a in task.attachments)
    return f"\n\nAttached file(s), in the shared workspace: {names}"
