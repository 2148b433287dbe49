"""GAIA-style JSONL suites: one JSON object per line, as in GAIA's `metadata.jsonl`.

Fields used: `task_id`, `Question`, `Level`, `Final answer`, `file_name` (an attachment
next to the JSONL file; empty for none). Every other field is kept as metadata (e.g.
`Annotator Metadata`). Tasks are scored with GAIA's rules; the answer is taken from a
`FINAL ANSWER:` line if there is one. Errors read `file.jsonl:LINE: field: message`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrator.errors import ConfigFileError
from orchestrator.evaluation.suites import (
    TASK_ID,
    Attachment,
    EvalTask,
    Suite,
    attachment_note,
    resolve,
)
from orchestrator.scenarios.runner import literal

MAX_FILE_BYTES = 100_000_000  # GAIA's own metadata files are about 1 MB
REQUIRED = ("task_id", "Question", "Final answer")
USED = {"task_id", "Question", "Level", "Final answer", "file_name"}


def load_gaia_jsonl(path: Path) -> Suite:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigFileError(path, f"the file is larger than {MAX_FILE_BYTES // 10**6} MB")
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise ConfigFileError(path, "file not found; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(path, f"cannot read the file as UTF-8 text ({exc})") from None
    tasks: list[EvalTask] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        task = _task(path, number, _record(path, number, line))
        if task.id in seen:
            raise ConfigFileError(
                path,
                f"duplicate task_id {task.id!r} (first on line {seen[task.id]})",
                line=number,
                field="task_id",
            )
        seen[task.id] = number
        tasks.append(task)
    if not tasks:
        raise ConfigFileError(path, "the file has no tasks (one JSON object per line)")
    return Suite(path=path, name=suite_name(path), format="gaia-jsonl", tasks=tuple(tasks))


def suite_name(path: Path) -> str:
    """GAIA names every split's file `metadata.jsonl`: name the suite after its folder
    (`2023/validation/metadata.jsonl` → `2023-validation`)."""
    if path.stem != "metadata":
        return path.stem
    folders = [part for part in (path.parent.parent.name, path.parent.name) if part]
    return "-".join(folders) or path.stem


def _record(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(
            path, f"invalid JSON: {exc.msg}", line=number, column=exc.colno
        ) from None
    except RecursionError:
        raise ConfigFileError(path, "the JSON is nested too deeply", line=number) from None
    if not isinstance(record, dict):
        raise ConfigFileError(path, "each line must be a JSON object", line=number)
    for name in REQUIRED:
        if name not in record:
            raise ConfigFileError(path, "required field missing", line=number, field=name)
    return record


def _task(path: Path, number: int, record: dict[str, Any]) -> EvalTask:
    def fail(field: str, message: str) -> ConfigFileError:
        return ConfigFileError(path, message, line=number, field=field)

    task_id = record["task_id"]
    if not isinstance(task_id, str) or not TASK_ID.match(task_id):
        raise fail("task_id", f"must be letters, digits, '.', '_' or '-' (got {task_id!r})")
    question = record["Question"]
    if not isinstance(question, str) or not question.strip():
        raise fail("Question", "must be a non-empty string")
    expected = record["Final answer"]
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        expected = str(expected)
    if not isinstance(expected, str):
        raise fail("Final answer", f"must be a string (got {type(expected).__name__})")
    task = EvalTask(
        id=task_id,
        question=question,
        expected=expected,
        level=_level(record.get("Level"), fail),
        attachments=_attachment(path, record.get("file_name"), fail),
        metadata={k: v for k, v in record.items() if k not in USED},
    )
    # The question is GAIA's, not one of our templates: its braces reach the model as written.
    return replace(task, question=literal(task.question) + attachment_note(task))


def _level(value: Any, fail: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        level = int(value)
    except (TypeError, ValueError):
        raise fail("Level", f"must be a whole number (got {value!r})") from None
    if level < 1:
        raise fail("Level", f"must be 1 or more (got {level})")
    return level


def _attachment(path: Path, file_name: Any, fail: Any) -> tuple[Attachment, ...]:
    if file_name in (None, ""):
        return ()
    if not isinstance(file_name, str):
        raise fail("file_name", f"must be a string (got {type(file_name).__name__})")
    # A missing file fails only its task (recorded as an error when it runs), not the suite.
    src = resolve(path.parent, file_name)
    return (Attachment(src, src.name),)
