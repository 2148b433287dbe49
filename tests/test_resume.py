"""The promise that work is never lost: a run stopped by `kill -9`, Ctrl-C or a cancelled
task resumes from its last completed round and ends exactly as if it had never stopped.

Every test drives `tests/data/resume/slow_run.yaml`: six rounds, each progress assessment
delayed 0.3 s, five scripted answers from the person. The run directory is created
programmatically (`build_config` + `session.start`) so the real `orchestrator resume`
command can run it as a subprocess, be killed, and be resumed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledgers import Entry, FinalStatus
from orchestrator import session
from orchestrator import team as team_registry
from orchestrator.events import Event, RoundStarted, event_type, parse_event
from orchestrator.scenarios.runner import build_config
from orchestrator.scenarios.schema import Scenario
from orchestrator.state import FinalResult, RunConfig, RunState
from orchestrator.store import ABANDONED, CHECKPOINT, EVENTS, RESULT, RunStore
from orchestrator.yamlfile import load_model
from specialists.base import ApprovalRequest, Reply, Specialist, StepContext, TeamEnv
from specialists.user import UserProxy

SLOW = Path(__file__).parent / "data" / "resume" / "slow_run.yaml"
ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"
HUMAN_REPLIES = load_model(SLOW, Scenario).human or []
PROGRESS = "orchestrator.progress"
FINAL = "orchestrator.final"
POLL = 0.01
INTERRUPTED = "The run stopped while"  # how the note on a step cut short begins


# --- helpers ------------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "OPENAI_API_KEY" and not k.startswith("ORCHESTRATOR_")
    }
    env["COLUMNS"] = "120"
    return env


def new_config(
    runs_dir: Path,
    *,
    delays: Mapping[tuple[str, int], float] | None = None,
    human: Mapping[str, Any] | None = None,
) -> RunConfig:
    """The slow scenario as a RunConfig; `delays` overrides the delay of a scripted reply,
    by (purpose, index); `human` replaces the scripted person."""
    config = build_config(SLOW, load_model(SLOW, Scenario), runs_dir, {})
    data = config.model_dump(by_alias=True)
    for (purpose, index), delay in (delays or {}).items():
        data["scripted"]["script"][purpose][index]["delay"] = delay
    if human is not None:
        data["human"] = dict(human)
    return RunConfig.model_validate(data)


def new_run(runs_dir: Path, **kwargs: Any) -> RunStore:
    return session.start(new_config(runs_dir, **kwargs), runs_dir)


def orchestrator_cmd(*args: str | Path) -> list[str]:
    return [str(ORCHESTRATOR), *map(str, args)]


def run_cli(*args: str | Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        orchestrator_cmd(*args),
        capture_output=True,
        text=True,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def start_cli(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        orchestrator_cmd(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Kill `proc` if it still runs, reap it and return its output."""
    if proc.poll() is None:
        proc.kill()
    out, err = proc.communicate(timeout=10)
    return out, err


def read_checkpoint(root: Path) -> dict[str, Any] | None:
    """The checkpoint as JSON; written atomically, so it must never be half a file."""
    try:
        text = (root / CHECKPOINT).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    data: dict[str, Any] = json.loads(text)
    return data


def wait_for_rounds(
    root: Path, rounds: int, proc: subprocess.Popen[str] | None = None, timeout: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the run exited (code {proc.returncode}) before round {rounds} completed")
        state = read_checkpoint(root)
        if state is not None and state["rounds"] >= rounds:
            return state
        time.sleep(POLL)
    pytest.fail(f"no checkpoint with {rounds} completed rounds after {timeout}s")


def log_lines(root: Path) -> list[str]:
    return (root / EVENTS).read_text(encoding="utf-8").splitlines(keepends=True)


def assert_log_intact(store: RunStore) -> list[Event]:
    """Every line of events.jsonl is a whole, valid event, and `events()` yields all of them."""
    lines = log_lines(store.root)
    assert lines, "events.jsonl is empty"
    parsed = []
    for number, line in enumerate(lines, 1):
        assert line.endswith("\n"), f"line {number} of events.jsonl is torn: {line!r}"
        parsed.append(parse_event(line))
    events = list(store.events())
    assert len(events) == len(lines), "RunStore.events() skipped some lines"
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)), f"event sequence numbers repeat or go back: {seqs}"
    return events


