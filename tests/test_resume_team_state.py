"""A resumed run gets its team's state back: a real run whose file surfer opened a real file
at page 3 is interrupted after round 1 and resumed. The file surfer then starts its next
step on page 3; if the file is gone meanwhile, the orchestrator's next prompt says so; a
checkpoint written before team state existed (no `specialists` field) resumes as before."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from test_loop import FACTS, final, plan, progress

from ledgers import FinalStatus, Limits
from orchestrator import session
from orchestrator.config import ScriptedModelConfig, Settings
from orchestrator.events import Event, RoundStarted, SpecialistActivity
from orchestrator.live import activity_line
from orchestrator.models.scripted import ScriptedModel
from orchestrator.store import CHECKPOINT, RunStore

PAGE_CHARS = 500


def tool_calls(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": args} for name, args in calls]}


def script(*, second_step: bool) -> dict[str, list[Any]]:
    """Round 1: the file surfer opens notes.txt at page 3. Round 2 (its assessment slow
    enough to interrupt): another file-surfer step, or done."""
    slow = {"delay": 1.0}
    round_2 = (
        progress("file_surfer", "read on")
        if second_step
        else progress("file_surfer", "-", done=True)
    )
    rounds = [progress("file_surfer", "open notes.txt at page 3"), {**round_2, **slow}]
    if second_step:
        rounds.append(progress("file_surfer", "-", done=True))
    surfer = [
        tool_calls(("open_file", {"path": "notes.txt"}), ("go_to_page", {"page": 3})),
        tool_calls(("done", {"answer": "page 3 is open"})),
    ]
    if second_step:
        surfer.append(tool_calls(("done", {"answer": "read on from page 3"})))
    return {
        "orchestrator.facts": [FACTS],
        "orchestrator.plan": [plan("file_surfer")],
        "orchestrator.progress": rounds,
        "file_surfer": surfer,
        "orchestrator.final": [final("done")],
    }


def new_run(tmp_path: Path, *, second_step: bool) -> RunStore:
    settings = Settings(
        team=["file_surfer"],
        limits=Limits(max_seconds=60),
        runs_dir=tmp_path,
        specialists={"file_surfer": {"page_chars": PAGE_CHARS}},
    )
    scripted = ScriptedModelConfig.model_validate({"script": script(second_step=second_step)})
    store = session.start(session.new_config("read the notes", settings, scripted=scripted))
    lines = [f"Line {n} of the notes." for n in range(200)]
    (store.workspace / "notes.txt").write_text("\n".join(lines) + "\n")
    return store


async def interrupted_after_round_1(store: RunStore) -> dict[str, Any]:
    """Run until round 2 starts, then cancel (as Ctrl-C does); the checkpoint on disk."""
    second = asyncio.Event()

    def watch(event: Event) -> None:
        if isinstance(event, RoundStarted) and event.round == 2:
            second.set()

    task = asyncio.create_task(session.execute(store, subscribers=[watch]))
    try:
        await asyncio.wait_for(second.wait(), timeout=30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        task.cancel()
    checkpoint: dict[str, Any] = json.loads((store.root / CHECKPOINT).read_text())
    assert checkpoint["rounds"] == 1
    return checkpoint


def restored_events(store: RunStore) -> list[SpecialistActivity]:
    return [
        e
        for e in store.events()
        if isinstance(e, SpecialistActivity) and e.kind == "state_restored"
    ]


def requests(model: ScriptedModel, purpose: str) -> list[str]:
    return [
        "\n".join(m.content for m in r.messages) for r in model.requests if r.purpose == purpose
    ]


async def test_the_file_surfer_resumes_on_its_page(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    store = new_run(tmp_path, second_step=True)
    checkpoint = await interrupted_after_round_1(store)
    saved = checkpoint["specialists"]["file_surfer"]
    assert saved["version"] == 1
    assert saved["open"]["page"] == 3
    assert saved["open"]["path"] == str((store.workspace / "notes.txt").resolve())

    result = await session.execute(store)

    assert result.status is FinalStatus.SOLVED
    (event,) = restored_events(store)
    assert event.speaker == "file_surfer"
    assert event.data == {"problems": []}
    resumed = recorded_models[-1]
    (step,) = requests(resumed, "file_surfer")
    assert "Instruction from the orchestrator:\nread on" in step
    assert "Where you are: notes.txt — page 3 of " in step


async def test_a_file_gone_meanwhile_is_in_the_orchestrators_next_prompt(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    store = new_run(tmp_path, second_step=False)
    await interrupted_after_round_1(store)
    (store.workspace / "notes.txt").unlink()

    result = await session.execute(store)

    assert result.status is FinalStatus.SOLVED
    (event,) = restored_events(store)
    (problem,) = event.data["problems"]
    assert activity_line(event) == f"state restored: not all of it: {problem.rstrip('.')}"
    assert "Not opened" in problem
    assert "notes.txt" in problem
    resumed = recorded_models[-1]
    first_progress = requests(resumed, "orchestrator.progress")[0]
    assert "file_surfer could not be restored as it was before the interruption" in first_progress
    assert problem in first_progress
    notes = [e for e in store.load_checkpoint().transcript if e.kind == "note"]
    assert [(n.speaker, n.round) for n in notes] == [("file_surfer", 1)]


async def test_a_checkpoint_without_team_state_resumes_with_the_team_afresh(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    store = new_run(tmp_path, second_step=True)
    checkpoint = await interrupted_after_round_1(store)
    del checkpoint["specialists"]  # as a checkpoint of the version before it was written
    (store.root / CHECKPOINT).write_text(json.dumps(checkpoint))

    result = await session.execute(store)

    assert result.status is FinalStatus.SOLVED
    assert restored_events(store) == []
    (step,) = requests(recorded_models[-1], "file_surfer")
    assert "Where you are: no file open" in step
