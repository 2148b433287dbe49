"""The round loop, driven through real sessions with a scripted model and real specialists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.specialists import INSTANCES, Echo, Flaky

from ledgers import FinalStatus, Limits, StopReason
from orchestrator import session
from orchestrator import team as team_registry
from orchestrator.config import ScriptedModelConfig, Settings
from orchestrator.events import (
    CheckpointSaved,
    LedgerUnusable,
    LimitReached,
    Replied,
    RoundStarted,
    TeamReset,
    event_type,
)
from orchestrator.state import FinalResult, HumanConfig
from orchestrator.store import RunStore


@pytest.fixture(autouse=True)
def _test_specialists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(team_registry.BUILTIN, "flaky", "support.specialists:create_flaky")
    monkeypatch.setitem(team_registry.BUILTIN, "echo", "support.specialists:create_echo")
    INSTANCES.clear()


def judgement(answer: bool, reason: str = "because") -> dict[str, Any]:
    return {"reason": reason, "answer": answer}


def progress(
    speaker: str, instruction: str, *, done: bool = False, progress: bool = True, loop: bool = False
) -> dict[str, Any]:
    return {
        "json": {
            "request_satisfied": judgement(done),
            "in_loop": judgement(loop),
            "progress_made": judgement(progress),
            "next_speaker": {"reason": "r", "answer": speaker},
            "instruction": {"reason": "r", "answer": instruction},
        }
    }


FACTS = {"json": {"given": ["g"], "to_look_up": [], "to_derive": [], "guesses": []}}


def plan(owner: str) -> dict[str, Any]:
    return {"json": {"steps": [{"owner": owner, "action": "do it"}]}}


def final(answer: str, confidence: str = "certain") -> dict[str, Any]:
    return {"json": {"answer": answer, "evidence": ["e"], "confidence": confidence}}


async def run(
    tmp_path: Path,
    script: dict[str, list[Any]],
    *,
    team: list[str],
    limits: Limits | None = None,
    human: list[str] | None = None,
    pricing: dict[str, float] | None = None,
) -> tuple[FinalResult, RunStore]:
    settings = Settings(team=team, limits=limits or Limits(max_seconds=30), runs_dir=tmp_path)
    scripted = ScriptedModelConfig.model_validate({"script": script, "pricing": pricing})
    extra: dict[str, Any] = {"scripted": scripted}
    if human is not None:
        extra["human"] = HumanConfig(mode="scripted", replies=human)
    config = session.new_config("the task", settings, **extra)
    store = session.start(config)
    result = await session.execute(store)
    return result, store


async def test_a_specialist_exception_becomes_an_observation(tmp_path: Path) -> None:
    script = {
        "orchestrator.facts": [FACTS],
        "orchestrator.plan": [plan("flaky")],
        "orchestrator.progress": [
            progress("flaky", "try"),
            progress("flaky", "try again, it failed"),
            progress("flaky", "-", done=True),
        ],
        "orchestrator.final": [final("fine")],
    }
    result, store = await run(tmp_path, script, team=["flaky"])
    assert result.status is FinalStatus.SOLVED
    replies = [e for e in store.events() if isinstance(e, Replied)]
    assert replies[0].error == "RuntimeError: boom: the specialist has a bug"
    assert "internal error" in replies[0].text
    assert replies[1].error is None
    flaky = INSTANCES["flaky"]
    assert isinstance(flaky, Flaky)
    assert flaky.closed


@pytest.mark.parametrize("reset", [["echo"], []])
async def test_a_replan_resets_whom_the_new_plan_names_and_identical_replies_stall(
    tmp_path: Path, reset: list[str]
) -> None:
    replan = {"json": {**plan("echo")["json"], "root_cause": "it echoes", "reset": reset}}
    script = {
        "orchestrator.facts": [FACTS, FACTS],
        "orchestrator.plan": [plan("echo"), replan],
        "orchestrator.progress": [
            progress("echo", "question 1"),
            progress("echo", "question 2"),
            progress("echo", "question 3"),
            progress("echo", "question 4"),
            progress("echo", "-", done=True),
        ],
        "orchestrator.final": [final("x", "best_guess")],
    }
    result, store = await run(
        tmp_path, script, team=["echo"], limits=Limits(max_stalls=2, max_seconds=30)
    )
    # Rounds 1-3 delegate; from round 3 the echo's replies repeat word for word, so the
    # code evidence counts as stalls even though the model claims progress: the second
    # stall, in round 4, triggers the replan.
    assert result.replans == 1
    stalls = [e for e in store.events() if event_type(e) == "stall_detected"]
    assert all("identical to an earlier one" in " ".join(s.reasons) for s in stalls)  # type: ignore[attr-defined]
    assert all("repeats an earlier one word for word" in " ".join(s.reasons) for s in stalls)  # type: ignore[attr-defined]
    resets = [e for e in store.events() if isinstance(e, TeamReset)]
    assert [e.members for e in resets] == [reset]
    echo = INSTANCES["echo"]
    assert isinstance(echo, Echo)
    assert echo.resets == len(reset)  # an open document or page is kept unless named
    assert result.status is FinalStatus.BEST_GUESS


async def test_token_budget_stops_with_a_best_guess(tmp_path: Path) -> None:
    big = {"input_tokens": 600, "output_tokens": 0}
    script = {
        "orchestrator.facts": [{**FACTS, **big}],
        "orchestrator.plan": [plan("user")],
        "orchestrator.progress": [
            {**progress("user", "q1"), **big},
            {**progress("user", "q2"), **big},
        ],
        "orchestrator.final": [final("partial", "best_guess")],
    }
    result, store = await run(
        tmp_path,
        script,
        team=["user"],
        limits=Limits(max_tokens=1500, max_seconds=30),
        human=["a1", "a2"],
    )
    assert result.stop_reason is StopReason.TOKEN_BUDGET
    assert result.status is FinalStatus.BEST_GUESS
    assert result.answer == "partial"
    limit = next(e for e in store.events() if isinstance(e, LimitReached))
    assert "budget 1,500" in limit.detail


async def test_cost_budget_stops_with_a_best_guess(tmp_path: Path) -> None:
    cost = {"input_tokens": 1_000_000, "output_tokens": 0}  # $1 each at $1/Mtok
    script = {
        "orchestrator.facts": [{**FACTS, **cost}],
        "orchestrator.plan": [plan("user")],
        "orchestrator.progress": [{**progress("user", "q1"), **cost}],
        "orchestrator.final": [final("cheap guess", "best_guess")],
    }
    result, _ = await run(
        tmp_path,
        script,
        team=["user"],
        limits=Limits(max_cost_usd=1.5, max_seconds=30),
        human=["a1"],
        pricing={"input_per_mtok": 1.0, "output_per_mtok": 1.0},
    )
    assert result.stop_reason is StopReason.COST_BUDGET
    assert result.cost_usd == pytest.approx(2.0, rel=1e-3)
    assert result.status is FinalStatus.BEST_GUESS


async def test_a_model_that_cannot_continue_ends_the_run_failed_but_saved(tmp_path: Path) -> None:
    script = {
        "orchestrator.facts": [FACTS],
        "orchestrator.plan": [plan("user")],
        "orchestrator.progress": [
            {"error": {"kind": "bad_request", "message": "context length exceeded"}}
        ],
        "orchestrator.final": [{"error": {"kind": "bad_request", "message": "still too long"}}],
    }
    result, store = await run(tmp_path, script, team=["user"])
    assert result.stop_reason is StopReason.MODEL_UNAVAILABLE
    assert result.status is FinalStatus.FAILED
    assert "context length exceeded" in result.stop_detail
    assert "final answer failed" in result.stop_detail
    assert store.load_result() == result


async def test_unusable_facts_and_plan_do_not_stop_the_run(tmp_path: Path) -> None:
    script = {
        "orchestrator.facts": ["junk", "junk", "junk"],
        "orchestrator.plan": [plan("nobody"), plan("nobody"), plan("nobody")],
        "orchestrator.progress": [progress("user", "q"), progress("user", "-", done=True)],
        "orchestrator.final": [final("ok")],
    }
    result, store = await run(tmp_path, script, team=["user"], human=["a"])
    assert result.status is FinalStatus.SOLVED
    unusable = [e for e in store.events() if isinstance(e, LedgerUnusable)]
    assert [u.purpose for u in unusable] == ["orchestrator.facts", "orchestrator.plan"]
    assert "unknown step owner(s) 'nobody'; the team is: user" in unusable[1].error
    checkpoint = store.load_checkpoint()
    assert checkpoint.ledger is not None
    assert "No plan could be made" in checkpoint.ledger.plan.render()


async def test_every_round_is_checkpointed_and_events_are_ordered(tmp_path: Path) -> None:
    script = {
        "orchestrator.facts": [FACTS],
        "orchestrator.plan": [plan("user")],
        "orchestrator.progress": [
            progress("user", "q1"),
            progress("user", "q2"),
            progress("user", "-", done=True),
        ],
        "orchestrator.final": [final("ok")],
    }
    result, store = await run(tmp_path, script, team=["user"], human=["a1", "a2"])
    events = list(store.events())
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(events) + 1))
    assert all(e.schema_version == 2 and e.run_id == result.run_id for e in events)
    rounds = [e.round for e in events if isinstance(e, RoundStarted)]
    assert rounds == [1, 2, 3]
    # one checkpoint after planning, one per round, two while finishing
    assert sum(isinstance(e, CheckpointSaved) for e in events) == 1 + 3 + 2
    assert [event_type(e) for e in events][-3:] == [
        "final_answer",
        "checkpoint_saved",
        "run_finished",
    ]


def test_builtin_specialists_are_registered_as_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group=team_registry.GROUP)}
    assert "user" in names
    assert "user" in team_registry.available()
