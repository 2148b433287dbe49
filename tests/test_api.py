"""The Python API (`from orchestrator import Orchestrator`) over real run directories,
with the scripted model of `scenarios/core/plain_success.yaml` and a person in code."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ledgers import FinalStatus, StopReason
from orchestrator import FinalResult, Orchestrator, RunNotFinished
from orchestrator.events import Event, event_type
from orchestrator.scenarios.schema import Scenario, ScriptedChoice
from orchestrator.session import People
from orchestrator.store import RESULT, RunStore
from orchestrator.yamlfile import load_model

PLAIN = Path(__file__).parent.parent / "scenarios" / "core" / "plain_success.yaml"
SCENARIO = load_model(PLAIN, Scenario)
assert isinstance(SCENARIO.model, ScriptedChoice)
SCRIPT = SCENARIO.model.scripted.model_dump(by_alias=True, exclude_none=True)


class Person:
    def __init__(self, answer: str, delay: float = 0.0) -> None:
        self.answer, self.delay = answer, delay
        self.questions: list[str] = []

    async def ask(self, question: str) -> str | None:
        self.questions.append(question)
        await asyncio.sleep(self.delay)
        return self.answer


def slowed(seconds: float) -> dict[str, Any]:
    """The script with every progress assessment delayed."""
    script = {k: [dict(r) for r in v] for k, v in SCRIPT["script"].items()}
    for reply in script["orchestrator.progress"]:
        reply["delay"] = seconds
    return {"script": script}


def options(person: Person, script: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "team": ["user"],
        "script": script or SCRIPT,
        "limits": {"max_rounds": 5},
        "people": lambda bus: People(human=person),
    }


async def test_run_returns_the_final_result(tmp_path: Path) -> None:
    person = Person("The receipt says 187.60 EUR in total, tip included.")
    orch = Orchestrator(runs_dir=tmp_path)
    result = await orch.run(SCENARIO.task, **options(person))
    assert isinstance(result, FinalResult)
    assert (result.status, result.answer, result.rounds) == (FinalStatus.SOLVED, "46.90 EUR", 2)
    assert person.questions == ["What is the total on the dinner receipt, in euros?"]
    assert RunStore(tmp_path / result.run_id).load_result() == result


async def test_run_stream_yields_every_event_once_in_order(tmp_path: Path) -> None:
    orch = Orchestrator(runs_dir=tmp_path)
    events: list[Event] = [
        e async for e in orch.run_stream(SCENARIO.task, **options(Person("187.60")))
    ]
    assert event_type(events[0]) == "run_started"
    assert event_type(events[-1]) == "run_finished"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    logged = list(RunStore(tmp_path / events[0].run_id).events())
    assert [e.seq for e in logged] == [e.seq for e in events]
    # attach after the end replays the log, and from a seq on
    again = [e async for e in orch.attach(events[0].run_id, after=5)]
    assert [e.seq for e in again] == [e.seq for e in events[5:]]


async def test_cancel_mid_round_still_writes_a_best_guess(tmp_path: Path) -> None:
    orch = Orchestrator(runs_dir=tmp_path)
    config = orch.new_config(SCENARIO.task, team=["user"], script=slowed(5.0))
    handle = orch.submit(config, people=lambda bus: People(human=Person("187.60")))
    async for event in handle.events():
        if event_type(event) == "round_started":
            break
    orch.cancel(handle.run_id)
    result = await asyncio.wait_for(handle.result(), 10)
    assert result.stop_reason is StopReason.CANCELLED
    assert (result.status, result.answer) == (FinalStatus.BEST_GUESS, "46.90 EUR")
    assert (tmp_path / handle.run_id / RESULT).is_file()
    assert handle.state == "finished"


async def test_a_queued_run_waits_for_a_slot_and_cancels_at_once(tmp_path: Path) -> None:
    orch = Orchestrator(runs_dir=tmp_path, max_concurrent=1)
    person = lambda bus: People(human=Person("187.60"))  # noqa: E731
    first = orch.submit(
        orch.new_config(SCENARIO.task, team=["user"], script=slowed(0.3)), people=person
    )
    second = orch.submit(
        orch.new_config(SCENARIO.task, team=["user"], script=SCRIPT), people=person
    )
    third = orch.submit(orch.new_config(SCENARIO.task, team=["user"], script=SCRIPT), people=person)
    assert (first.state, second.state, third.state) == ("running", "queued", "queued")
    orch.cancel(third.run_id)
    assert third.state == "running"
    assert (await third.result()).stop_reason is StopReason.CANCELLED
    assert second.state == "queued"
    assert (await second.result()).status is FinalStatus.SOLVED
    assert (await first.result()).status is FinalStatus.SOLVED


async def test_close_interrupts_and_resume_finishes(tmp_path: Path) -> None:
    orch = Orchestrator(runs_dir=tmp_path)
    config = orch.new_config(SCENARIO.task, team=["user"], script=slowed(0.5))
    people = lambda bus: People(human=Person("187.60"))  # noqa: E731
    handle = orch.submit(config, people=people)
    async for event in handle.events():
        if event_type(event) == "checkpoint_saved":
            break
    await orch.close()
    with pytest.raises(RunNotFinished):
        await handle.result()
    assert handle.state == "interrupted"
    again = Orchestrator(runs_dir=tmp_path).resume(handle.run_id, people=people)
    assert (await again.result()).status is FinalStatus.SOLVED


def test_a_bad_option_is_a_clear_error(tmp_path: Path) -> None:
    from orchestrator.errors import OrchestratorError

    with pytest.raises(OrchestratorError, match="unknown specialist"):
        Orchestrator(runs_dir=tmp_path).new_config("x", team=["websurfer"], script=SCRIPT)
