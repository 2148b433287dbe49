"""A hand-edited scenario or config file with one mistake gets one clear error line,
`FILE:LINE:COL: field: message`, never a traceback.

Each file in `data/broken_scenarios/` and `data/broken_configs/` holds one mistake, described
by its first comment line. For each the exact location, field and message are spelled out
below, and checked three ways:

* in-process: the loader's error (`run_one(...).error`, `load_settings` raising) is that line;
* through the CLI: `orchestrator scenario run FILE`, `orchestrator run --config FILE "task"` and
  `orchestrator doctor --config FILE` exit non-zero without a traceback and show that error;
* through the CLI, on one line: the error is printed as exactly one line, which a person can
  copy and a CI log can grep.

The CLI commands all run once, concurrently, in a module fixture (about 3 s).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator import purposes
from orchestrator import team as team_registry
from orchestrator.config import Settings, load_settings
from orchestrator.errors import ConfigFileError
from orchestrator.events import EVENT_TYPES
from orchestrator.scenarios.runner import run_one
from orchestrator.scenarios.schema import Scenario

REPO = Path(__file__).parent.parent
SCENARIOS = Path("tests/data/broken_scenarios")  # relative to REPO, as a person types it
CONFIGS = Path("tests/data/broken_configs")
ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"
COLUMNS = 120
SCENARIO_PREFIX = "     - "  # how `scenario run` prints a scenario's failure
RUN_PREFIX = "error: "  # how the CLI prints an error that stops a command


@dataclass(frozen=True)
class Case:
    line: int | None
    col: int | None
    field: str | None  # None: no field applies (YAML syntax, duplicate key)
    message: str

    def error(self, path: Path) -> str:
        where = f"{path}:{self.line}:{self.col}" if self.line else str(path)
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


def fields(model: type[Scenario] | type[Settings]) -> str:
    return ", ".join(info.alias or name for name, info in model.model_fields.items())


ALIASES = "aliases here expand to more than 100,000 values; repeat less through anchors and aliases"
TOO_DEEP = "the data is nested too deeply (more than 64 levels); flatten it"
SAVE_UTF8 = "save it with UTF-8 encoding"
SPECIALISTS = sorted(team_registry.available())
REPLY_RULE = "a reply needs exactly one of text, json, tool_calls, error"
REPLY = "model.scripted.script.orchestrator.final"

SCENARIO_CASES = {
    "missing_task.yaml": Case(2, 1, "task", "required field missing"),
    "unknown_key.yaml": Case(
        8, 1, "expcet", f"unknown field; valid fields are: {fields(Scenario)}"
    ),
    "max_rounds_word.yaml": Case(
        5, 15, "limits.max_rounds", "Input should be a valid integer (got 'ten')"
    ),
    "negative_max_stalls.yaml": Case(
        4, 37, "limits.max_stalls", "Input should be greater than or equal to 1 (got -2)"
    ),
    "reply_text_and_json.yaml": Case(
        8, 11, f"{REPLY}[0]", f"{REPLY_RULE} (found: text, json) (got a mapping)"
    ),
    "reply_with_nothing.yaml": Case(
        9, 11, f"{REPLY}[1]", f"{REPLY_RULE} (found: none) (got a mapping)"
    ),
    "unknown_event_type.yaml": Case(
        9,
        23,
        "expect.events[1]",
        f"unknown event type 'final_answr'; known: {', '.join(sorted(EVENT_TYPES))} "
        "(got 'final_answr')",
    ),
    "bad_status.yaml": Case(
        9, 11, "expect.status", "Input should be 'solved', 'best_guess' or 'failed' (got 'done')"
    ),
    "team_is_string.yaml": Case(4, 7, "team", "Input should be a valid list (got 'user')"),
    "team_bracketed_string.yaml": Case(4, 7, "team", "Input should be a valid list (got '[user]')"),
    "missing_fixture.yaml": Case(
        10, 12, "fixtures.files[0].src", f"{SCENARIOS / 'no_such_report.pdf'} does not exist"
    ),
    "unknown_placeholder.yaml": Case(
        3, 7, "task", "unknown placeholder {{sites.nope}}; known: {{workspace}}"
    ),
    "duplicate_key.yaml": Case(
        8, 1, None, "duplicate key 'task' (first defined on line 3); remove one of them"
    ),
    "syntax_error.yaml": Case(
        5,
        6,
        None,
        "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence started "
        "on line 4); check the indentation, quotes and brackets here",
    ),
    "answer_two_matchers.yaml": Case(
        10,
        5,
        "expect.answer",
        "give exactly one of equals, contains, regex, one_of (got a mapping)",
    ),
    "unknown_purpose.yaml": Case(
        8,
        7,
        f"{REPLY.removesuffix('.orchestrator.final')}.orchestrator.progres",
        "unknown purpose 'orchestrator.progres'; did you mean 'orchestrator.progress'? known: "
        f"{', '.join(purposes.known())} (got 'orchestrator.progres')",
    ),
    # aliases, nesting, bytes
    "alias_bomb.yaml": Case(9, 7, None, ALIASES),
    "deep_nesting.yaml": Case(4, 71, None, TOO_DEEP),
    "very_deep_nesting.yaml": Case(4, 71, None, TOO_DEEP),
    "latin1_bytes.yaml": Case(
        None, None, None, "the file is not UTF-8 text (byte 0xe9 at offset 84); " + SAVE_UTF8
    ),
    "torn_multibyte.yaml": Case(
        None, None, None, "the file is not UTF-8 text (byte 0xc3 at offset 77); " + SAVE_UTF8
    ),
    "nul_byte.yaml": Case(3, 14, None, "control character 0x00 is not allowed in YAML; remove it"),
}

CONFIG_CASES = {
    "unknown_field.yaml": Case(
        2, 1, "modles", f"unknown field; valid fields are: {fields(Settings)}"
    ),
    "negative_timeout.yaml": Case(
        2, 51, "models.default.timeout", "Input should be greater than 0 (got -1)"
    ),
    "approvals_sometimes.yaml": Case(
        3, 12, "approvals", "Input should be 'never', 'risky' or 'always' (got 'sometimes')"
    ),
    "max_cost_word.yaml": Case(
        3, 24, "limits.max_cost_usd", "Input should be a valid number (got 'free')"
    ),
    "tab_indented.yaml": Case(
        3, 1, None, "tab character used for indentation; indent with spaces only"
    ),
    "team_bracketed_string.yaml": Case(3, 7, "team", "Input should be a valid list (got '[user]')"),
    "unknown_provider.yaml": Case(
        2,
        9,
        "models.default",
        "unknown provider 'opnai'; use one of azure, compatible, llamacpp, lmstudio, local, ollama, "
        "openai, openrouter, vllm",
    ),
    "unknown_specialist.yaml": Case(
        2, 14, "team[1]", "unknown specialist 'web_surfr'; available: " + ", ".join(SPECIALISTS)
    ),
    "alias_bomb.yaml": Case(8, 9, None, ALIASES),
    "deep_nesting.yaml": Case(3, 75, None, TOO_DEEP),
    "not_utf8.yaml": Case(
        None, None, None, "the file is not UTF-8 text (byte 0xff at offset 27); " + SAVE_UTF8
    ),
}


# --- parameters ------------------------------------------------------------------------------


def scenario_params() -> list[object]:
    return [pytest.param(name, id=name.removesuffix(".yaml")) for name in SCENARIO_CASES]


def config_params() -> list[object]:
    return [pytest.param(name, id=name.removesuffix(".yaml")) for name in CONFIG_CASES]


# --- the CLI, run once per file and command ------------------------------------------------------


@dataclass(frozen=True)
class CliRuns:
    runs_dir: Path
    results: dict[tuple[str, str], subprocess.CompletedProcess[str]]

    def __call__(self, command: str, name: str) -> subprocess.CompletedProcess[str]:
        return self.results[command, name]


def clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "OPENAI_API_KEY" and not k.startswith("ORCHESTRATOR_")
    }
    env.update(COLUMNS=str(COLUMNS), HOME=str(home))
    return env


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> CliRuns:
    base = tmp_path_factory.mktemp("broken")
    runs_dir = base / "runs"
    env = clean_env(base)
    commands: dict[tuple[str, str], list[str | Path]] = {}
    for name in SCENARIO_CASES:
        commands["scenario", name] = ["scenario", "run", SCENARIOS / name, "--runs-dir", runs_dir]
    for name in CONFIG_CASES:
        commands["run", name] = ["run", "--config", CONFIGS / name, "Find the capital of France"]
        commands["doctor", name] = ["doctor", "--config", CONFIGS / name]

    def run(args: list[str | Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # kills the child if it times out
            [str(ORCHESTRATOR), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {key: pool.submit(run, args) for key, args in commands.items()}
        results = {key: future.result() for key, future in futures.items()}
    return CliRuns(runs_dir, results)


def flat(text: str) -> str:
    """`text` without whitespace or table borders, to find an error however it was wrapped."""
    return "".join(text.replace("│", "").split())


def assert_no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr
    assert "Error:" not in done.stderr  # no uncaught exception text either


def test_every_broken_file_is_a_case_and_says_what_is_wrong() -> None:
    for folder, cases in ((SCENARIOS, SCENARIO_CASES), (CONFIGS, CONFIG_CASES)):
        files = sorted((REPO / folder).glob("*.yaml"))
        assert {path.name for path in files} == set(cases), folder
        for path in files:
            assert path.read_bytes().startswith(b"# "), f"{path} lacks its explaining comment"


# --- scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", scenario_params())
async def test_scenario_error_is_located(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    outcome = await run_one(SCENARIOS / name, tmp_path / "runs")
    assert not outcome.passed
    assert outcome.run_dir is None
    assert not (tmp_path / "runs").exists(), "a broken scenario created a run directory"
    assert outcome.error == SCENARIO_CASES[name].error(SCENARIOS / name)


@pytest.mark.parametrize("name", scenario_params())
def test_scenario_run_shows_the_located_error(name: str, cli: CliRuns) -> None:
    done = cli("scenario", name)
    assert done.returncode == 1
    assert_no_traceback(done)
    expected = SCENARIO_CASES[name].error(SCENARIOS / name)
    assert flat(expected) in flat(done.stdout)
    assert "0 passed, 1 failed" in done.stdout
    assert not cli.runs_dir.exists(), "a broken scenario created a run directory"


@pytest.mark.parametrize("name", scenario_params())
def test_scenario_run_prints_the_error_on_exactly_one_line(name: str, cli: CliRuns) -> None:
    done = cli("scenario", name)
    path = SCENARIOS / name
    naming = [line for line in done.stdout.splitlines() if f"{path}:" in line]
    assert naming == [SCENARIO_PREFIX + SCENARIO_CASES[name].error(path)]


# --- configs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_config_error_is_located(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    with pytest.raises(ConfigFileError) as info:
        load_settings(CONFIGS / name, {})
    assert str(info.value) == CONFIG_CASES[name].error(CONFIGS / name)


@pytest.mark.parametrize("name", config_params())
def test_run_with_a_broken_config_shows_the_located_error(name: str, cli: CliRuns) -> None:
    done = cli("run", name)
    assert done.returncode == 2
    assert_no_traceback(done)
    assert done.stdout == ""
    assert flat(RUN_PREFIX + CONFIG_CASES[name].error(CONFIGS / name)) == flat(done.stderr)


@pytest.mark.parametrize("name", config_params())
def test_run_with_a_broken_config_prints_one_line(name: str, cli: CliRuns) -> None:
    done = cli("run", name)
    assert done.stderr.splitlines() == [RUN_PREFIX + CONFIG_CASES[name].error(CONFIGS / name)]


def doctor_rows(output: str) -> dict[str, str]:
    """check name → its result text, wrapped lines joined."""
    rows: dict[str, str] = {}
    name = ""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if not line.startswith("│") or len(cells) != 3:
            continue
        name = cells[1] or name
        rows[name] = f"{rows.get(name, '')} {cells[2]}".strip()
    return rows


@pytest.mark.parametrize("name", config_params())
def test_doctor_with_a_broken_config_fails_the_config_check(name: str, cli: CliRuns) -> None:
    done = cli("doctor", name)
    assert done.returncode == 1
    assert_no_traceback(done)
    rows = doctor_rows(done.stdout)
    assert rows.get("config") == "failed: see below", done.stdout
    assert f"✗ config: {CONFIG_CASES[name].error(CONFIGS / name)}" in done.stdout.splitlines()
    assert "model" not in rows, "doctor went on to check models of a config it could not read"


@pytest.mark.parametrize("name", config_params())
def test_doctor_with_a_broken_config_prints_one_line(name: str, cli: CliRuns) -> None:
    done = cli("doctor", name)
    path = CONFIGS / name
    naming = [line for line in done.stdout.splitlines() if f"{path}:" in line]
    assert len(naming) == 1
    assert CONFIG_CASES[name].error(path) in naming[0]
