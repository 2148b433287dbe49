"""docs/scenarios.md is generated from the schema and kept up to date, and covers it all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from orchestrator import purposes
from orchestrator.events import EVENT_TYPES
from orchestrator.scenarios.reference import _models, render
from orchestrator.scenarios.schema import Scenario
from specialists.file_surfer import tools as file_tools
from specialists.mcp_tools.specialist import done_spec
from specialists.web_surfer.actions import ACTIONS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scenarios.md"


def test_the_checked_in_reference_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/scenarios.md is out of date: run python scripts/scenario_docs.py"
    )


def test_the_script_checks_and_says_how_to_fix(tmp_path: Path) -> None:
    check = [sys.executable, str(ROOT / "scripts" / "scenario_docs.py"), "--check"]
    done = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_the_reference_covers_every_field_purpose_tool_and_event() -> None:
    text = render()
    for model in _models(Scenario):
        assert f"### {model.__name__}\n" in text
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in text, (model.__name__, name)
    for purpose in purposes.built_in():
        assert f"| `{purpose}` |" in text
    for name in ACTIONS:
        assert f"#### `{name}`" in text
    for name in file_tools.TOOLS:
        assert f"#### `{name}`" in text
    for kind in EVENT_TYPES:
        assert f"| `{kind}` |" in text
    # the reply fields a scenario author needs, and when a replan consumes replies
    for needle in ("| `delay` |", "| `error` |", "| `port` |", "a second `orchestrator.facts`"):
        assert needle in text
    assert "<select>" not in text  # escaped, not taken for HTML


def test_done_takes_the_same_argument_everywhere() -> None:
    assert set(ACTIONS["done"].args.model_fields) == {"answer"}
    assert set(file_tools.TOOLS["done"][0].model_fields) == {"answer"}
    assert set(done_spec().parameters["properties"]) == {"answer"}
