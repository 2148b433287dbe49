"""The real `orchestrator` console script, run as a subprocess the way a person runs it.

Each command runs with a clean environment (no OPENAI_API_KEY, no ORCHESTRATOR_* variables,
HOME pointing into tmp_path) and cwd = tmp_path, so no stray config file is found, and
COLUMNS=120 so the output is laid out as on a common terminal.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator import session
from orchestrator.events import Delegated, Replied
from orchestrator.models.factory import NO_MODEL_ADVICE
from orchestrator.scenarios.runner import build_config, run_one
from orchestrator.scenarios.schema import Scenario
from orchestrator.store import RESULT, RunStore, list_runs
from orchestrator.yamlfile import load_model

REPO = Path(__file__).parent.parent
DEMO = REPO / "scenarios" / "demo.yaml"
SLOW = Path(__file__).parent / "data" / "resume" / "slow_run.yaml"
ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"
DEMO_COMMAND = "orchestrator demo"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "OPENAI_API_KEY" and not k.startswith("ORCHESTRATOR_")
    }
    env.update(COLUMNS="120", HOME=str(home), **extra)
    return env


def cli(cwd: Path, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    home = cwd / ".home"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [str(ORCHESTRATOR), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(home, **env),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def flat(text: str) -> str:
    """`text` without whitespace or table borders, to find words that rich wrapped."""
    return "".join(text.replace("│", "").replace("┃", "").split())


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr


def entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name != ".home")


# --- `run` fails early and clearly ------------------------------------------------------------


def test_run_without_a_model_gives_advice_and_creates_nothing(tmp_path: Path) -> None:
    done = cli(tmp_path, "run", "Find the capital of France")
    assert done.returncode == 2
    no_traceback(done)
    assert done.stderr.startswith("error: no model is configured")
    assert "ORCHESTRATOR_MODEL" in done.stderr
    assert DEMO_COMMAND in done.stderr.splitlines()[-1]
    assert flat(NO_MODEL_ADVICE) in flat(done.stderr)
    assert entries(tmp_path) == [], "a run directory was created"


def test_run_with_an_openai_model_but_no_key_names_the_variable(tmp_path: Path) -> None:
    done = cli(tmp_path, "run", "Find the capital of France", ORCHESTRATOR_MODEL="openai:gpt-4o")
    assert done.returncode == 2
    no_traceback(done)
    assert done.stderr.startswith("error: ")
    assert "OPENAI_API_KEY" in done.stderr
    assert entries(tmp_path) == []


def test_run_with_an_unknown_specialist_lists_the_available_ones(tmp_path: Path) -> None:
    done = cli(
        tmp_path,
        "run",
        "--team",
        "nosuch",
        "Find the capital of France",
        ORCHESTRATOR_MODEL="ollama:qwen2.5",
    )
    assert done.returncode == 2
    no_traceback(done)
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: unknown specialist(s): nosuch; available: ")
    assert "user" in first.partition("available: ")[2].split(", ")
    assert entries(tmp_path) == []


# --- `runs` and `show` ------------------------------------------------------------------------


@dataclass(frozen=True)
class Runs:
    root: Path
    finished: list[Path]
    interrupted: Path
    not_started: Path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Two finished demo runs, one interrupted after planning, one never started."""
    root = tmp_path_factory.mktemp("cli") / "runs"

    async def make() -> Runs:
        finished = []
        for _ in range(2):
            outcome = await run_one(DEMO, root)
            assert outcome.passed, outcome.failures
            assert outcome.run_dir is not None
            finished.append(outcome.run_dir)
        scenario = load_model(SLOW, Scenario)
        interrupted = session.start(build_config(SLOW, scenario, root, {}), root)
        with pytest.raises(TimeoutError):  # planning is instant, each round takes 0.3 s
            await asyncio.wait_for(session.execute(interrupted), timeout=0.45)
        assert interrupted.has_checkpoint()
        not_started = session.start(build_config(SLOW, scenario, root, {}), root)
        return Runs(root, finished, interrupted.root, not_started.root)

    return asyncio.run(make())


def table_rows(output: str) -> list[list[str]]:
    """The body rows of a rich table, each cell's wrapped lines joined."""
    rows: list[list[str]] = []
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0]:
            rows.append(cells)
        else:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
    return rows


