"""Golden prompts: what every model sees, checked in under tests/golden/.

A whole scripted run (facts, plan, rounds with the file surfer and the coder, a stall, a
replan, the final answer) goes through the real session, and the first request of every
purpose is rendered to text and compared with its file. A change to what a model sees is
therefore a visible diff in review. After an intended change, regenerate with
`UPDATE_GOLDEN=1 pytest tests/test_golden_prompts.py` and read the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from ledgers import Limits, transcript
from orchestrator import session
from orchestrator.config import ScriptedModelConfig, Settings
from orchestrator.context import ContextBuilder, Reader
from orchestrator.models.scripted import ScriptedModel
from orchestrator.state import Attachment
from specialists.models.protocol import Capabilities, JsonSchemaFormat, Message, ModelRequest
from specialists.web_surfer import prompts as web_prompts

GOLDEN = Path(__file__).parent / "golden"
TODAY = dt.date(2026, 1, 15)


def judgement(answer: bool, reason: str) -> dict[str, Any]:
    return {"reason": reason, "answer": answer}


def progress(
    speaker: str,
    instruction: str,
    *,
    new_facts: list[dict[str, str]] | None = None,
    progress: bool = True,
    done: bool = False,
) -> dict[str, Any]:
    return {
        "json": {
            "new_facts": new_facts or [],
            "request_satisfied": judgement(done, "the total is known" if done else "not yet"),
            "in_loop": judgement(False, "no repetition"),
            "progress_made": judgement(progress, "a new value" if progress else "nothing new"),
            "next_speaker": {"reason": "best placed", "answer": speaker},
            "instruction": {"reason": "the plan", "answer": instruction},
        }
    }


PRICE = {"fact": "One widget costs 42 EUR (notes.txt, line 2).", "source": "file_surfer"}
TOTAL = {"fact": "Three widgets cost 126 EUR.", "source": "coder"}

SCRIPT: dict[str, list[Any]] = {
    "orchestrator.facts": [
        {
            "json": {
                "given": ["The price list is notes.txt."],
                "to_look_up": ["The price of one widget."],
                "to_derive": ["The price of three widgets."],
                "guesses": [],
            }
        },
        {
            "json": {
                "given": ["One widget costs 42 EUR."],
                "to_look_up": [],
                "to_derive": ["The price of three widgets, with tax."],
                "guesses": ["Tax is 20%."],
            }
        },
    ],
    "orchestrator.plan": [
        {
            "json": {
                "needs_plan": True,
                "steps": [
                    {
                        "owner": "file_surfer",
                        "action": "Read the widget price in notes.txt.",
                        "details": "Quote the line with the price and its currency.",
                    },
                    {"owner": "coder", "action": "Multiply the price by three.", "details": ""},
                ],
            }
        },
        {
            "json": {
                "root_cause": "The coder was not told about tax.",
                "hints": ["Give the coder the price and the tax rate."],
                "steps": [
                    {
                        "owner": "coder",
                        "action": "Compute three widgets with 20% tax.",
                        "details": "Use 42 EUR a widget.",
                    }
                ],
                "reset": [],
            }
        },
    ],
    "orchestrator.progress": [
        progress("file_surfer", "Open notes.txt and report the price of one widget."),
        progress("coder", "Compute 3 x 42 and print it.", new_facts=[PRICE]),
        progress("coder", "Add 20% tax to 126.", new_facts=[TOTAL], progress=False),
        progress("coder", "-", done=True),
    ],
    "orchestrator.final": [
        {"json": {"answer": "126 EUR", "evidence": ["3 x 42"], "confidence": "certain"}}
    ],
    "file_surfer": [
        {
            "tool_calls": [
                {"name": "done", "arguments": {"answer": "notes.txt line 2: widget, 42 EUR."}}
            ]
        }
    ],
    "coder": ["3 x 42 = 126, so three widgets cost 126 EUR."],
}


def render(request: ModelRequest, root: Path) -> str:
    """The request as text, with the run directory (its name has a date) as <run>."""
    lines = [f"purpose: {request.purpose}"]
    if isinstance(request.response_format, JsonSchemaFormat):
        lines.append(f"response_format: json_schema {request.response_format.name}")
    if request.tools:
        lines.append("tools: " + ", ".join(t.name for t in request.tools))
    for message in request.messages:
        images = f" +{len(message.images)} image(s)" if message.images else ""
        lines.append(f"=== {message.role}{images}")
        lines.append(message.content)
    return "\n".join(lines).replace(str(root), "<run>") + "\n"


async def test_every_purpose_matches_its_golden_prompt(
    tmp_path: Path, recorded_models: list[ScriptedModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    class FixedDate(dt.date):
        @classmethod
        def today(cls) -> FixedDate:
            return cls(TODAY.year, TODAY.month, TODAY.day)

    monkeypatch.setattr(session, "date", FixedDate)
    settings = Settings(
        team=["file_surfer", "coder"],
        limits=Limits(max_stalls=1, max_seconds=60),
        runs_dir=tmp_path,
    )
    config = session.new_config(
        "How much do three widgets cost? The price list is attached.",
        settings,
        scripted=ScriptedModelConfig.model_validate({"script": SCRIPT}),
        attachments=[Attachment(name="notes.txt", media_type="text/plain", size=27)],
    )
    store = session.start(config)
    (store.workspace / "notes.txt").write_text("Price list\nwidget: 42 EUR\n")
    result = await session.execute(store)
    assert result.answer == "126 EUR"
    assert result.replans == 1

    (model,) = recorded_models
    seen: dict[str, int] = {}
    rendered: dict[str, str] = {}
    for request in model.requests:
        seen[request.purpose] = seen.get(request.purpose, 0) + 1
        name = f"{request.purpose}-{seen[request.purpose]}"
        rendered[name] = render(request, store.root)
    wanted = {
        "orchestrator.facts-1": "facts",
        "orchestrator.plan-1": "plan",
        "orchestrator.progress-3": "progress",
        "orchestrator.facts-2": "revise_facts",
        "orchestrator.plan-2": "revise_plan",
        "orchestrator.final-1": "final",
        "file_surfer-1": "file_surfer_first",
        "coder-1": "coder_first",
    }
    # The web surfer's first message, for the same run's state (no browser needed).
    state = store.load_checkpoint()
    builder = ContextBuilder(
        rules=settings.context,
        orchestrator=Reader(Capabilities(context_tokens=8192), transcript.estimate(4.0)),
        today=TODAY.isoformat(),
    )
    notes = builder.notes(state, "web_surfer")
    opening = web_prompts.first_message("Find the widget's price online.", None, False, notes)
    system = web_prompts.system_prompt(6, True)
    rendered["web_surfer-1"] = render(
        ModelRequest("web_surfer", (Message.system(system), opening)), store.root
    )
    wanted["web_surfer-1"] = "web_surfer_first"
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    GOLDEN.mkdir(exist_ok=True)
    stale = []
    for key, name in wanted.items():
        path = GOLDEN / f"{name}.txt"
        if update:
            path.write_text(rendered[key])
        elif not path.is_file() or path.read_text() != rendered[key]:
            stale.append(name)
    assert not stale, (
        f"what the model sees changed for: {', '.join(stale)}; if intended, run "
        "UPDATE_GOLDEN=1 pytest tests/test_golden_prompts.py and review the diff"
    )
