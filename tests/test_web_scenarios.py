"""The shipped web scenarios did what their scripts claim, in the real browser.

`test_shipped_scenarios.py` runs every scenario and checks its `expect:`; a scripted
model's final answer would pass that whatever the browser did. Here each web scenario
runs again with its model recorded, and the events and the prompts the web surfer sent
show the browser really got there: the page the model was shown, the file saved, the
approval asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator import session
from orchestrator.events import ApprovalRequested, Event, Replied, SpecialistActivity
from orchestrator.models.scripted import ScriptedModel
from orchestrator.scenarios.runner import Outcome, run_one
from orchestrator.store import RunStore

WEB = Path(__file__).resolve().parent.parent / "scenarios" / "web"
SIGNATURE = (
    "json.dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True, allow_nan=True, "
    "cls=None, indent=None, separators=None, default=None, sort_keys=False, **kw)"
)

_made: list[ScriptedModel] = []


class _RecordingScriptedModel(ScriptedModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _made.append(self)


async def run(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Outcome, list[Event], ScriptedModel]:
    _made.clear()
    monkeypatch.setattr(session, "ScriptedModel", _RecordingScriptedModel)
    outcome = await run_one(WEB / f"{name}.yaml", tmp_path)
    assert outcome.passed, outcome.failures
    assert outcome.run_dir is not None
    (model,) = _made
    return outcome, list(RunStore(outcome.run_dir).events()), model


def surfer_saw(model: ScriptedModel, purpose: str = "web_surfer") -> str:
    """Everything the web surfer's model was shown, all requests together."""
    return "\n".join(m.content for r in model.requests if r.purpose == purpose for m in r.messages)


def actions(events: list[Event]) -> list[dict[str, Any]]:
    return [e.data for e in events if isinstance(e, SpecialistActivity) and e.kind == "action"]


async def test_python_docs_search_reached_the_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, events, model = await run("python_docs_search", tmp_path, monkeypatch)
    done = actions(events)
    assert [a["name"] for a in done] == ["visit_url", "type", "click", "find_on_page"]
    assert all(a["ok"] for a in done), done
    assert done[2]["detail"] == 'clicked [8] link "json.dumps"'
    (reply,) = [e for e in events if isinstance(e, Replied)]
    assert reply.evidence["url"].endswith("/library/json.html#json.dumps")
    seen = surfer_saw(model)
    assert "Search finished, found" in seen  # the JavaScript search page ran
    assert SIGNATURE in seen


async def test_form_submission_reached_the_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, events, model = await run("form_submit", tmp_path, monkeypatch)
    (asked,) = [e for e in events if isinstance(e, ApprovalRequested)]
    assert asked.action == "submit form"
    assert asked.risky
    assert "name=Ada Lovelace, bread=rye, quantity=2, day=Saturday" in asked.detail
    (reply,) = [e for e in events if isinstance(e, Replied)]
    assert reply.evidence["title"] == "Order confirmed"
    assert (
        "Order LB-36715 confirmed for Ada Lovelace: 2 \u00d7 rye loaf, pickup Saturday."
        in surfer_saw(model)
    )


async def test_the_pdf_was_saved_and_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outcome, events, model = await run("pdf_answer", tmp_path, monkeypatch)
    (reply,) = [e for e in events if isinstance(e, Replied)]
    (saved,) = reply.files
    assert saved.endswith("downloads/annual-report-2024.pdf")
    assert outcome.run_dir is not None
    assert Path(saved).is_relative_to(outcome.run_dir)
    assert _head(Path(saved)) == b"%PDF-"
    assert "Total revenue: 4.2 million euros." in surfer_saw(model, "web_surfer.answer")
    assert "PDF document saved to" in surfer_saw(model)


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(5)
