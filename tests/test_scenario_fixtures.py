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


INDEXED = """\
name: an indexed folder
task: Find the lighthouse page.
team: [user]
fixtures:
  indexes: {pages: pages}
specialists:
  web_surfer: {search: {provider: local, index: "{{indexes.%s}}"}}
model:
  scripted:
    script:
      orchestrator.facts: [{json: {given: [], to_look_up: [], to_derive: [], guesses: []}}]
      orchestrator.plan: [{json: {needs_plan: false, steps: []}}]
      orchestrator.final: [{json: {answer: "x", evidence: [], confidence: certain}}]
expect: {status: solved}
"""


async def test_an_indexed_folder_is_built_into_the_run_and_named_in_the_settings(
    tmp_path: Path,
) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.html").write_text("<title>Lighthouse</title><p>The keeper.</p>")
    path = tmp_path / "scenario.yaml"
    path.write_text(INDEXED % "pages")
    outcome = await run_one(path, tmp_path / "runs")
    assert outcome.passed, outcome.failures
    assert outcome.run_dir is not None
    index = outcome.run_dir / "indexes" / "pages.sqlite"
    config = RunStore(outcome.run_dir).load_config()
    assert config.settings.specialists["web_surfer"]["search"]["index"] == str(index.resolve())
    from specialists.web_surfer.search.local_index import indexed_folder

    assert indexed_folder(index) == (tmp_path / "pages").resolve()


async def test_an_unknown_index_placeholder_or_folder_is_named_with_its_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "pages").mkdir()
    path = tmp_path / "scenario.yaml"
    path.write_text(INDEXED % "pagez")
    outcome = await run_one(path, tmp_path / "runs")
    assert outcome.error is not None
    assert outcome.error.startswith(f"{path}:7:")
    assert "unknown placeholder {{indexes.pagez}}; known: {{indexes.pages}}" in outcome.error
    (tmp_path / "pages").rmdir()
    outcome = await run_one(path, tmp_path / "runs")
    assert outcome.error is not None
    assert outcome.error.startswith(f"{path}:5:")
    assert "fixtures.indexes.pages" in outcome.error
    assert "is not a folder" in outcome.error
