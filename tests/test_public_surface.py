"""The curated public names of the packages: changing them is a deliberate act."""

from __future__ import annotations

import io
import json

import pytest

import ledgers
import specialists
import specialists.models
from orchestrator import logs
from orchestrator.events import EVENT_TYPES, EventBus, RoundStarted


def test_ledgers_public_names() -> None:
    assert sorted(ledgers.__all__) == [
        "BudgetHit",
        "Choice",
        "ContextRules",
        "Counter",
        "Entry",
        "Facts",
        "FinalDraft",
        "FinalStatus",
        "Finding",
        "Judgement",
        "Limits",
        "NewFact",
        "Plan",
        "PlanDraft",
        "PlanStep",
        "ProgressLedger",
        "ReplanDraft",
        "Revision",
        "Speaker",
        "Spent",
        "StallRules",
        "StallState",
        "StallVerdict",
        "StopReason",
        "TaskLedger",
        "Turn",
        "decide_status",
        "exceeded",
        "exceeded_in_step",
    ]


def test_specialists_public_names() -> None:
    assert sorted(specialists.__all__) == [
        "ApprovalRequest",
        "HumanChannel",
        "Reply",
        "Specialist",
        "SpecialistConfigError",
        "SpecialistFactory",
        "StepContext",
        "TeamEnv",
    ]
    assert "ModelClient" in specialists.models.__all__
    assert "StructuredOutputError" in specialists.models.__all__


def test_every_public_name_exists() -> None:
    for module in (ledgers, specialists, specialists.models):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_event_types_are_stable() -> None:
    assert len(EVENT_TYPES) == 31
    assert {
        "run_started",
        "model_call_started",
        "activity_started",
        "progress_assessed",
        "stall_detected",
        "replanned",
        "final_answer",
        "run_finished",
        "action_failed",
        "specialist_observed",
    } <= EVENT_TYPES


def test_json_logs_write_one_line_per_event() -> None:
    stream = io.StringIO()
    logs.configure(stream)
    bus = EventBus("run-1")
    bus.subscribe(logs.EventLogger())
    bus.round = 3
    bus.emit(RoundStarted())
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["event"] == "round_started"
    assert line["run_id"] == "run-1"
    assert line["round"] == 3
    assert line["level"] == "info"


def test_a_failing_subscriber_is_dropped_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bus = EventBus("run")
    seen: list[str] = []

    def broken(event: object) -> None:
        raise RuntimeError("display bug")

    bus.subscribe(broken)
    bus.subscribe(lambda e: seen.append(type(e).__name__))
    bus.emit(RoundStarted())
    bus.emit(RoundStarted())
    assert seen == ["RoundStarted", "RoundStarted"]
    assert capsys.readouterr().err.count("failed and was removed: RuntimeError('display bug')") == 1


def test_orchestrator_public_names() -> None:
    import orchestrator

    assert sorted(orchestrator.__all__) == [
        "FinalResult",
        "Orchestrator",
        "RunHandle",
        "RunNotFinished",
    ]
    for name in orchestrator.__all__:
        assert hasattr(orchestrator, name), name
