"""Our YAML suite format.

    name: sample
    description: ...
    defaults:                       # every task inherits these; a task may override each
      team: [web_surfer, file_surfer]
      limits: {max_rounds: 20, max_seconds: 600}
      scorer: gaia                  # or {kind: numeric, abs_tol: 0.01}, contains, regex, ...
      extract: auto                 # how the answer is taken from the output
    approvals: {mode: never}        # headless: who approves side effects (default: nobody)
    sites:                          # folders served on 127.0.0.1 while a task runs
      pydocs: /usr/share/doc/python3-doc/html
    tasks:
      - id: json-indent-default     # unique; names the run directories
        task: "... {{sites.pydocs}}/library/json.html ..."
        expected: "None"
        level: 1
        tags: [web]
        attachments: [files/report.pdf, {src: /abs/data.xlsx, dest: data.xlsx}]
        model: {scripted: {script: {...}}}   # offline runs only; replaced by --model
        human: ["the scripted person's replies"]

Validation errors come from `yamlfile.load_model` (file:line:col: field); the checks that
need the file system or the whole suite (attachments exist, ids unique, placeholders known,
expected answers valid for their scorer) are located in the file here.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from yaml.nodes import MappingNode, Node, SequenceNode

from ledgers import Limits
from orchestrator.config import ScriptedModelConfig
from orchestrator.errors import ConfigFileError
from orchestrator.evaluation.extraction import Extraction
from orchestrator.evaluation.scoring import (
    GaiaScorer,
    NumericScorer,
    RegexScorer,
    ScorerSpec,
    scorer_shorthand,
)
from orchestrator.evaluation.suites import (
    TASK_ID,
    Attachment,
    EvalTask,
    Suite,
    attachment_note,
    resolve,
)
from orchestrator.scenarios.runner import PLACEHOLDER
from orchestrator.scenarios.schema import Approvals, FileFixture
from orchestrator.yamlfile import load_model

_Strict = ConfigDict(frozen=True, extra="forbid")


class _Scripted(BaseModel):
    model_config = _Strict
    scripted: ScriptedModelConfig


def _text(value: Any) -> Any:
    """YAML reads `expected: 42` as a number; the scorers compare text."""
    if isinstance(value, bool):
        return value
    return str(value) if isinstance(value, int | float) else value


class _Defaults(BaseModel):
    model_config = _Strict
    team: list[str] | None = Field(default=None, min_length=1)
    limits: Limits | None = None
    scorer: ScorerSpec = Field(default_factory=GaiaScorer)
    extract: Extraction = Field(default_factory=Extraction)

    @field_validator("scorer", mode="before")
    @classmethod
    def _scorer(cls, value: Any) -> Any:
        return scorer_shorthand(value)


class _Task(BaseModel):
    model_config = _Strict
    id: str = Field(pattern=TASK_ID.pattern)
    task: str = Field(min_length=1)
    expected: str
    level: int | None = Field(default=None, ge=1)
    tags: list[str] = Field(default_factory=list)
    scorer: ScorerSpec | None = None
    extract: Extraction | None = None
    attachments: list[FileFixture] = Field(default_factory=list)
    team: list[str] | None = Field(default=None, min_length=1)
    limits: Limits | None = None
    model: _Scripted | None = None
    human: list[str] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("expected", mode="before")
    @classmethod
    def _expected(cls, value: Any) -> Any:
        return _text(value)

    @field_validator("scorer", mode="before")
    @classmethod
    def _scorer(cls, value: Any) -> Any:
        return scorer_shorthand(value)

    @field_validator("attachments", mode="before")
    @classmethod
    def _plain_paths(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"src": v} if isinstance(v, str) else v for v in value]
        return value


class _SuiteFile(BaseModel):
    model_config = _Strict
    name: str = Field(min_length=1)
    description: str = ""
    defaults: _Defaults = Field(default_factory=_Defaults)
    approvals: Approvals | None = None
    sites: dict[str, str] = Field(default_factory=dict)
    tasks: list[_Task] = Field(min_length=1)


def load_yaml_suite(path: Path) -> Suite:
    raw = load_model(path, _SuiteFile)
    where = _Locator(path)
    base = path.parent
    sites = {}
    for name, folder in raw.sites.items():
        sites[name] = resolve(base, folder)
        if not sites[name].is_dir():
            raise where.error(f"{sites[name]} is not a folder", "sites", name)
    seen: dict[str, int] = {}
    tasks = []
    for i, spec in enumerate(raw.tasks):
        if spec.id in seen:
            raise where.error(
                f"duplicate task id {spec.id!r} (also tasks[{seen[spec.id]}])", "tasks", i, "id"
            )
        seen[spec.id] = i
        tasks.append(_task(spec, raw.defaults, base, set(sites), where.at("tasks", i)))
    return Suite(
        path=path,
        name=raw.name,
        format="yaml",
        tasks=tuple(tasks),
        description=raw.description,
        sites=sites,
        approvals=raw.approvals,
    )


def _task(spec: _Task, defaults: _Defaults, base: Path, sites: set[str], where: _At) -> EvalTask:
    attachments = []
    for j, fixture in enumerate(spec.attachments):
        src = resolve(base, fixture.src)
        if not src.exists():
            raise where.error(f"{src} does not exist", "attachments", j)
        attachments.append(Attachment(src, fixture.dest or src.name))
    scorer = spec.scorer or defaults.scorer
    _check_expected(scorer, spec.expected, where)
    known = {f"sites.{name}" for name in sites} | {"workspace"}
    for escaped, key in PLACEHOLDER.findall(spec.task):
        if not escaped and key not in known:
            listed = ", ".join("{{" + k + "}}" for k in sorted(known))
            raise where.error(f"unknown placeholder {{{{{key}}}}}; known: {listed}", "task")
    task = EvalTask(
        id=spec.id,
        question=spec.task,
        expected=spec.expected,
        level=spec.level,
        tags=tuple(spec.tags),
        scorer=scorer,
        extract=spec.extract or defaults.extract,
        attachments=tuple(attachments),
        team=tuple(spec.team or defaults.team or ()) or None,
        limits={**_set_fields(defaults.limits), **_set_fields(spec.limits)},
        scripted=spec.model.scripted if spec.model else None,
        human=tuple(spec.human) if spec.human is not None else None,
        metadata=spec.metadata,
    )
    return replace(task, question=task.question + attachment_note(task))


def _set_fields(limits: Limits | None) -> dict[str, Any]:
    """Only the limits written in the file, so a task overrides its defaults field by field."""
    return limits.model_dump(include=limits.model_fields_set) if limits is not None else {}


def _check_expected(scorer: ScorerSpec, expected: str, where: _At) -> None:
    if isinstance(scorer, RegexScorer):
        try:
            re.compile(expected)
        except re.error as exc:
            raise where.error(f"not a valid regular expression: {exc}", "expected") from None
    if isinstance(scorer, NumericScorer):
        try:
            ok = math.isfinite(float(expected))
        except ValueError:
            ok = False
        if not ok:
            raise where.error(f"the numeric scorer needs a number (got {expected!r})", "expected")


class _Locator:
    """Finds the line of a field in the YAML file, for errors found after validation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._root: Node | None = yaml.compose(path.read_text(encoding="utf-8-sig"))

    def at(self, *parts: str | int) -> _At:
        return _At(self, parts)

    def error(self, message: str, *parts: str | int) -> ConfigFileError:
        node = self._root
        for part in parts:
            child = _child(node, part) if node is not None else None
            if child is None:
                break
            node = child
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
        if node is None:
            return ConfigFileError(self.path, message, field=dotted)
        mark = node.start_mark
        return ConfigFileError(
            self.path, message, line=mark.line + 1, column=mark.column + 1, field=dotted
        )


class _At:
    def __init__(self, locator: _Locator, prefix: tuple[str | int, ...]) -> None:
        self._locator = locator
        self._prefix = prefix

    def error(self, message: str, *parts: str | int) -> ConfigFileError:
        return self._locator.error(message, *self._prefix, *parts)


def _child(node: Node, part: str | int) -> Node | None:
    if isinstance(node, MappingNode):
        return next((v for k, v in node.value if k.value == part), None)
    if isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: Node = node.value[part]
        return child
    return None
