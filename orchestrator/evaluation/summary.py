"""What `summary.json` holds: the report's numbers, for programs and for the charts."""

from __future__ import annotations

from pydantic import BaseModel

from orchestrator.evaluation.metrics import Accuracy, TaskRow, Totals
from orchestrator.evaluation.records import SCHEMA_VERSION


class Failure(BaseModel):
    task_id: str
    repeat: int
    outcome: str
    stop_reason: str
    status: str | None
    answer: str | None
    expected: str
    detail: str
    run_dir: str | None


class Summary(BaseModel):
    schema_version: int = SCHEMA_VERSION
    suite: str
    suite_name: str
    model: str | None
    repeats: int
    created: str
    generated: str
    complete: bool
    accuracy: Accuracy
    by_level: dict[str, Accuracy]
    by_tag: dict[str, Accuracy]
    totals: Totals
    stop_reasons: dict[str, int]
    tasks: list[TaskRow]
    failures: list[Failure]
    charts: list[str]
    charts_note: str | None = None
