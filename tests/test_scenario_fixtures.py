"""Scenario fixtures: sites served on 127.0.0.1 for the run, files copied into the workspace."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from orchestrator import team as team_registry
from orchestrator.events import Replied
from orchestrator.scenarios.runner import run_one
from orchestrator.store import RunStore

SCENARIO = Path(__file__).parent / "data/scenarios/site_fixture/scenario.yaml"


@pytest.fixture(autouse=True)
def _fetcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(team_registry.BUILTIN, "fetcher", "support.specialists:create_fetcher")


async def test_sites_are_served_and_files_copied(tmp_path: Path) -> None:
    outcome = await run_one(SCENARIO, tmp_path)
    assert outcome.passed, outcome.failures
    assert outcome.run_dir is not None
    store = RunStore(outcome.run_dir)
    (reply,) = [e for e in store.events() if isinstance(e, Replied)]
    assert (
        "The library opens at 09:30." in reply.text
    )  # fetched over real HTTP from the fixture site
    assert reply.evidence["url"].startswith("http://127.0.0.1:")
    config = store.load_config()
    assert config.task.startswith("When does the library open? Its site is http://127.0.0.1:")
    assert "{{" not in config.model_dump_json()
    assert (store.workspace / "inbox/notes.txt").read_text() == "notes for the run\n"
    # the site is gone after the run
    port = config.sites["library"].port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
