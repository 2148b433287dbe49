"""Every shipped scenario passes, plus what their `expect:` sections cannot say.

`test_shipped_scenario` runs every `*.yaml` under `scenarios/` (recursively, so scenarios
added later are covered too) and fails with the runner's own failure lines. The focused
tests below re-run single scenarios and read their events for behaviour the scenario
schema cannot express (reason texts, fed-back errors, waits, timing). The CLI tests check
that a failing expectation makes `orchestrator scenario run` fail loudly, in JUnit too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import pytest

from ledgers import FinalStatus, StopReason
from orchestrator.events import (
    Delegated,
    Event,
    FinalAnswer,
    LedgerUnusable,
    LimitReached,
    ModelCalled,
    ModelFailed,
    ModelRetry,
    OutputInvalid,
    ProgressAssessed,
    Replanned,
    Replied,
    RoundStarted,
    StallDetected,
    event_type,
)
from orchestrator.models.scripted import ScriptedModel
from orchestrator.scenarios.runner import Outcome, run_one
from orchestrator.scenarios.schema import Scenario, ScriptedChoice
from orchestrator.store import RunStore
from orchestrator.yamlfile import load_model

E = TypeVar("E", bound=Event)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
CORE = SCENARIOS / "core"
FAILING = Path(__file__).resolve().parent / "data" / "scenarios" / "failing_expectation.yaml"

SAME_INSTRUCTION = "the same instruction was already given to user"
CODE_EVIDENCE = [
    SAME_INSTRUCTION,
    "user returned an observation identical to an earlier one",
    "user's reply repeats an earlier one word for word",
]


def _shipped() -> list[Path]:
    return sorted(p for p in SCENARIOS.rglob("*.yaml") if p.is_file())


def _explain(outcome: Outcome) -> str:
    lines = [f"{outcome.path} ({outcome.name}) failed:"]
    lines += [f"  - {failure}" for failure in outcome.failures]
    if outcome.run_dir is not None:
        lines.append(f"  run directory: {outcome.run_dir}")
    return "\n".join(lines)


def of(events: Sequence[Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


async def _run(name: str, runs_dir: Path) -> tuple[Outcome, list[Event]]:
    """Run scenarios/core/<name>.yaml, which must pass; return it and its events."""
    outcome = await run_one(CORE / f"{name}.yaml", runs_dir)
    assert outcome.passed, _explain(outcome)
    assert outcome.run_dir is not None
    assert outcome.result is not None
    return outcome, list(RunStore(outcome.run_dir).events())


# --- every shipped scenario ---------------------------------------------------------------


def test_the_core_scenarios_are_shipped() -> None:
    names = {p.stem for p in CORE.glob("*.yaml")}
    assert {
        "plain_success",
        "stall_replan_success",
        "loop_detected",
        "max_rounds_best_guess",
        "unparsable_ledger_recovered",
        "unparsable_ledger_stall",
        "unknown_speaker_recovered",
        "provider_429_then_success",
        "wall_clock_timeout",
        "user_clarifying_question",
    } <= names
    assert SCENARIOS / "demo.yaml" in _shipped()


@pytest.mark.parametrize("path", _shipped(), ids=lambda p: p.relative_to(SCENARIOS).as_posix())
async def test_shipped_scenario(path: Path, tmp_path: Path) -> None:
    scenario = load_model(path, Scenario)  # a broken file fails here, with file:line
    if not isinstance(scenario.model, ScriptedChoice):
        models = ", ".join(f"{r}={s.model}" for r, s in scenario.model.models.items())
        pytest.skip(f"needs a real model ({models}); only scripted scenarios run offline")
    outcome = await run_one(path, tmp_path)
    assert outcome.passed, _explain(outcome)


# --- what expect: cannot express -----------------------------------------------------------


async def test_plain_success_happens_in_order(tmp_path: Path) -> None:
    _, events = await _run("plain_success", tmp_path)
    wanted = {"facts_gathered", "plan_made", "delegated", "replied", "final_answer"}
    order = [event_type(e) for e in events if event_type(e) in wanted]
    assert order == ["facts_gathered", "plan_made", "delegated", "replied", "final_answer"]


async def test_stall_replan_stalls_come_from_the_model_and_the_replan_changes_course(
    tmp_path: Path,
) -> None:
    _, events = await _run("stall_replan_success", tmp_path)
    stalls = of(events, StallDetected)
    assert [s.count for s in stalls] == [1, 2]
    assert stalls[0].reasons == [
        "the orchestrator saw no progress: "
        "The person did not give the reference, so nothing new towards the answer."
    ]
    assert any(
        r.startswith("the orchestrator judged the team to be in a loop") for r in stalls[1].reasons
    )
    (replanned,) = of(events, Replanned)
    assert replanned.revision == 1
    assert any("assistant made the booking" in fact for fact in replanned.facts.given)
    assert "inbox" in replanned.plan.steps[0].action
    after = [d for d in of(events, Delegated) if d.seq > replanned.seq]
    assert len(after) == 1
    assert "inbox" in after[0].instruction


async def test_loop_is_detected_by_code_evidence_alone(tmp_path: Path) -> None:
    outcome, events = await _run("loop_detected", tmp_path)
    # The model never saw a loop and always saw progress ...
    ledgers = [e.ledger for e in of(events, ProgressAssessed)]
    assert len(ledgers) == 8
    assert all(not ledger.in_loop.answer and ledger.progress_made.answer for ledger in ledgers)
    # ... so every stall reason is the code's evidence, and only that: the repeated
    # instruction counts once the person's reply has come back word for word.
    stalls = of(events, StallDetected)
    assert [s.count for s in stalls] == [1, 2, 1, 2]
    assert [s.round for s in stalls] == [3, 4, 7, 8]
    assert all(s.reasons == CODE_EVIDENCE for s in stalls)
    (replanned,) = of(events, Replanned)
    assert replanned.reason == "; ".join(CODE_EVIDENCE)
    assert replanned.round == 4
    (limit,) = of(events, LimitReached)
    assert limit.reason is StopReason.MAX_REPLANS
    assert SAME_INSTRUCTION in limit.detail
    (final,) = of(events, FinalAnswer)
    assert final.status is FinalStatus.BEST_GUESS
    assert final.stop_reason is StopReason.MAX_REPLANS
    assert outcome.result is not None
    assert outcome.result.answer == "ThinkPad X1 Carbon"


async def test_max_rounds_stops_before_a_fourth_round(tmp_path: Path) -> None:
    _outcome, events = await _run("max_rounds_best_guess", tmp_path)
    assert [e.round for e in of(events, RoundStarted)] == [1, 2, 3]
    (limit,) = of(events, LimitReached)
    assert limit.reason is StopReason.MAX_ROUNDS
    assert limit.detail == "reached the limit of 3 rounds"
    (final,) = of(events, FinalAnswer)
    assert final.seq > limit.seq
    # The draft said "certain", but a run stopped by a limit is at best a best guess.
    assert final.status is FinalStatus.BEST_GUESS


async def test_unparsable_ledger_errors_are_fed_back_and_recovered(tmp_path: Path) -> None:
    _, events = await _run("unparsable_ledger_recovered", tmp_path)
    invalid = of(events, OutputInvalid)
    assert [(e.round, e.purpose, e.attempt, e.error) for e in invalid] == [
        (1, "orchestrator.progress", 1, "the reply contains no JSON object"),
        (2, "orchestrator.progress", 1, "instruction: Field required"),
    ]
    assessed = of(events, ProgressAssessed)
    for bad in invalid:  # each bad reply is followed by a good ledger in the same round
        assert any(a.round == bad.round and a.seq > bad.seq for a in assessed)


async def test_unusable_ledger_counts_as_a_stall(tmp_path: Path) -> None:
    _, events = await _run("unparsable_ledger_stall", tmp_path)
    invalid = of(events, OutputInvalid)
    assert [(e.round, e.attempt) for e in invalid] == [(1, 1), (1, 2), (1, 3)]
    (unusable,) = of(events, LedgerUnusable)
    assert unusable.round == 1
    assert unusable.error == invalid[-1].error
    assert "progress_made" in unusable.error
    (stall,) = of(events, StallDetected)
    assert stall.round == 1
    assert stall.count == 1
    assert stall.reasons == [f"no usable progress ledger: {unusable.error}"]
    assert [d.round for d in of(events, Delegated)] == [2]  # nobody was asked in round 1


async def test_unknown_speaker_error_lists_the_team_and_is_fed_back(
    tmp_path: Path, recorded_models: list[ScriptedModel]
) -> None:
    _, events = await _run("unknown_speaker_recovered", tmp_path)
    errors = {e.purpose: e.error for e in of(events, OutputInvalid)}
    assert errors == {
        "orchestrator.plan": "unknown step owner(s) 'websurfer'; the team is: user",
        "orchestrator.progress": "unknown speaker 'websurfer'; the team is: user",
    }
    assert {d.speaker for d in of(events, Delegated)} == {"user"}
    # The retry request carries the rejected reply and the error, listing the team.
    (model,) = recorded_models
    for purpose, error in errors.items():
        retry = [r for r in model.requests if r.purpose == purpose][1]
        rejected, feedback = retry.messages[-2], retry.messages[-1]
        assert rejected.role == "assistant"
        assert "websurfer" in rejected.content
        assert feedback.role == "user"
        assert feedback.content.startswith(f"That reply could not be used: {error}")


async def test_provider_retries_honour_retry_after(tmp_path: Path) -> None:
    _, events = await _run("provider_429_then_success", tmp_path)
    retries = of(events, ModelRetry)
    assert [(r.purpose, r.error[:3], r.attempt) for r in retries] == [
        ("orchestrator.facts", "429", 1),
        ("orchestrator.progress", "500", 1),
        ("orchestrator.final", "429", 1),
    ]
    assert not of(events, ModelFailed)
    called = of(events, ModelCalled)
    for retry in retries:
        following = next(c for c in called if c.seq > retry.seq and c.purpose == retry.purpose)
        waited = following.ts - retry.ts
        if retry.error.startswith("429"):
            assert retry.wait_seconds == 0.05  # exactly the scripted Retry-After
            assert waited >= 0.045, f"{retry.purpose}: retried after {waited:.3f}s"
        else:  # 5xx: exponential backoff with jitter, base 0.05 s for scripted models
            assert 0.025 <= retry.wait_seconds <= 0.05
            assert waited >= retry.wait_seconds - 0.005


async def test_wall_clock_timeout_interrupts_the_call_and_still_answers(tmp_path: Path) -> None:
    outcome, events = await _run("wall_clock_timeout", tmp_path)
    result = outcome.result
    assert result is not None
    assert outcome.run_dir is not None
    assert result.status is FinalStatus.BEST_GUESS
    assert result.stop_reason is StopReason.TIMEOUT
    # Round 2 started (so the limit was not hit at a round boundary) but its ledger never
    # arrived: the deadline cancelled the model call mid-flight.
    assert [e.round for e in of(events, RoundStarted)] == [1, 2]
    assert [e.round for e in of(events, ProgressAssessed)] == [1]
    (limit,) = of(events, LimitReached)
    assert limit.reason is StopReason.TIMEOUT
    assert limit.round == 2
    # ... and that call's reply was taken off the script (nothing left over).
    state = RunStore(outcome.run_dir).load_checkpoint()
    assert state.model_cursors["orchestrator.progress"] == 2
    # The final answer is synthesised after the limit, outside the run's deadline.
    (final,) = of(events, FinalAnswer)
    assert final.seq > limit.seq
    assert final.status is FinalStatus.BEST_GUESS
    assert "Thai" in final.answer
    assert 1.0 <= result.seconds < 3.0
    assert outcome.seconds < 3.0


async def test_clarifying_question_decides_the_answer(tmp_path: Path) -> None:
    outcome, events = await _run("user_clarifying_question", tmp_path)
    (question,) = of(events, Delegated)
    assert question.speaker == "user"
    assert question.instruction.endswith("?")
    assert "United States" in question.instruction
    assert "Canada" in question.instruction
    (reply,) = of(events, Replied)
    assert reply.text.startswith("Canada")
    (final,) = of(events, FinalAnswer)
    assert final.seq > reply.seq
    assert outcome.result is not None
    assert "November" not in outcome.result.answer  # not the US date


# --- the command line ------------------------------------------------------------------------


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # `python -m orchestrator.cli` would import the module and exit 0 without running
    # anything (cli.py has no `if __name__ == "__main__"` block): use the console script.
    exe = shutil.which("orchestrator", path=str(Path(sys.executable).parent))
    assert exe is not None, f"no `orchestrator` console script next to {sys.executable}"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [exe, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_fails_on_a_failing_expectation(tmp_path: Path) -> None:
    done = _cli("scenario", "run", FAILING, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "FAIL failing expectation (deliberate)" in done.stdout, output
    assert "answer 'Lisbon' does not match {'equals': 'Porto'}" in done.stdout, output
    assert "replans was 0, expected at least 1" in done.stdout, output
    assert "0 passed, 1 failed" in done.stdout, output


def test_cli_junit_report_has_one_case_per_scenario(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "scenarios.xml"
    passing = CORE / "plain_success.yaml"
    done = _cli(
        "scenario",
        "run",
        passing,
        FAILING,
        "--runs-dir",
        tmp_path / "runs",
        "--junit",
        report,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PASS plain success" in done.stdout
    assert "FAIL failing expectation" in done.stdout
    suite = ET.parse(report).getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = {case.get("file"): case for case in suite.iter("testcase")}
    assert set(cases) == {str(passing), str(FAILING)}
    assert cases[str(passing)].find("failure") is None
    failure = cases[str(FAILING)].find("failure")
    assert failure is not None
    assert failure.get("message") == "answer 'Lisbon' does not match {'equals': 'Porto'}"
    assert failure.text is not None
    assert "replans was 0, expected at least 1" in failure.text
