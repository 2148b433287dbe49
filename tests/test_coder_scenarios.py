"""The coder's shipped scenarios, read for what their `expect:` sections cannot say.

`tests/test_shipped_scenarios.py` already runs every scenario under scenarios/ and checks
its expectations; here the coder scenario is re-run and its events and model requests
are read: the number in the coder's reply came from the program's real output, and the
model saw the real traceback before it fixed the code.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.events import Replied, SpecialistActivity
from orchestrator.models.scripted import ScriptedModel
from orchestrator.scenarios.runner import run_one
from orchestrator.store import RunStore

SCENARIO = (
    Path(__file__).resolve().parent.parent / "scenarios" / "coder" / "fix_error_and_rerun.yaml"
)


async def test_the_coder_fixes_its_error_and_the_sandbox_computes_the_answer(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    outcome = await run_one(SCENARIO, tmp_path)
    assert outcome.passed, outcome.failures or outcome.error
    assert outcome.run_dir is not None
    events = list(RunStore(outcome.run_dir).events())

    runs = [e.data for e in events if isinstance(e, SpecialistActivity) and e.kind == "code_run"]
    assert [(r["round"], r["exit_code"]) for r in runs] == [(1, 1), (2, 0)]
    assert runs[0]["stderr_bytes"] > 0
    assert runs[0]["files"] == []
    assert runs[1]["files"] == ["revenue_by_region.csv"]

    # The number is the program's output: the scripted model never wrote "1738.35".
    (reply,) = [e for e in events if isinstance(e, Replied) and e.speaker == "coder"]
    assert reply.error is None
    assert "Its output (untrusted program output):\nTOTAL 1738.35" in reply.text
    (model,) = recorded_models
    coder_requests = [r for r in model.requests if r.purpose == "coder"]
    scripted_code = "".join(m.content for m in coder_requests[0].messages)
    assert "1738.35" not in scripted_code

    # The second coder request carried the real traceback from the sandbox.
    feedback = coder_requests[1].messages[-1].content
    assert "Traceback (most recent call last):" in feedback
    assert 'float(r["price"])' in feedback  # the source line, read from the real file
    assert "KeyError: 'price'" in feedback

    workspace = outcome.run_dir / "workspace"
    assert reply.files == [str(workspace / "revenue_by_region.csv")]
    assert (workspace / "revenue_by_region.csv").read_text().splitlines() == [
        "region,revenue",
        "East,494.50",
        "North,596.60",
        "South,313.35",
        "West,333.90",
    ]
