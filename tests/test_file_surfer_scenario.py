"""scenarios/files/find_figure_in_pdf.yaml, checked beyond its `expect:` section: the
figure in the final answer is the one the file surfer's tools really showed the model,
from page 27 of the real Debian Reference PDF, behind the untrusted-content fence."""

from __future__ import annotations

from pathlib import Path

from orchestrator.events import Replied, SpecialistActivity
from orchestrator.models.scripted import ScriptedModel
from orchestrator.scenarios.runner import run_one
from orchestrator.store import RunStore

SCENARIO = (
    Path(__file__).resolve().parent.parent / "scenarios" / "files" / "find_figure_in_pdf.yaml"
)
SENTENCE = "contains the total submission of 208164 reports over 192570 binary packages"


async def test_the_figure_comes_from_page_27_of_the_pdf(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    outcome = await run_one(SCENARIO, tmp_path)
    assert outcome.passed, outcome.failures
    assert outcome.result is not None
    assert outcome.result.answer == "208164"
    (model,) = recorded_models
    asked = [r for r in model.requests if r.purpose == "file_surfer"]
    assert len(asked) == 4
    results = [m.content for m in asked[-1].messages if m.role == "tool"]
    opened, found, page = results
    assert opened.startswith("debian-reference.en.pdf — page 1 of 261\n")
    assert found.startswith("debian-reference.en.pdf — page 25 of 261\n")
    assert "pages with matches: 25, 27," in found
    assert SENTENCE not in found  # page 25 only mentions popcon in passing
    assert page.startswith(
        "debian-reference.en.pdf — page 27 of 261\n<untrusted_file_content "
        'source="debian-reference.en.pdf" page="27">'
    )
    assert SENTENCE in " ".join(page.split())

    assert outcome.run_dir is not None
    events = list(RunStore(outcome.run_dir).events())
    actions = [e.data["name"] for e in events if isinstance(e, SpecialistActivity)]
    assert actions == ["open_file", "find", "go_to_page"]
    (reply,) = [e for e in events if isinstance(e, Replied)]
    assert reply.speaker == "file_surfer"
    assert "208164 reports" in reply.text
    assert reply.evidence == {
        "location": "debian-reference.en.pdf — page 27 of 261",
        "path": "debian-reference.en.pdf",
        "page": "27",
    }
