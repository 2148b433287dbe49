"""scenarios/context/: what the models saw, checked beyond `expect:` — facts reaching a
specialist through its team notes, a replan that keeps an open document, an answer given
without a plan."""

from __future__ import annotations

from pathlib import Path

from orchestrator.events import Delegated, SpecialistActivity, TeamReset
from orchestrator.models.scripted import ScriptedModel
from orchestrator.scenarios.runner import run_one
from orchestrator.store import RunStore

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios/context"


async def test_the_coder_gets_the_numbers_from_its_notes_not_its_instruction(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    outcome = await run_one(SCENARIOS / "coder_uses_found_numbers.yaml", tmp_path)
    assert outcome.passed, outcome.failures
    (model,) = recorded_models
    first = next(r for r in model.requests if r.purpose == "coder")
    opening = first.messages[1].content
    instruction = opening.split("Request from the orchestrator:\n", 1)[1]
    notes = opening.split("Request from the orchestrator:\n", 1)[0]
    for number in ("17 units at 12.50 EUR", "4 units at 99.00 EUR"):
        assert number in notes  # a finding, and the file surfer's reply
        assert number not in instruction
    assert "Order A-1093: 17 units at 12.50 EUR each. (file_surfer: orders.txt, round 2)" in notes
    assert "<team_conversation untrusted>" in notes
    assert outcome.run_dir is not None
    events = list(RunStore(outcome.run_dir).events())
    (run,) = [e for e in events if isinstance(e, SpecialistActivity) and e.kind == "code_run"]
    assert run.data["exit_code"] == 0
    # Every finding reaches the final answer's prompt.
    final = next(r for r in model.requests if r.purpose == "orchestrator.final")
    assert "Order B-2210: 4 units at 99.00 EUR each." in final.messages[1].content


async def test_a_replan_that_resets_nobody_keeps_the_open_document(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    outcome = await run_one(SCENARIOS / "replan_keeps_open_document.yaml", tmp_path)
    assert outcome.passed, outcome.failures
    assert outcome.run_dir is not None
    events = list(RunStore(outcome.run_dir).events())
    (reset,) = [e for e in events if isinstance(e, TeamReset)]
    assert reset.members == []
    actions = [e.data for e in events if isinstance(e, SpecialistActivity) and e.kind == "action"]
    assert [a["name"] for a in actions] == ["open_file", "page_down", "page_down"]
    (model,) = recorded_models
    surfer = [r for r in model.requests if r.purpose == "file_surfer"]
    after_replan = [m.content for m in surfer[-1].messages if m.role == "tool"]
    assert after_replan[0].startswith("log.txt — page 2 of")  # paged on, not reopened
    assert "41 litres" in after_replan[1]
    # The replan prompt saw the conversation and asked for a root cause.
    replan = [r for r in model.requests if r.purpose == "orchestrator.plan"][1]
    assert "root_cause" in replan.messages[1].content
    assert "log.txt page 1 covers Chapter 1" in replan.messages[1].content


async def test_a_task_that_needs_no_plan_is_answered_at_once(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    outcome = await run_one(SCENARIOS / "direct_answer.yaml", tmp_path)
    assert outcome.passed, outcome.failures
    assert outcome.result is not None
    assert outcome.result.rounds == 0
    assert "answered directly" in outcome.result.stop_detail
    assert outcome.run_dir is not None
    assert not [e for e in RunStore(outcome.run_dir).events() if isinstance(e, Delegated)]
    (model,) = recorded_models
    assert [r.purpose for r in model.requests] == [
        "orchestrator.facts",
        "orchestrator.plan",
        "orchestrator.final",
    ]
