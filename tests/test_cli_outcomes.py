"""What `orchestrator run`/`resume`/`show`/`runs` tell a person and a script, through the real
console script: exit codes per outcome, `-q` output, one-line errors instead of tracebacks,
a run directory that cannot be written, a run that is already running, a torn log.

Scripted runs are created in-process (a scenario's config, not executed) and then executed by
`orchestrator resume RUN`, which takes the same path as `run` once its directory exists.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator import session
from orchestrator.events import event_type
from orchestrator.scenarios.runner import build_config
from orchestrator.scenarios.schema import Scenario
from orchestrator.store import CHECKPOINT, EVENTS, RESULT, RunStore
from orchestrator.yamlfile import load_model

ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"

FACTS = "{json: {given: [g], to_look_up: [], to_derive: [], guesses: []}}"
PLAN = "{json: {steps: [{owner: user, action: ask}]}}"


def progress(done: bool, delay: float = 0.0, question: str = "Which city?") -> str:
    return (
        f"{{delay: {delay}, json: {{request_satisfied: {{reason: r, answer: {str(done).lower()}}}, "
        "in_loop: {reason: r, answer: false}, progress_made: {reason: r, answer: true}, "
        f"next_speaker: {{reason: r, answer: user}}, instruction: {{reason: r, answer: {question!r}}}}}}}"
    )


def final(answer: str, confidence: str) -> str:
    return f"{{json: {{answer: {answer!r}, evidence: [e], confidence: {confidence}}}}}"


def scenario_text(script: dict[str, list[str]], task: str = "Which city?") -> str:
    questions = sum(
        "request_satisfied: {reason: r, answer: false}" in r
        for r in script.get("orchestrator.progress", [])
    )
    lines = [
        f"name: {task}",
        f"task: {task!r}",
        "team: [user]",
        "limits: {max_rounds: 8}",
        f"human: [{', '.join(f'Berlin {n}' for n in range(questions))}]",
        "model:",
        "  scripted:",
        "    script:",
    ]
    lines += [f"      {purpose}: [{', '.join(replies)}]" for purpose, replies in script.items()]
    return "\n".join(lines) + "\n"


SOLVED = {
    "orchestrator.facts": [FACTS],
    "orchestrator.plan": [PLAN],
    "orchestrator.progress": [progress(False), progress(True)],
    "orchestrator.final": [final("Berlin", "certain")],
}
BEST_GUESS = {**SOLVED, "orchestrator.final": [final("Berlin", "best_guess")]}
MODEL_DOWN = {"orchestrator.facts": ["{error: {kind: bad_request, message: invalid api key}}"]}
SLOW = {
    **SOLVED,
    "orchestrator.progress": [progress(False, 0.4, f"Question {n}?") for n in range(5)]
    + [progress(True)],
}


def new_run(tmp_path: Path, script: dict[str, list[str]]) -> Path:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario_text(script))
    scenario = load_model(path, Scenario)
    runs = tmp_path / "runs"
    return session.start(build_config(path, scenario, runs, {}), runs).root


def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / ".home"
    home.mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "OPENAI_"))}
    return {**clean, "COLUMNS": "120", "HOME": str(home)}


def cli(tmp_path: Path, *args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ORCHESTRATOR), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env(tmp_path),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def start(tmp_path: Path, *args: str | Path, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    """The CLI as a subprocess; `sigint_ignored`: as a shell starts a background job."""
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    return subprocess.Popen(
        [str(ORCHESTRATOR), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env(tmp_path),
        stdin=subprocess.DEVNULL,
        preexec_fn=ignore,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    return lines[0]


def types(run: Path) -> list[str]:
    return [event_type(e) for e in RunStore(run).events()]


def wait_for(run: Path, kind: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while kind not in types(run):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no {kind} event"
        time.sleep(0.05)


# --- 1, 2: exit codes and what -q prints ----------------------------------------------------


@pytest.mark.parametrize(
    ("script", "code", "stderr"),
    [
        (SOLVED, 0, ""),
        (BEST_GUESS, 3, "best_guess (stop: satisfied): r"),  # r: the ledger's reason
        (MODEL_DOWN, 4, "failed (stop: model_unavailable): "),
    ],
    ids=["solved", "best_guess", "failed"],
)
def test_quiet_run_exits_with_its_outcome_and_prints_answer_or_reason(
    tmp_path: Path, script: dict[str, list[str]], code: int, stderr: str
) -> None:
    run = new_run(tmp_path, script)
    done = cli(tmp_path, "resume", run, "-q")
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout.splitlines()
    assert out[-1] == f"run directory: {run}"
    if script is MODEL_DOWN:
        assert out == [f"run directory: {run}"], "an empty answer printed as an empty line"
        assert done.stderr.startswith(stderr)
        assert "invalid api key" in done.stderr  # the provider's reason, not only the code
    else:
        assert out[0] == "Berlin"
        assert done.stderr.strip() == stderr


def test_resuming_a_finished_run_exits_with_its_outcome(tmp_path: Path) -> None:
    run = new_run(tmp_path, BEST_GUESS)
    assert cli(tmp_path, "resume", run, "-q").returncode == 3
    again = cli(tmp_path, "resume", run)
    assert again.returncode == 3
    assert "already finished (best_guess): Berlin" in again.stdout


def test_exit_codes_are_documented() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for line in ("| 0 | solved", "| 3 | best guess", "| 4 | failed", "| 2 | bad input"):
        assert line in readme


# --- 26: bad input gets one line, never a traceback or a run directory ------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", ",,", "task"], "error: --team ',,': name at least one specialist"),
        (["--max-rounds", "-5", "task"], "error: --max-rounds: Input should be greater than"),
        (["--max-seconds", "0", "task"], "error: --max-seconds: Input should be greater than 0"),
        (["  "], "error: the task is empty; say in plain words what you want done"),
    ],
    ids=["empty-team", "negative-rounds", "zero-seconds", "empty-task"],
)
def test_run_rejects_bad_flags_in_one_line_and_creates_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = cli(tmp_path, "run", "--runs-dir", tmp_path / "runs", *args)
    assert done.returncode == 2
    assert one_line_error(done).startswith(message)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("where", ["a-file/runs", "/proc/runs", "/proc/self/no/runs"])
def test_a_runs_dir_that_cannot_be_created_is_one_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    config = tmp_path / "orchestrator.yaml"
    config.write_text("models: ollama:qwen2.5\nteam: [user]\n")
    done = cli(tmp_path, "run", "--runs-dir", where, "task")
    assert done.returncode == 2
    line = one_line_error(done)
    assert line.startswith(f"error: {where}: cannot create a run directory here (")
    assert line.endswith("choose another with --runs-dir or runs_dir in the config")


def test_a_base_url_that_is_not_a_url_is_a_located_config_error(tmp_path: Path) -> None:
    config = tmp_path / "orchestrator.yaml"
    config.write_text("models:\n  default: {model: 'ollama:q', base_url: not a url}\n")
    done = cli(tmp_path, "run", "task")
    assert done.returncode == 2
    assert one_line_error(done) == (
        "error: orchestrator.yaml:2:42: models.default.base_url: must be an http:// or "
        "https:// URL, e.g. http://localhost:11434/v1 (got 'not a url')"
    )


CORRUPT = {
    "result-cut": (
        RESULT,
        b'{"schema_version": 1, "status": ',
        "corrupt, not valid JSON (Expecting",
    ),
    "result-list": (RESULT, b"[]", "corrupt, expected a JSON object, found a list"),
    "result-bytes": (RESULT, b'{"answer": "\xff"}', "corrupt, not UTF-8 text"),
    "result-dir": (RESULT, None, "unreadable (Is a directory)"),
    "checkpoint-list": (CHECKPOINT, b"[]", "corrupt, expected a JSON object, found a list"),
    "checkpoint-deep": (CHECKPOINT, b"[" * 100_000, "corrupt, JSON nested too deeply"),
    "checkpoint-dir": (CHECKPOINT, None, "unreadable (Is a directory)"),
}


@pytest.mark.parametrize(
    ("command", "name", "content", "problem"),
    [
        pytest.param(command, *case, id=f"{command}-{key}")
        for key, case in CORRUPT.items()
        for command in ("show", "resume")
        if command == "resume" or case[0] == RESULT  # show does not read the checkpoint
    ],
)
def test_a_corrupt_run_file_is_one_line_naming_it(
    tmp_path: Path, command: str, name: str, content: bytes | None, problem: str
) -> None:
    run = new_run(tmp_path, SOLVED)
    if content is None:
        (run / name).mkdir()
    else:
        (run / name).write_bytes(content)
    done = cli(tmp_path, command, run)
    assert done.returncode == 2
    line = one_line_error(done)
    assert line.startswith(f"error: {run / name}: {problem}"), line
    assert not (run / RESULT).is_file() or name == RESULT


# --- 25: a run directory that cannot be written -------------------------------------------------


def test_a_full_disk_stops_the_run_with_a_named_reason_and_resume_finishes(
    tmp_path: Path,
) -> None:
    run = new_run(tmp_path, SOLVED)
    (run / EVENTS).symlink_to("/dev/full")  # every write: ENOSPC
    done = cli(tmp_path, "resume", run, "-q")
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line_error(done)
    assert line.startswith(f"error: {run / EVENTS}: cannot write (no space left on the disk)")
    assert line.endswith(f"then continue with: orchestrator resume {run}")
    assert not (run / RESULT).exists(), "the run went on without its log"

    (run / EVENTS).unlink()  # space is back
    again = cli(tmp_path, "resume", run, "-q")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "Berlin"


def test_a_file_size_limit_at_the_end_still_prints_the_answer(tmp_path: Path) -> None:
    run = new_run(tmp_path, SOLVED)
    assert cli(tmp_path, "resume", run, "-q").returncode == 0
    size = (run / EVENTS).stat().st_size
    fresh = new_run(tmp_path / "again", SOLVED)
    # Enough for most of the log but not its last lines (the final answer and after).
    limit = size - 300

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = cli(tmp_path, "resume", fresh, "-q", preexec_fn=cap)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.splitlines()[0] == "Berlin", "the answer was lost"
    assert "cannot write (file size limit reached)" in done.stderr
    assert f"orchestrator resume {fresh}" in done.stderr


# --- 21: one process per run ----------------------------------------------------------------


def test_a_second_resume_of_a_running_run_is_refused_naming_the_holder(tmp_path: Path) -> None:
    run = new_run(tmp_path, SLOW)
    first = start(tmp_path, "resume", run, "-q")
    try:
        wait_for(run, "round_started", first)
        second = cli(tmp_path, "resume", run, "-q")
        assert second.returncode == 2
        line = one_line_error(second)
        assert line.startswith(f"error: {run}: this run is in use by pid {first.pid} on ")
        assert "(orchestrator resume " in line
        _, err = first.communicate(timeout=30)
    finally:
        first.kill()
    assert first.returncode == 0, err
    assert types(run).count("run_finished") == 1
    seqs = [e.seq for e in RunStore(run).events()]
    assert seqs == sorted(set(seqs)), "two processes wrote the log"


# --- 26: SIGTERM is an interrupt ------------------------------------------------------------


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "background-job"])
def test_sigterm_is_logged_exits_130_and_resume_finishes(
    tmp_path: Path, sigint_ignored: bool
) -> None:
    run = new_run(tmp_path, SLOW)
    proc = start(tmp_path, "resume", run, "-q", sigint_ignored=sigint_ignored)
    try:
        wait_for(run, "round_started", proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Terminated (SIGTERM)." in err
    assert f"orchestrator resume {run}" in err
    assert types(run)[-1] == "run_interrupted"
    done = cli(tmp_path, "resume", run, "-q")
    assert done.returncode == 0, done.stderr
    assert types(run).count("run_finished") == 1


# --- 22: a torn multi-byte character at the tail of the log ---------------------------------


@pytest.mark.parametrize("command", ["show", "resume"])
def test_a_torn_multibyte_tail_is_repaired(tmp_path: Path, command: str) -> None:
    run = new_run(tmp_path, SLOW)
    proc = start(tmp_path, "resume", run, "-q")
    wait_for(run, "round_started", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    intact = (run / EVENTS).read_bytes()
    checkpoint = run / "checkpoint.json"
    # What the checkpoint commits stays; a cut round's events are set aside (see store).
    committed = json.loads(checkpoint.read_text())["log_length"] if checkpoint.exists() else 0
    torn = '{"type":"replied","speaker":"user","text":"Zürich'.encode()[:-1]
    with (run / EVENTS).open("ab") as handle:
        handle.write(torn + "é".encode()[:1])  # half of a two-byte character
    done = cli(tmp_path, command, run)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    if command == "resume":
        log = (run / EVENTS).read_bytes()
        assert log.startswith(intact[:committed])
        assert torn not in log
        log.decode("utf-8")
    else:
        assert "This run has not finished." in done.stdout


# --- 5: show and resume take a run id; runs says where the others are ------------------------


def test_show_takes_the_run_id_that_runs_prints(tmp_path: Path) -> None:
    run = new_run(tmp_path, SOLVED)
    assert cli(tmp_path, "resume", run, "-q").returncode == 0
    listed = cli(tmp_path, "runs", "--runs-dir", "runs")
    assert run.name in listed.stdout.split()
    config = tmp_path / "orchestrator.yaml"
    config.write_text("runs_dir: runs\n")
    by_id = cli(tmp_path, "show", run.name)
    assert by_id.returncode == 0, by_id.stderr
    assert f"Task · run {run.name}" in by_id.stdout
    by_prefix = cli(tmp_path, "show", run.name[:20])
    assert by_prefix.stdout == by_id.stdout
    missing = cli(tmp_path, "show", "20000101-nosuch")
    assert missing.returncode == 2
    assert one_line_error(missing).startswith("error: 20000101-nosuch: no such run directory")


def test_show_finds_scenario_runs_by_id(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario_text(SOLVED))
    ran = cli(tmp_path, "scenario", "run", path)
    assert ran.returncode == 0, ran.stdout
    (run,) = (tmp_path / "runs" / "scenarios").iterdir()
    shown = cli(tmp_path, "show", run.name)
    assert shown.returncode == 0, shown.stderr
    assert "Final answer · solved" in shown.stdout


def test_runs_with_no_runs_says_where_scenario_and_eval_runs_are(tmp_path: Path) -> None:
    done = cli(tmp_path, "runs")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert text.startswith("No runs in runs.")
    assert "orchestrator runs --runs-dir runs/scenarios" in text
    assert "runs/evals/<evaluation>/runs/<task>/r<N>" in text


# --- 6: help conventions --------------------------------------------------------------------


def test_version_and_short_help(tmp_path: Path) -> None:
    version = cli(tmp_path, "--version")
    assert version.returncode == 0
    assert version.stdout.startswith("orchestrator ")
    for command in (["-h"], ["run", "-h"], ["eval", "run", "-h"], ["index", "build", "-h"]):
        done = cli(tmp_path, *command)
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["resume"],
        ["show"],
        ["runs"],
        ["scenario", "run"],
        ["eval", "run"],
        ["eval", "report"],
        ["eval", "compare"],
        ["index", "build"],
        ["index", "query"],
        ["doctor"],
    ],
    ids=" ".join,
)
def test_help_shows_no_python_types(tmp_path: Path, command: list[str]) -> None:
    done = cli(tmp_path, *command, "--help")
    assert done.returncode == 0, done.stderr
    for leak in ("<bool>", "<str>", "<int", "<float>", "<path>", "list[", "range"):
        assert leak not in done.stdout, f"{leak} in the help of {' '.join(command)}"


# --- 21: one process per evaluation; 14: --model keeps the config's endpoint -------------------


def suite_text(delay: float) -> str:
    progress_replies = [progress(False, delay), progress(True)]
    script = {**SOLVED, "orchestrator.progress": progress_replies}
    lines = [
        "name: locked",
        "defaults: {team: [user], limits: {max_rounds: 4}}",
        "tasks:",
        "  - id: city",
        "    task: Which city?",
        "    expected: Berlin",
        "    human: [Berlin]",
        "    model:",
        "      scripted:",
        "        script:",
    ]
    lines += [f"          {purpose}: [{', '.join(r)}]" for purpose, r in script.items()]
    return "\n".join(lines) + "\n"


def test_a_second_eval_resume_of_a_running_evaluation_is_refused(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_text(delay=3.0))
    out = tmp_path / "eval"
    first = start(tmp_path, "eval", "run", suite, "--out", out)
    try:
        deadline = time.monotonic() + 20
        while not list(out.glob("runs/**/events.jsonl")):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = cli(tmp_path, "eval", "run", suite, "--out", out, "--resume")
        assert second.returncode == 2, second.stdout + second.stderr
        line = one_line_error(second)
        assert line.startswith(f"error: {out}: this evaluation is in use by pid {first.pid} on ")
        _, err = first.communicate(timeout=30)
    finally:
        first.kill()
    assert first.returncode == 0, err
    again = cli(tmp_path, "eval", "run", suite, "--out", out, "--resume")
    assert again.returncode == 0, again.stderr
    assert "1 already done, 0 to run" in " ".join(again.stdout.split())


def test_eval_model_flag_keeps_the_configs_endpoint_and_key(tmp_path: Path) -> None:
    from orchestrator.config import Settings
    from orchestrator.evaluation.runner import EvalOptions, plan

    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_text(delay=0))
    settings = Settings.model_validate(
        {
            "models": {
                "default": {
                    "model": "compatible:small",
                    "base_url": "http://127.0.0.1:8000/v1",
                    "api_key_env": "MY_KEY",
                }
            }
        }
    )
    planned = plan(suite, EvalOptions(out=tmp_path / "e", model="compatible:large"), settings)
    spec = planned.jobs[0].settings.models["default"]
    assert (spec.model, spec.base_url, spec.api_key_env) == (
        "compatible:large",
        "http://127.0.0.1:8000/v1",
        "MY_KEY",
    )


# --- 19: long unbroken text cannot stall a watched run ---------------------------------------


def test_long_unbroken_text_is_clipped_and_the_run_keeps_its_time_limit(tmp_path: Path) -> None:
    token = "x" * 200_000
    script = {
        **SOLVED,
        "orchestrator.progress": [progress(False, question=token), progress(True)],
        "orchestrator.final": [final(token, "certain")],
    }
    path = tmp_path / "scenario.yaml"
    path.write_text(
        scenario_text(script).replace("max_rounds: 8", "max_rounds: 8, max_seconds: 20")
    )
    runs = tmp_path / "runs"
    run = session.start(build_config(path, load_model(path, Scenario), runs, {}), runs).root
    done = cli(tmp_path, "resume", run)  # the live view, not -q
    assert done.returncode == 0, done.stderr  # solved: the view did not eat the time limit
    assert "Final answer · solved · stop: satisfied" in done.stdout
    assert "196,000 more chars" in done.stdout  # the instruction, clipped
    assert max(len(line) for line in done.stdout.splitlines()) <= 120
    assert len(done.stdout) < 50_000


# --- 8: show reads like a transcript ---------------------------------------------------------


def test_show_words_counts_and_stops_like_a_person_would(tmp_path: Path) -> None:
    run = new_run(tmp_path, MODEL_DOWN)
    cli(tmp_path, "resume", run, "-q")
    shown = cli(tmp_path, "show", run).stdout
    assert "stopped: model_unavailable" in shown
    assert "limit reached" not in shown
    assert "0 rounds · 0 stalls · 0 replans" in shown

    solved = new_run(tmp_path / "solved", SOLVED)
    cli(tmp_path, "resume", solved, "-q")
    text = cli(tmp_path, "show", solved).stdout
    assert "Round 2 · " in text
    assert " tokens in total" in text
    assert "2 rounds · 0 stalls · 0 replans" in text


def test_show_prints_file_surfer_and_coder_activity_as_readable_lines(tmp_path: Path) -> None:
    scenario = Path(__file__).parent.parent / "scenarios" / "team" / "xlsx_found_then_computed.yaml"
    ran = cli(tmp_path, "scenario", "run", scenario)
    assert ran.returncode == 0, ran.stdout
    (run,) = (tmp_path / "runs" / "scenarios").iterdir()
    lines = cli(tmp_path, "show", run.name).stdout.splitlines()
    indented = [line.strip() for line in lines if line.startswith("  ") and " · " in line]
    activity = [line for line in indented if " · saw " not in line]
    saw = [line for line in indented if " · saw " in line]  # what each one's model was shown
    assert saw[:3] == [
        "file_surfer · saw at the start of its step: Where you are: no file open (60 chars)",
        *[line for line in saw if line.startswith("file_surfer · saw after find_files: ")],
        *[line for line in saw if line.startswith("file_surfer · saw after open_file: ")],
    ]
    assert activity == [
        "file_surfer · find_files(pattern='*.xlsx', folder='reports') → no file open",
        "file_surfer · open_file(path='reports/sheets_order.xlsx') → "
        "reports/sheets_order.xlsx — page 1 of 1",
        *[line for line in activity if line.startswith("coder · ran python block 1 (")],
    ]
    assert len(activity) == 3
    assert ": exit code 0 in " in activity[2]
    assert "{" not in "".join(activity), "a raw dict was printed"


# --- 24: suites and GAIA files: aliases, nesting, bytes, sizes -------------------------------

BOMB = "".join(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
SUITES = {
    "alias-bomb.yaml": (
        "name: bomb\nx:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + BOMB
        + "tasks: *l8\n",
        "aliases here expand to more than 100,000 values",
    ),
    "deep.yaml": ("name: deep\ntasks: " + "[" * 5000 + "\n", "nested too deeply"),
    "latin1.yaml": ("name: caf\xe9\n".encode("latin-1"), "the file is not UTF-8 text (byte 0xe9"),
    "deep.jsonl": ('{"task_id": ' + "[" * 100_000 + "\n", ":1: the JSON is nested too deeply"),
    "torn.jsonl": ('{"task_id": "Zü'.encode()[:-1], "cannot read the file as UTF-8 text"),
}


@pytest.mark.parametrize(("name", "content", "message"), [(k, *v) for k, v in SUITES.items()])
def test_a_hostile_suite_file_is_one_line(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    done = cli(tmp_path, "eval", "run", path, "--out", tmp_path / "eval")
    assert done.returncode == 2, done.stdout + done.stderr
    line = one_line_error(done)
    assert line.startswith(f"error: {path}"), line
    assert message in line, line
    assert not (tmp_path / "eval").exists()


# --- 7: the demo runs by name from any folder ------------------------------------------------


def test_the_demo_runs_by_name_outside_the_repository(tmp_path: Path) -> None:
    done = cli(tmp_path, "demo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS demo - stall, replan, answer" in done.stdout
    assert "Replan #1" in done.stdout  # watched: the live view ran
    assert len(list((tmp_path / "runs" / "scenarios").iterdir())) == 1


def test_hints_name_the_demo_command_not_a_repository_path(tmp_path: Path) -> None:
    for args in (["--help"], ["run", "task"]):
        done = cli(tmp_path, *args)
        assert "orchestrator demo" in done.stdout + done.stderr
        assert "scenarios/demo.yaml" not in done.stdout + done.stderr


# --- 3: a line says what the run waits for, and for how long ---------------------------------


def test_a_terminal_shows_what_the_run_waits_for_and_how_long(tmp_path: Path) -> None:
    import pty
    import select

    slow = {**SOLVED, "orchestrator.progress": [progress(False, 2.5), progress(True)]}
    run = new_run(tmp_path, slow)
    main, terminal = pty.openpty()
    proc = subprocess.Popen(
        [str(ORCHESTRATOR), "resume", str(run)],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        cwd=tmp_path,
        env=env(tmp_path),
    )
    os.close(terminal)
    seen = b""
    try:
        while proc.poll() is None or select.select([main], [], [], 0.2)[0]:
            if select.select([main], [], [], 0.2)[0]:
                try:
                    seen += os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
        proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(main)
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "orchestrator.progress — waiting for the model, 2 s" in text
    assert "Final answer · solved" in text


# --- 15: an error that fails every task stops the evaluation early, with its reason ------------


def test_an_evaluation_stops_after_three_trials_fail_with_the_same_provider_error(
    tmp_path: Path,
) -> None:
    down = "[{error: {kind: bad_request, message: invalid api key}}]"
    lines = ["name: down", "defaults: {team: [user], limits: {max_rounds: 2}}", "tasks:"]
    for n in range(5):
        lines += [
            f"  - id: t{n}",
            "    task: Which city?",
            "    expected: Berlin",
            "    model: {scripted: {script: {orchestrator.facts: " + down + "}}}",
        ]
    suite = tmp_path / "suite.yaml"
    suite.write_text("\n".join(lines) + "\n")
    out = tmp_path / "eval"
    done = cli(tmp_path, "eval", "run", suite, "--out", out)
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line_error(done)
    assert "3 trials in a row could not reach the model, each with: 400 invalid api key" in line
    assert line.endswith(f"orchestrator eval {suite} --out {out} --resume")
    assert " ".join(done.stdout.split()).count("(400 invalid api key)") == 3  # on the console
    assert (out / "report.md").read_text().count("400 invalid api key") >= 3
    final = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
    assert len([r for r in final if r["outcome"] == "finished"]) == 3

    rest = cli(tmp_path, "eval", "run", suite, "--out", out, "--resume", "--stop-after-errors", "0")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert "3 already done, 2 to run" in " ".join(rest.stdout.split())


# --- 16: a dead Ray cluster fails fast -------------------------------------------------------


def test_eval_on_a_dead_ray_cluster_fails_within_seconds_in_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_text(delay=0))
    address = "127.0.0.1:9"  # the discard port: nothing listens
    done = cli(tmp_path, "eval", "run", suite, "--backend", "ray", "--ray-address", address)
    assert done.returncode == 2, done.stdout + done.stderr
    line = one_line_error(done)
    assert line.startswith(f"error: cannot reach Ray at {address}: ")
    assert "is the cluster up (`ray status` on its head)" in line


def test_a_run_directory_that_cannot_be_written_stops_the_run_naming_the_reason(
    tmp_path: Path,
) -> None:
    run = new_run(tmp_path, SOLVED)
    (run / ".lock").touch()  # files there stay writable; new ones (the checkpoint) cannot be made
    (run / EVENTS).touch()
    # chmod does not stop root (who runs CI here); the immutable flag stops everyone.
    if subprocess.run(["chattr", "+i", str(run)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this filesystem")
    try:
        done = cli(tmp_path, "resume", run, "-q")
    finally:
        subprocess.run(["chattr", "-i", str(run)], check=True)
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line_error(done)
    assert line.startswith(f"error: {run / CHECKPOINT}: cannot write (permission denied)")
    assert line.endswith(f"then continue with: orchestrator resume {run}")
    assert types(run)[-1] == "run_interrupted", "the log does not say why the run stopped"
    again = cli(tmp_path, "resume", run, "-q")
    assert again.returncode == 0, again.stderr
