"""Task attachments and images: what a vision orchestrator is shown, and that a text-only
model never gets an image — through the real CLI over HTTP, and through real sessions."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.fake_openai import FakeOpenAI
from support.specialists import INSTANCES, tiny_png
from test_real_model_run import CLI, clean_env, ledger, reply

from ledgers import Limits
from orchestrator import session
from orchestrator import team as team_registry
from orchestrator.config import ScriptedModelConfig, Settings
from orchestrator.events import Replied
from orchestrator.models.scripted import ScriptedModel
from orchestrator.store import RunStore, list_runs


def config(tmp_path: Path, base_url: str, vision: bool) -> Path:
    path = tmp_path / "orchestrator.yaml"
    path.write_text(
        "models:\n  default:\n    model: compatible:fake-model\n"
        f"    base_url: {base_url}\n"
        f"    capabilities: {{structured_output: true, vision: {str(vision).lower()}}}\n"
        "team: [user]\nlimits: {max_rounds: 3, max_seconds: 60}\n"
    )
    return path


def run_cli(
    tmp_path: Path, base_url: str, vision: bool, *attach: Path
) -> subprocess.CompletedProcess[str]:
    args = [
        CLI,
        "run",
        "What does the chart show?",
        "--config",
        str(config(tmp_path, base_url, vision)),
    ]
    for path in attach:
        args += ["--attach", str(path)]
    args += ["--runs-dir", str(tmp_path / "runs"), "--quiet"]
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


SCRIPT = [
    reply({"given": ["a chart"], "to_look_up": [], "to_derive": [], "guesses": []}),
    reply({"needs_plan": True, "steps": [{"owner": "user", "action": "ask", "details": ""}]}),
    reply(ledger(True, "none")),
    reply({"answer": "a red square", "evidence": ["the image"], "confidence": "certain"}),
]


def image_parts(request_json: dict[str, Any]) -> list[dict[str, Any]]:
    parts = []
    for message in request_json["messages"]:
        if isinstance(message["content"], list):
            parts += [p for p in message["content"] if p["type"] == "image_url"]
    return parts


@pytest.mark.parametrize("vision", [True, False])
def test_attached_files_reach_the_workspace_and_the_prompts(tmp_path: Path, vision: bool) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(tiny_png())
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with FakeOpenAI() as server:
        server.reply(*SCRIPT)
        done = run_cli(tmp_path, server.base_url, vision, chart, notes)
        requests = [r.json for r in server.requests]
    assert done.returncode == 0, done.stderr
    (run_dir,) = list_runs(tmp_path / "runs")
    workspace = RunStore(run_dir).workspace
    assert (workspace / "chart.png").read_bytes() == chart.read_bytes()
    assert (workspace / "notes.txt").read_text() == "hello"
    facts = requests[0]["messages"][1]
    text = facts["content"] if isinstance(facts["content"], str) else facts["content"][0]["text"]
    assert f"- chart.png (image/png, {chart.stat().st_size:,} bytes)" in text
    assert "- notes.txt (text/plain, 5 bytes)" in text
    if vision:  # every orchestrator prompt shows the attached image
        assert all(len(image_parts(r)) == 1 for r in requests)
        assert image_parts(requests[0])[0]["image_url"]["url"].startswith("data:image/png;base64,")
    else:  # a text-only model never gets an image
        assert not any(image_parts(r) for r in requests)


def test_a_missing_attachment_is_one_line_and_creates_no_run(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "http://127.0.0.1:9/v1", False, tmp_path / "nope.png")
    assert done.returncode != 0
    assert "attachment" in done.stderr
    assert "nope.png" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not list_runs(tmp_path / "runs")


@pytest.mark.parametrize("vision", [True, False])
async def test_a_vision_orchestrator_sees_the_latest_screenshot(
    tmp_path: Path,
    vision: bool,
    recorded_models: list[ScriptedModel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(team_registry.BUILTIN, "snapper", "support.specialists:create_snapper")
    INSTANCES.clear()

    def progress(done: bool) -> dict[str, Any]:
        return {
            "json": {
                **ledger(done, "look at the page"),
                "next_speaker": {"reason": "r", "answer": "snapper"},
            }
        }

    script = {
        "orchestrator.facts": [
            {"json": {"given": [], "to_look_up": [], "to_derive": [], "guesses": []}}
        ],
        "orchestrator.plan": [{"json": {"steps": [{"owner": "snapper", "action": "look"}]}}],
        "orchestrator.progress": [progress(False), progress(True)],
        "orchestrator.final": [
            {"json": {"answer": "red", "evidence": [], "confidence": "certain"}}
        ],
    }
    scripted = ScriptedModelConfig.model_validate(
        {"script": script, "capabilities": {"vision": vision}}
    )
    settings = Settings(team=["snapper"], limits=Limits(max_seconds=30), runs_dir=tmp_path)
    store = session.start(
        session.new_config("What colour is the page?", settings, scripted=scripted)
    )
    await session.execute(store)
    (reply_event,) = [e for e in store.events() if isinstance(e, Replied)]
    assert reply_event.screenshot == "screenshots/round-001-snapper.png"
    assert (store.root / reply_event.screenshot).read_bytes() == tiny_png()
    (model,) = recorded_models
    second = [r for r in model.requests if r.purpose == "orchestrator.progress"][1]
    final = next(r for r in model.requests if r.purpose == "orchestrator.final")
    images = [len(m.images) for m in (*second.messages, *final.messages)]
    assert sum(images) == (2 if vision else 0)
