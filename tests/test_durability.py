"""`durability`: when a run's directory is fsynced, counted on real runs and a real store.

The run is the scripted six-round run of the resume tests; `os.fsync` is wrapped (it
still syncs) so each test can count the calls and see what was synced when.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from orchestrator import session
from orchestrator.config import Settings
from orchestrator.errors import OrchestratorError
from orchestrator.events import ApprovalDecided, RoundStarted
from orchestrator.scenarios.runner import build_config
from orchestrator.scenarios.schema import Scenario
from orchestrator.state import RunConfig
from orchestrator.store import CHECKPOINT, RunStore
from orchestrator.yamlfile import load_model

SLOW = Path(__file__).parent / "data" / "resume" / "slow_run.yaml"


class Fsyncs:
    """Every fsync while installed, as the path it synced."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        real = os.fsync

        def counted(fd: int) -> None:
            self.paths.append(os.readlink(f"/proc/self/fd/{fd}"))
            real(fd)

        monkeypatch.setattr(os, "fsync", counted)

    def of(self, name: str) -> int:
        return sum(1 for p in self.paths if Path(p).name == name)


def fast_run(tmp_path: Path, durability: str) -> tuple[RunStore, RunConfig]:
    config = build_config(SLOW, load_model(SLOW, Scenario), tmp_path, {})
    data = config.model_dump(by_alias=True)
    data["settings"]["durability"] = durability
    for reply in data["scripted"]["script"]["orchestrator.progress"]:
        reply["delay"] = 0.0
    config = RunConfig.model_validate(data)
    return session.start(config, tmp_path), config


def test_round_durability_syncs_log_and_checkpoint_together_at_most_once_a_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = fast_run(tmp_path, "round")
    synced: list[str] = []
    real_sync = RunStore.sync

    def sync(self: RunStore) -> None:
        real_sync(self)
        synced.append((self.root / CHECKPOINT).read_text())

    monkeypatch.setattr(RunStore, "sync", sync)
    fsyncs = Fsyncs(monkeypatch)
    result = asyncio.run(session.execute(store))

    commits = 1 + result.rounds + 2  # the plan, each round, finishing and done
    assert 1 <= len(synced) <= commits
    # The log and the checkpoint go to disk together, never one event at a time.
    assert fsyncs.of("events.jsonl") == len(synced)
    assert fsyncs.of(CHECKPOINT) == len(synced)
    # What the run ends with is on disk when it returns: the last sync saw the last commit.
    assert synced[-1] == (store.root / CHECKPOINT).read_text()


def test_event_durability_syncs_every_event_and_every_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = fast_run(tmp_path, "event")
    fsyncs = Fsyncs(monkeypatch)
    asyncio.run(session.execute(store))
    events = len(list(store.events()))
    assert fsyncs.of("events.jsonl") == events
    checkpoint_writes = sum(1 for p in fsyncs.paths if Path(p).name.startswith(".checkpoint"))
    assert checkpoint_writes == sum(1 for e in store.events() if e.type == "checkpoint_saved")


def test_none_durability_never_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, _ = fast_run(tmp_path, "none")
    fsyncs = Fsyncs(monkeypatch)
    result = asyncio.run(session.execute(store))
    assert result.rounds == 6
    assert fsyncs.paths == []
    assert store.load_checkpoint().result == result  # still written, atomically


@pytest.mark.parametrize(("mode", "syncs"), [("round", 1), ("event", 2), ("none", 0)])
def test_a_granted_action_is_on_disk_before_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, syncs: int
) -> None:
    store, _ = fast_run(tmp_path, mode)
    fsyncs = Fsyncs(monkeypatch)
    store.append_event(RoundStarted())
    store.append_event(
        ApprovalDecided(specialist="coder", action="run code", approved=True, decided_by="human")
    )
    assert fsyncs.of("events.jsonl") == syncs
    store.close()


def test_an_unknown_durability_is_refused_with_the_choices(tmp_path: Path) -> None:
    from orchestrator.config import load_settings

    path = tmp_path / "orchestrator.yaml"
    path.write_text("team: [user]\ndurability: weekly\n")
    with pytest.raises(OrchestratorError) as refused:
        load_settings(path, {})
    message = str(refused.value)
    assert f"{path}:2" in message
    assert "durability" in message
    for choice in ("'round'", "'event'", "'none'"):
        assert choice in message
    assert Settings().durability == "round"
