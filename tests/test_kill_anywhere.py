"""`kill -9` at random moments, again and again, then resume: the run always finishes,
no committed round is lost and no round is in `events.jsonl` twice.

One long scripted run (100 rounds, each assessment 80 ms, the person answers every
round) is executed by the real `orchestrator resume` in a subprocess and killed with
SIGKILL at a seeded random moment after it has written something new, at least
`KILLS` times; then it is resumed to its end and compared with the same run done in one go.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from ledgers import FinalStatus
from orchestrator import session
from orchestrator.events import event_type
from orchestrator.scenarios.runner import build_config
from orchestrator.scenarios.schema import Scenario
from orchestrator.state import RunState
from orchestrator.store import ABANDONED, CHECKPOINT, EVENTS, RESULT, RunStore
from orchestrator.yamlfile import load_model

pytestmark = pytest.mark.slow

ROUNDS = 100
KILLS = 50
SEED = 20261207
ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"


def judgement(answer: bool, reason: str) -> dict[str, Any]:
    return {"reason": reason, "answer": answer}


def scenario(rounds: int) -> dict[str, Any]:
    progress = [
        {
            "delay": 0.08,
            "json": {
                "request_satisfied": judgement(False, f"{i - 1} answers so far."),
                "in_loop": judgement(False, "Each question is new."),
                "progress_made": judgement(True, "One more answer."),
                "next_speaker": {"reason": "Only the person knows.", "answer": "user"},
                "instruction": {"reason": "Next.", "answer": f"question-{i}: what is item {i}?"},
            },
        }
        for i in range(1, rounds)
    ]
    progress.append(
        {
            "delay": 0.08,
            "json": {
                "request_satisfied": judgement(True, "Every item is known."),
                "in_loop": judgement(False, "No."),
                "progress_made": judgement(True, "Done."),
                "next_speaker": {"reason": "Done.", "answer": "user"},
                "instruction": {"reason": "Done.", "answer": "Nothing."},
            },
        }
    )
    return {
        "name": "killed anywhere",
        "task": f"Collect {rounds - 1} items from the person, one per question.",
        "team": ["user"],
        "limits": {"max_rounds": rounds + 10, "max_stalls": 3, "max_replans": 1},
        "human": [f"reply-{i}: item {i} is {i * 7}." for i in range(1, rounds)],
        "model": {
            "scripted": {
                "script": {
                    "orchestrator.facts": [
                        {"json": {"given": ["Items."], "to_look_up": [], "to_derive": []}}
                    ],
                    "orchestrator.plan": [
                        {"json": {"steps": [{"owner": "user", "action": "Ask for each item."}]}}
                    ],
                    "orchestrator.progress": progress,
                    "orchestrator.final": [
                        {
                            "json": {
                                "answer": "all items",
                                "evidence": ["asked"],
                                "confidence": "certain",
                            }
                        }
                    ],
                }
            }
        },
    }


def new_run(tmp_path: Path, name: str) -> RunStore:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(scenario(ROUNDS)), encoding="utf-8")
    config = build_config(path, load_model(path, Scenario), tmp_path / name, {})
    return session.start(config, tmp_path / name)


def committed_rounds(root: Path) -> int:
    """The checkpoint's rounds; it is replaced atomically, so it never reads as half."""
    try:
        text = (root / CHECKPOINT).read_text(encoding="utf-8")
    except FileNotFoundError:
        return -1
    rounds: int = json.loads(text)["rounds"]
    return rounds


def resume(root: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "OTEL_"))}
    return subprocess.Popen(
        [str(ORCHESTRATOR), "resume", str(root), "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def person(state: RunState) -> list[str]:
    """What the person said, in order: nothing skipped, nothing twice."""
    return [e.text for e in state.transcript if e.speaker == "user" and e.kind == "reply"]


def log_size(root: Path) -> int:
    try:
        return (root / EVENTS).stat().st_size
    except FileNotFoundError:
        return 0


def test_fifty_random_kills_lose_no_committed_round_and_repeat_none(tmp_path: Path) -> None:
    reference_store = new_run(tmp_path, "reference")
    reference = asyncio.run(session.execute(reference_store))
    assert reference.status is FinalStatus.SOLVED

    store = new_run(tmp_path, "killed")
    chance = random.Random(SEED)
    kills, high_water = 0, -1
    while kills < KILLS:
        before = log_size(store.root)
        proc = resume(store.root)
        deadline = time.monotonic() + 30
        while log_size(store.root) == before and proc.poll() is None:
            assert time.monotonic() < deadline, "the resumed run wrote nothing"
            time.sleep(0.002)
        time.sleep(chance.uniform(0, 0.15))  # anywhere: an assessment, a write, a commit
        if proc.poll() is not None:
            break  # it finished before this kill: fewer kills, asserted below
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        kills += 1
        rounds = committed_rounds(store.root)
        assert rounds >= high_water, f"kill {kills}: the checkpoint went back to round {rounds}"
        high_water = rounds
    assert kills == KILLS, f"the run finished after {kills} kills; make it longer"
    assert not (store.root / RESULT).exists()

    done = resume(store.root)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()

    result = store.load_result()
    assert result is not None
    assert (result.status, result.answer, result.rounds, result.stalls, result.replans) == (
        reference.status,
        reference.answer,
        reference.rounds,
        0,
        0,
    )
    state = store.load_checkpoint()
    assert person(state) == person(reference_store.load_checkpoint())

    lines = (store.root / EVENTS).read_bytes().splitlines(keepends=True)
    events = list(store.events())
    assert len(events) == len(lines), "a line of events.jsonl is torn or invalid"
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)), "event numbers repeat or go back"
    assert [e.round for e in events if event_type(e) == "round_started"] == list(
        range(1, ROUNDS + 1)
    ), "a round is in the log twice, or missing"
    kinds = [event_type(e) for e in events]
    assert kinds.count("run_started") == 1
    assert kinds.count("run_finished") == 1
    assert kinds.count("final_answer") == 1
    # What the cut attempts did is kept aside, not lost.
    assert (store.root / ABANDONED).stat().st_size > 0