def types(events: list[Event]) -> list[str]:
    return [event_type(e) for e in events]


def human_replies(state: RunState) -> list[str]:
    return [e.text for e in state.transcript if e.speaker == "user" and e.kind == "reply"]


def interruption_notes(state: RunState) -> list[Entry]:
    return [e for e in state.transcript if e.kind == "note" and e.text.startswith(INTERRUPTED)]


def without_interruptions(state: RunState) -> list[Entry]:
    notes = interruption_notes(state)
    return [e for e in state.transcript if e not in notes]


def instructions(state: RunState) -> list[str]:
    return [e.text for e in state.transcript if e.kind == "instruction"]


@dataclass(frozen=True)
class Baseline:
    result: FinalResult
    state: RunState
    root: Path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """The same scenario run once, in-process and uninterrupted."""
    runs = tmp_path_factory.mktemp("baseline")
    store = new_run(runs)
    result = asyncio.run(session.execute(store))
    state = store.load_checkpoint()
    assert result.status is FinalStatus.SOLVED
    assert human_replies(state) == HUMAN_REPLIES
    assert "run_resumed" not in types(list(store.events()))
    return Baseline(result, state, store.root)


def assert_same_as_baseline(store: RunStore, baseline: Baseline) -> FinalResult:
    result = store.load_result()
    assert result is not None, "no result.json"
    assert result.status is FinalStatus.SOLVED
    assert result.answer == baseline.result.answer
    assert result.rounds == baseline.result.rounds == 6
    assert result.stalls == baseline.result.stalls == 0
    assert result.replans == baseline.result.replans == 0
    assert result.stop_reason == baseline.result.stop_reason
    state = store.load_checkpoint()
    # Nothing the person or the model said was skipped or said twice.
    assert human_replies(state) == HUMAN_REPLIES
    assert instructions(state) == instructions(baseline.state)
    # A step cut short is told to the orchestrator as a note; nothing else differs.
    assert [(e.round, e.speaker, e.kind) for e in without_interruptions(state)] == [
        (e.round, e.speaker, e.kind) for e in baseline.state.transcript
    ]
    assert state.human_cursor == len(HUMAN_REPLIES)
    assert state.model_cursors == baseline.state.model_cursors
    return result


# --- kill -9 ------------------------------------------------------------------------------


