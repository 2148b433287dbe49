"""The run's budgets are checked inside a specialist's step: a multi-action step ends early,
with a reply that says so, once the token or wall-clock budget is used up, and the run
then stops naming that budget. Real runs with scripted models: the file surfer on a real
file, the web surfer in real Chromium on the fixture site, the coder in its sandbox."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from test_loop import FACTS, final, plan, progress
from test_web_fixture_site import FixtureSite, site_fixture  # noqa: F401 - used by name

from ledgers import BudgetHit, FinalStatus, Limits, Spent, StopReason, exceeded_in_step
from orchestrator import session
from orchestrator import team as team_registry
from orchestrator.config import ScriptedModelConfig, Settings
from orchestrator.events import Replied, SpecialistActivity
from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from orchestrator.store import RunStore
from specialists.base import ApprovalRequest, Reply, Specialist, StepContext, TeamEnv
from specialists.coder import create as create_coder

SMALL = {"input_tokens": 100, "output_tokens": 0}
BIG = {"input_tokens": 1_000, "output_tokens": 0}


def tool_calls(*calls: tuple[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": n, "arguments": a} for n, a in calls], **extra}


def orchestrator_script(speaker: str, **extra: Any) -> dict[str, list[Any]]:
    """Plan, one delegation to `speaker`, then (if the run got that far) done."""
    return {
        "orchestrator.facts": [{**FACTS, **extra}],
        "orchestrator.plan": [{**plan(speaker), **extra}],
        "orchestrator.progress": [
            {**progress(speaker, "look it all up"), **extra},
            {**progress(speaker, "-", done=True), **extra},
        ],
        "orchestrator.final": [final("what was found", "best_guess")],
    }


async def run(
    tmp_path: Path, team: str, script: dict[str, list[Any]], limits: Limits, **specialists: Any
) -> RunStore:
    settings = Settings(
        team=[team], limits=limits, runs_dir=tmp_path, specialists={team: specialists}
    )
    scripted = ScriptedModelConfig.model_validate({"script": script})
    store = session.start(session.new_config("the task", settings, scripted=scripted))
    (store.workspace / "notes.txt").write_text(
        "\n".join(f"Line {n} of the notes." for n in range(300))
    )
    await session.execute(store)
    return store


def actions(store: RunStore) -> list[str]:
    return [
        str(e.data["name"])
        for e in store.events()
        if isinstance(e, SpecialistActivity) and e.kind == "action"
    ]


async def test_a_file_surfer_step_stops_mid_step_on_the_token_budget(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    # 300 tokens of planning and assessing, then 1,000 a file-surfer call: the budget of
    # 1,500 is used up after its second call, which asked for two more actions.
    script = orchestrator_script("file_surfer", **SMALL)
    script["file_surfer"] = [
        tool_calls(("open_file", {"path": "notes.txt"}), **BIG),
        tool_calls(("go_to_page", {"page": 2}), ("go_to_page", {"page": 3}), **BIG),
        tool_calls(("find", {"text": "Line 250"}), **BIG),
        tool_calls(("done", {"answer": "all read"}), **BIG),
    ]
    store = await run(tmp_path, "file_surfer", script, Limits(max_tokens=1_500, max_seconds=60))

    result = store.load_result()
    assert result.stop_reason is StopReason.TOKEN_BUDGET
    assert result.status is FinalStatus.BEST_GUESS
    assert result.rounds == 1
    assert actions(store) == ["open_file"]  # neither of the second call's actions ran
    (reply,) = [e for e in store.events() if isinstance(e, Replied)]
    assert "I stopped this step early: the run's token budget is used up" in reply.text
    assert "used 2,300 tokens, budget 1,500" in reply.text
    assert "notes.txt — page 1 of" in reply.text  # what it had found so far
    (model,) = recorded_models
    assert model.unused()["file_surfer"] == 2


async def test_a_web_surfer_step_stops_mid_step_on_the_wall_clock(
    tmp_path: Path, site: FixtureSite, recorded_models: list[ScriptedModel]
) -> None:
    pages = ["index.html", "second.html", "docs.html", "long.html"] * 3
    script = orchestrator_script("web_surfer")
    script["web_surfer"] = [
        tool_calls(("visit_url", {"url": f"{site.url}/{page}"}), delay=0.5) for page in pages
    ]
    store = await run(
        tmp_path,
        "web_surfer",
        script,
        Limits(max_seconds=4),
        url_policy={"allow_private": ["127.0.0.1"]},
        navigation_timeout=3,
        settle_timeout=1,
        max_actions_per_step=len(pages),
    )

    result = store.load_result()
    assert result.stop_reason is StopReason.TIMEOUT
    assert result.rounds == 1
    (reply,) = [e for e in store.events() if isinstance(e, Replied)]
    assert "I stopped this step early: the run's wall-clock limit is used up" in reply.text
    assert "limit 4s" in reply.text
    (model,) = recorded_models
    left = model.unused()["web_surfer"]
    assert 0 < left < len(pages)  # it acted, and stopped before the script ran out
    assert reply.seconds < 4 + 4  # within the grace the step is given past the limit


# --- the coder ------------------------------------------------------------------------------


async def test_the_coder_stops_before_running_code_once_the_budget_is_used_up(
    tmp_path: Path,
) -> None:
    code = {"text": "```python\nopen('made.txt', 'w').write('x')\n```"}
    scripted = ScriptedModel({"coder": [ScriptedReply.model_validate(code)]})
    coder = create_coder(TeamEnv("coder", tmp_path, scripted, _Nobody()))
    hit = BudgetHit(StopReason.COST_BUDGET, "spent $0.0200, budget $0.0100")
    asked: list[ApprovalRequest] = []

    async def approve(request: ApprovalRequest) -> bool:
        asked.append(request)
        return True

    def check_budget() -> BudgetHit | None:
        return hit if scripted.requests else None  # used up by the coder's first call

    context = StepContext(
        "run", 1, tmp_path, (), approve, lambda kind, data: None, check_budget=check_budget
    )
    try:
        reply = await coder.step("make a file", context)
    finally:
        await coder.close()
    assert reply.text.startswith(
        "I stopped this step early: the run's cost budget is used up (spent $0.0200"
    )
    assert asked == []  # the block was not even offered for approval
    assert not (tmp_path / "made.txt").exists()
    assert len(scripted.requests) == 1


class _Nobody:
    async def ask(self, question: str) -> str | None:
        return None


# --- the rules, and a step that never checks --------------------------------------------------


def test_inside_a_step_only_time_tokens_and_cost_count() -> None:
    limits = Limits(max_rounds=2, max_seconds=10, max_tokens=100, max_cost_usd=1.0)
    assert exceeded_in_step(limits, Spent(rounds=5)) is None  # rounds count between steps
    assert exceeded_in_step(limits, Spent(seconds=10)) == BudgetHit(
        StopReason.TIMEOUT, "ran for 10.0s, limit 10s"
    )
    assert exceeded_in_step(limits, Spent(tokens=100)) == (
        StopReason.TOKEN_BUDGET,
        "used 100 tokens, budget 100",
    )
    hit = exceeded_in_step(limits, Spent(cost_usd=1.5))
    assert hit is not None
    assert hit.reason is StopReason.COST_BUDGET


class Sleeper:
    """A specialist that never checks its budget and never finishes on its own."""

    name = "sleeper"
    description = "Sleeps."

    async def step(self, instruction: str, context: StepContext) -> Reply:
        await asyncio.sleep(3600)
        return Reply("woke up")

    async def reset(self) -> None:
        return None

    async def close(self) -> None:
        return None


def create_sleeper(env: TeamEnv) -> Specialist:
    return Sleeper()


async def test_a_step_that_never_checks_is_still_cut_off_after_its_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(team_registry.BUILTIN, "sleeper", "test_step_budgets:create_sleeper")
    started = time.monotonic()
    store = await run(tmp_path, "sleeper", orchestrator_script("sleeper"), Limits(max_seconds=1))
    took = time.monotonic() - started
    result = store.load_result()
    assert result.stop_reason is StopReason.TIMEOUT
    assert [e for e in store.events() if isinstance(e, Replied)] == []  # cut off mid-step
    assert took < 1 + 1 + 5  # the limit, the grace (here: the limit again), the answer
