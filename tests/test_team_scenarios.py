"""scenarios/team/: specialists working together through the shared workspace, checked
beyond `expect:` — what each specialist's tools really showed its model, and that the
answer came from the real program output."""

from __future__ import annotations

from pathlib import Path

from orchestrator.events import Replied, SpecialistActivity
from orchestrator.models.scripted import ScriptedModel
from orchestrator.scenarios.runner import run_one
from orchestrator.store import RunStore

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios/team/xlsx_found_then_computed.yaml"


async def test_the_file_surfer_finds_the_workbook_and_the_coder_computes_from_it(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    outcome = await run_one(SCENARIO, tmp_path)
    assert outcome.passed, outcome.failures
    (model,) = recorded_models

    # What the file surfer's tools showed its model: all three workbooks, then sheet b.
    surfer = [r for r in model.requests if r.purpose == "file_surfer"]
    found, opened = [m.content for m in surfer[-1].messages if m.role == "tool"]
    for name in ("float.xlsx", "datetime.xlsx", "sheets_order.xlsx"):
        assert name in found
    assert opened.startswith("reports/sheets_order.xlsx — page 1 of 1")
    assert "Sheet b" in opened
    assert "2744" in opened  # the last y value (14 cubed), read from the real workbook

    # The coder's program ran for real: 8000 is in its output, and only there.
    assert outcome.run_dir is not None
    events = list(RunStore(outcome.run_dir).events())
    (run,) = [e for e in events if isinstance(e, SpecialistActivity) and e.kind == "code_run"]
    assert (run.data["exit_code"], run.data["executor"]) == (0, "sandbox")
    coder_reply = next(e for e in events if isinstance(e, Replied) and e.speaker == "coder")
    assert "sum of y: 8000.0" in coder_reply.text
    coder_script = [r for r in model.requests if r.purpose == "coder"]
    fed_back = coder_script[-1].messages[-1].content
    assert "sum of y: 8000.0" in fed_back  # the model saw the real output, not the script's