def test_kill_9_then_resume_ends_like_an_uninterrupted_run(
    tmp_path: Path, baseline: Baseline
) -> None:
    store = new_run(tmp_path)
    proc = start_cli("resume", store.root, "--quiet")
    try:
        at_kill = wait_for_rounds(store.root, 2, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        stop(proc)
    assert proc.returncode == -signal.SIGKILL
    assert not (store.root / RESULT).exists(), "the run finished before it was killed"
    killed_after = store.load_checkpoint().rounds
    assert killed_after >= at_kill["rounds"] >= 2
    assert killed_after < 6

    done = run_cli("resume", store.root, "--quiet")

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert baseline.result.answer in done.stdout
    assert_same_as_baseline(store, baseline)
    events = assert_log_intact(store)
    resumed = [e for e in events if event_type(e) == "run_resumed"]
    assert len(resumed) == 1
    assert getattr(resumed[0], "from_round", None) == killed_after
    assert types(events).count("run_started") == 1
    assert types(events).count("run_finished") == 1


# --- Ctrl-C -------------------------------------------------------------------------------


def test_ctrl_c_exits_130_logs_the_interrupt_and_resume_finishes(
    tmp_path: Path, baseline: Baseline
) -> None:
    store = new_run(tmp_path)
    proc = start_cli("resume", store.root, "--quiet")
    try:
        wait_for_rounds(store.root, 2, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        stop(proc)

    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "orchestrator resume" in err
    assert str(store.root) in "".join(err.split()), "the message does not name the run directory"
    assert not (store.root / RESULT).exists()
    events = assert_log_intact(store)
    assert types(events)[-1] == "run_interrupted"
    interrupted_after = store.load_checkpoint().rounds
    assert 2 <= interrupted_after < 6

    done = run_cli("resume", store.root, "--quiet")

    assert done.returncode == 0, done.stderr
    assert_same_as_baseline(store, baseline)
    events = assert_log_intact(store)
    assert types(events).count("run_interrupted") == 1
    assert types(events).count("run_resumed") == 1


def test_ctrl_c_while_the_person_is_asked_at_a_terminal_exits_130(tmp_path: Path) -> None:
    """Regression: with input() in a worker thread, Ctrl-C at the prompt aborted the
    interpreter ('Fatal Python error: _enter_buffered_busy', SIGABRT) instead of exiting 130."""
    pty = pytest.importorskip("pty")
    store = new_run(tmp_path, human={"mode": "none", "replies": []})  # a terminal answers
    master, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            orchestrator_cmd("resume", store.root, "--quiet"),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        try:
            deadline = time.monotonic() + 10
            while "delegated" not in types(list(store.events())):
                assert time.monotonic() < deadline, "the person was never asked"
                assert proc.poll() is None, "the run ended before asking the person"
                time.sleep(POLL)
            time.sleep(0.2)  # the question is on the terminal, input() is waiting
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
        finally:
            stop(proc)
    finally:
        os.close(master)
        os.close(terminal)
    assert "orchestrator resume" in err
    assert "Fatal Python error" not in err
    assert proc.returncode == 130
    assert types(assert_log_intact(store))[-1] == "run_interrupted"
    assert store.load_checkpoint().rounds == 0


# --- in-process cancellation ----------------------------------------------------------------


class Recorder:
    """An event subscriber that wakes the test when a given round starts."""

    def __init__(self, round: int) -> None:
        self.round = round
        self.reached = asyncio.Event()
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, RoundStarted) and event.round == self.round:
            self.reached.set()


def assert_stopped_after_round_2(store: RunStore) -> None:
    assert not (store.root / RESULT).exists()
    state = store.load_checkpoint()
    assert state.rounds == 2
    assert state.human_cursor == 2
    assert state.model_cursors[PROGRESS] == 2
    assert human_replies(state) == HUMAN_REPLIES[:2]
    assert [(e.round, e.kind) for e in state.transcript] == [
        (1, "instruction"),
        (1, "reply"),
        (2, "instruction"),
        (2, "reply"),
    ]
    events = assert_log_intact(store)
    assert types(events)[-1] == "run_interrupted"


async def wait_for_phase(root: Path, phase: str, seconds: float = 10) -> None:
    for _ in range(int(seconds / POLL)):  # polls a file: nothing to await but time
        state = read_checkpoint(root)
        if state is not None and state["phase"] == phase:
            return
        await asyncio.sleep(POLL)
    pytest.fail(f"the checkpoint never reached phase {phase!r} in {seconds}s")


async def test_cancel_during_a_model_call_is_prompt_and_the_run_resumes(
    tmp_path: Path, baseline: Baseline
) -> None:
    delay = 1.5  # round 3's progress assessment takes this long
    store = new_run(tmp_path, delays={(PROGRESS, 2): delay})
    recorder = Recorder(round=3)
    task = asyncio.create_task(session.execute(store, subscribers=[recorder]))
    try:
        await asyncio.wait_for(recorder.reached.wait(), timeout=10)
        await asyncio.sleep(0.1)  # now inside the delayed scripted reply
        assert not task.done()
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        took = time.monotonic() - cancelled_at
    finally:
        task.cancel()
    assert took < 0.5, f"cancellation took {took:.2f}s; the scripted call had {delay}s left"
    assert_stopped_after_round_2(store)

    result = await session.execute(store)

    assert result == store.load_result()
    assert_same_as_baseline(store, baseline)
    events = assert_log_intact(store)
    resumed = [e for e in events if event_type(e) == "run_resumed"]
    assert [getattr(e, "from_round", None) for e in resumed] == [2]


async def test_cancel_during_the_final_answer_resumes_in_the_finishing_phase(
    tmp_path: Path, baseline: Baseline
) -> None:
    delay = 1.5  # the final answer takes this long
    store = new_run(tmp_path, delays={(FINAL, 0): delay})
    task = asyncio.create_task(session.execute(store))
    try:
        await wait_for_phase(store.root, "finishing")
        await asyncio.sleep(0.1)  # now inside the delayed final answer
        assert not task.done()
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        took = time.monotonic() - cancelled_at
    finally:
        task.cancel()
    assert took < 0.5, f"cancellation took {took:.2f}s; the scripted call had {delay}s left"
    assert not (store.root / RESULT).exists()
    state = store.load_checkpoint()
    assert (state.phase, state.rounds, state.result) == ("finishing", 6, None)
    assert state.stop is not None
    assert state.stop.reason == baseline.result.stop_reason
    assert types(assert_log_intact(store))[-1] == "run_interrupted"

    result = await session.execute(store)

    assert result == store.load_result()
    assert_same_as_baseline(store, baseline)
    events = assert_log_intact(store)
    assert types(events).count("round_started") == 6, "a finished round was run again"
    assert types(events).count("final_answer") == 1


class StuckUser:
    """The `user` specialist, but its round-3 step hangs while `stuck` is set."""

    stuck = True
    hang_seconds = 30.0

    def __init__(self, env: TeamEnv) -> None:
        self._inner = UserProxy(env)
        self.name = self._inner.name
        self.description = self._inner.description

    async def step(self, instruction: str, context: StepContext) -> Reply:
        if StuckUser.stuck and context.round == 3:
            await asyncio.sleep(self.hang_seconds)
        return await self._inner.step(instruction, context)

    async def reset(self) -> None:
        await self._inner.reset()

    async def close(self) -> None:
        await self._inner.close()


def stuck_user(env: TeamEnv) -> Specialist:
    return StuckUser(env)


@pytest.fixture
def stuck_team(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[StuckUser]]:
    monkeypatch.setattr(team_registry, "available", lambda: {"user": lambda: stuck_user})
    StuckUser.stuck = True
    yield StuckUser
    StuckUser.stuck = True


async def test_timeout_during_a_specialist_step_is_prompt_and_the_run_resumes(
    tmp_path: Path, baseline: Baseline, stuck_team: type[StuckUser]
) -> None:
    store = new_run(tmp_path)
    timeout = 2.0  # round 3 starts about 1 s in, then its step hangs for 30 s
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(session.execute(store), timeout=timeout)
    took = time.monotonic() - started
    assert took < timeout + 0.5, f"wait_for returned after {took:.2f}s, timeout {timeout}s"
    assert_stopped_after_round_2(store)
    events = list(store.events())
    in_flight = [e for e in events if event_type(e) == "delegated" and e.round == 3]
    assert in_flight, "the timeout did not hit the round-3 step"
    assert not [e for e in events if event_type(e) == "replied" and e.round == 3]

    stuck_team.stuck = False
    result = await session.execute(store)

    assert result.status is FinalStatus.SOLVED
    assert_same_as_baseline(store, baseline)
    events = assert_log_intact(store)
    # The orchestrator was told that the round-3 step had been under way ...
    (note,) = interruption_notes(store.load_checkpoint())
    assert in_flight[0].instruction in note.text
    assert "No approved action had been carried out in it." in note.text
    told = [e for e in events if event_type(e) == "delegation_interrupted"]
    assert [(e.speaker, e.instruction, e.finished) for e in told] == [
        ("user", in_flight[0].instruction, False)
    ]
    # ... and round 3 is in the log once: the cut attempt was set aside, not kept.
    assert [e.round for e in events if event_type(e) == "round_started"] == [1, 2, 3, 4, 5, 6]
    aside = [parse_event(line) for line in (store.root / ABANDONED).read_bytes().splitlines()]
    cut = [event_type(e) for e in aside if e.round == 3]
    assert cut[0] == "round_started"
    assert {"model_called", "delegated"} <= set(cut)


# --- a torn event line ---------------------------------------------------------------------


async def interrupt_after_round(store: RunStore, rounds: int) -> None:
    recorder = Recorder(round=rounds + 1)
    task = asyncio.create_task(session.execute(store, subscribers=[recorder]))
    try:
        await asyncio.wait_for(recorder.reached.wait(), timeout=10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_torn_last_event_line_is_cut_on_resume(tmp_path: Path, baseline: Baseline) -> None:
    store = new_run(tmp_path)
    await interrupt_after_round(store, 2)
    intact = (store.root / EVENTS).read_bytes()
    torn = b'{"schema_version":1,"run_id":"torn","seq":424242,"type":"replied","speaker":"us'
    with (store.root / EVENTS).open("ab") as handle:
        handle.write(torn)
    assert len(list(store.events())) == len(intact.splitlines()), "reading skips a torn tail"
    committed = store.load_checkpoint().log_length

    done = await asyncio.to_thread(run_cli, "resume", store.root, "--quiet")

    assert done.returncode == 0, done.stderr
    log = (store.root / EVENTS).read_bytes()
    assert committed is not None
    assert 0 < committed < len(intact)
    assert log.startswith(intact[:committed]), "events the checkpoint commits were changed"
    assert torn not in log, "the torn fragment is still there"
    assert b"424242" not in log
    # The cut round 3 went aside whole (the torn fragment is not an event: dropped).
    aside = (store.root / ABANDONED).read_bytes()
    interrupted = intact.splitlines(keepends=True)[-1]
    assert aside + interrupted == intact[committed:]
    assert interrupted in log  # how the run was interrupted stays in its log
    events = assert_log_intact(store)
    assert types(events).count("run_resumed") == 1
    assert_same_as_baseline(store, baseline)


# --- resume: finished runs and wrong directories ---------------------------------------------


def test_resuming_a_finished_run_says_so_and_changes_nothing(baseline: Baseline) -> None:
    root = baseline.root
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}

    done = run_cli("resume", root)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "already finished" in done.stdout
    assert "solved" in done.stdout
    assert baseline.result.answer in " ".join(done.stdout.split())
    after = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    assert after == before, "resuming a finished run rewrote its files"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(Path.mkdir, "not a run directory (it has no config.json)", id="empty-dir"),
        pytest.param(
            None,
            "no such run directory, nor a run with this id under runs (see `orchestrator runs`)",
            id="missing",
        ),
    ],
)
def test_resuming_a_non_run_directory_is_a_one_line_error(
    tmp_path: Path, make: Any, message: str
) -> None:
    if make is not None:
        make(tmp_path / "not-a-run")
    done = subprocess.run(
        orchestrator_cmd("resume", "not-a-run"),
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [f"error: not-a-run: {message}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == (["not-a-run"] if make else [])


# --- old checkpoints ----------------------------------------------------------------------


async def test_a_version_1_run_resumes_to_the_same_end(tmp_path: Path, baseline: Baseline) -> None:
    """A run interrupted after round 2 by the version that wrote schema 1 (checked in under
    tests/data/old_runs/) resumes with this version and ends like an uninterrupted run."""
    old = Path(__file__).parent / "data" / "old_runs" / "v1-after-round-2"
    root = tmp_path / old.name
    shutil.copytree(old, root)
    store = RunStore.open(root)
    assert json.loads((root / "checkpoint.json").read_text())["schema_version"] == 1
    await session.execute(store)
    assert_same_as_baseline(store, baseline)
    assert json.loads((root / "checkpoint.json").read_text())["schema_version"] == 2
    events = assert_log_intact(store)
    assert types(events).count("run_resumed") == 1


class ApprovingStuckUser(StuckUser):
    """Its round-3 step has an action approved (by policy: not risky), then hangs."""

    async def step(self, instruction: str, context: StepContext) -> Reply:
        if StuckUser.stuck and context.round == 3:
            request = ApprovalRequest("user", "submit form", "order #7", risky=False)
            assert await context.approve(request)
            await asyncio.sleep(self.hang_seconds)
        return await self._inner.step(instruction, context)


async def test_a_resume_after_a_cut_step_names_the_actions_approved_in_it(
    tmp_path: Path, baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(team_registry, "available", lambda: {"user": lambda: ApprovingStuckUser})
    StuckUser.stuck = True
    store = new_run(tmp_path)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(session.execute(store), timeout=2.0)
    granted = [e for e in store.events() if event_type(e) == "approval_decided"]
    assert [(e.round, e.action) for e in granted] == [(3, "submit form")]

    StuckUser.stuck = False
    try:
        result = await session.execute(store)
    finally:
        StuckUser.stuck = True

    assert result.status is FinalStatus.SOLVED
    (note,) = interruption_notes(store.load_checkpoint())
    assert "Actions approved and possibly carried out in it: submit form." in note.text
    (told,) = [e for e in store.events() if event_type(e) == "delegation_interrupted"]
    assert told.granted == ["submit form"]  # type: ignore[attr-defined]
    # The grant itself went aside with the cut round: the log holds round 3 once.
    assert not [e for e in store.events() if event_type(e) == "approval_decided"]
    assert_same_as_baseline(store, baseline)