def test_runs_lists_every_run_newest_first_with_its_status(tmp_path: Path, runs: Runs) -> None:
    done = cli(tmp_path, "runs", "--runs-dir", runs.root)
    assert done.returncode == 0, done.stderr
    no_traceback(done)
    rows = [line.split(maxsplit=6) for line in done.stdout.splitlines()[2:]]
    paths = list_runs(runs.root)
    assert len(rows) == len(paths) == 4
    for row, path in zip(rows, paths, strict=True):
        run, status, stop, rounds, tokens, cost, _task = row
        assert run == path.name, f"row {row} is not {path.name}"
        if path in runs.finished:
            result = RunStore(path).load_result()
            assert result is not None
            assert (status, stop, rounds) == ("solved", "satisfied", str(result.rounds))
            assert (tokens, cost) == (f"{result.tokens:,}", f"${result.cost_usd:.4f}")
        elif path == runs.interrupted:
            assert (status, stop, rounds) == ("interrupted", "-", "-")
        else:
            assert path == runs.not_started
            assert (status, stop, rounds) == ("not-started", "-", "-")


def test_runs_shows_each_run_id_whole(tmp_path: Path, runs: Runs) -> None:
    done = cli(tmp_path, "runs", "--runs-dir", runs.root)
    assert done.returncode == 0
    for path in list_runs(runs.root):
        assert path.name in done.stdout.split(), f"{path.name} is not shown whole"


def test_show_prints_facts_plan_every_round_and_the_answer(tmp_path: Path, runs: Runs) -> None:
    run_dir = runs.finished[0]
    store = RunStore(run_dir)
    events = list(store.events())
    result = store.load_result()
    assert result is not None

    done = cli(tmp_path, "show", run_dir)

    assert done.returncode == 0, done.stderr
    no_traceback(done)
    out = done.stdout
    assert "Task · run " + run_dir.name in out
    assert "─ Facts ─" in out
    assert "- The person asking knows where the team is." in out  # a fact
    assert "─ Plan ─" in out
    assert "1. [user] Ask where each team member is located." in out  # a plan step
    for n in range(1, result.rounds + 1):
        assert f" Round {n} · " in out
    delegated = [e for e in events if isinstance(e, Delegated)]
    replied = [e for e in events if isinstance(e, Replied)]
    assert len(delegated) == len(replied) == 3  # rounds 1, 2 and 4; 3 replans, 5 ends
    lines = out.splitlines()
    for event in delegated:
        assert f"orchestrator → {event.speaker}: {event.instruction}" in lines
    for event in replied:
        assert f"{event.speaker} replied" in out
        assert event.text in out
    assert "Replan #1" in out
    assert f"Final answer · {result.status.value} · stop: {result.stop_reason.value}" in out
    assert result.answer == "Europe/Berlin"
    assert f"│ {result.answer} " in out
    assert "has not finished" not in out


def test_show_on_an_unfinished_run_says_how_to_resume(tmp_path: Path, runs: Runs) -> None:
    assert not (runs.interrupted / RESULT).exists()
    done = cli(tmp_path, "show", runs.interrupted)
    assert done.returncode == 0, done.stderr
    no_traceback(done)
    assert "─ Plan ─" in done.stdout  # what happened so far is shown
    assert "This run has not finished." in done.stdout
    assert flat(f"orchestrator resume {runs.interrupted}") in flat(done.stdout)


def test_show_on_a_non_run_directory_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    done = cli(tmp_path, "show", "elsewhere")
    assert done.returncode == 2
    no_traceback(done)
    assert done.stderr.splitlines() == [
        "error: elsewhere: not a run directory (it has no config.json)"
    ]


# --- help and doctor --------------------------------------------------------------------------

COMMANDS = [
    [],
    ["run"],
    ["resume"],
    ["runs"],
    ["show"],
    ["scenario"],
    ["scenario", "run"],
    ["doctor"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "orchestrator")
def test_help_exits_0(tmp_path: Path, command: list[str]) -> None:
    done = cli(tmp_path, *command, "--help")
    assert done.returncode == 0, done.stderr
    no_traceback(done)
    assert "Usage:" in done.stdout
    assert "--help" in done.stdout


def test_main_help_lists_every_command(tmp_path: Path) -> None:
    done = cli(tmp_path, "--help")
    assert done.returncode == 0
    for name in ("run", "resume", "runs", "show", "scenario", "doctor"):
        assert f"│ {name} " in done.stdout


def test_doctor_without_a_model_fails_the_model_check_with_advice(tmp_path: Path) -> None:
    done = cli(tmp_path, "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    no_traceback(done)
    rows = {row[1]: row for row in table_rows(done.stdout)}
    assert rows["config"][0] == "✓"
    assert rows["model"][0] == "✗"
    assert rows["model"][2] == "failed: see below"
    below = done.stdout[done.stdout.index("✗ model:") :]
    assert flat(NO_MODEL_ADVICE) in flat(below)
    assert "ORCHESTRATOR_MODEL" in below
    assert DEMO_COMMAND in done.stdout
