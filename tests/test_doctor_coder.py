"""`orchestrator doctor` checks the coder's executor as `specialists.coder` configures it,
through the real CLI: the bwrap it names runs a program, or it is a ✗ saying why and what
to do; docker as the executor needs an engine that answers, at `DOCKER_HOST`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"
BWRAP = shutil.which("bwrap")


def doctor(tmp_path: Path, config: str, **env: str) -> tuple[dict[str, tuple[str, str]], str]:
    """(check name → (mark, result text), the whole output) of `doctor --config`."""
    path = tmp_path / "orchestrator.yaml"
    path.write_text(config)
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "DOCKER_"))
    }
    environ.update(COLUMNS="400", HOME=str(tmp_path), **env)
    done = subprocess.run(
        [str(ORCHESTRATOR), "doctor", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert done.returncode == 1, output  # no model is configured: always a ✗ here
    rows = {}
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if line.startswith("│") and len(cells) == 3:
            rows[cells[1]] = (cells[0], cells[2])
    return rows, done.stdout


def below(output: str, name: str) -> str:
    """The full text of a failed check, printed under the table."""
    (line,) = [line for line in output.splitlines() if line.startswith(f"✗ {name}:")]
    return line


def test_a_missing_bwrap_path_is_a_failure_with_the_fix(tmp_path: Path) -> None:
    rows, output = doctor(tmp_path, "specialists:\n  coder: {bwrap: /opt/nowhere/bwrap}\n")
    assert rows["coder executor (sandbox)"] == ("✗", "failed: see below")
    line = below(output, "coder executor (sandbox)")
    assert "specialists.coder.bwrap: '/opt/nowhere/bwrap' does not exist" in line
    assert "DEGRADED" in line
    assert "apt-get install bubblewrap" in line


def test_a_bwrap_that_cannot_sandbox_is_a_failure(tmp_path: Path) -> None:
    """A path that exists but is not a working bubblewrap (here: `false`) is tried, and
    the fallback it would fall to is named."""
    false = shutil.which("false")
    assert false is not None
    rows, output = doctor(tmp_path, f"specialists:\n  coder: {{bwrap: {false}}}\n")
    assert rows["coder executor (sandbox)"][0] == "✗"
    line = below(output, "coder executor (sandbox)")
    assert "SANDBOX DEGRADED" in line
    assert "executor: docker" in line


@pytest.mark.skipif(BWRAP is None, reason="needs bubblewrap")
def test_a_working_bwrap_runs_a_program(tmp_path: Path) -> None:
    rows, _ = doctor(tmp_path, f"specialists:\n  coder: {{bwrap: {BWRAP}}}\n")
    mark, text = rows["coder executor (sandbox)"]
    if "SANDBOX DEGRADED" in text or mark == "✗":
        pytest.skip("bubblewrap cannot create its namespaces on this machine")
    assert mark == "✓"
    assert f"bubblewrap ({BWRAP}) ran a python3 program" in text
    assert "no network" in text


def test_docker_as_the_executor_with_no_engine_is_a_failure(tmp_path: Path) -> None:
    rows, output = doctor(
        tmp_path, "specialists:\n  coder: {executor: docker}\n", DOCKER_HOST="tcp://127.0.0.1:9"
    )
    assert rows["coder executor (docker)"] == ("✗", "failed: see below")
    assert "docker" not in rows  # not also listed as an option
    line = below(output, "coder executor (docker)")
    assert "specialists.coder.executor is docker, but no Docker engine answers" in line
    assert "127.0.0.1" in line
    assert "sandbox-image/start-dockerd.sh" in line


def test_docker_at_a_missing_socket_names_it(tmp_path: Path) -> None:
    socket = tmp_path / "no-docker.sock"
    rows, output = doctor(
        tmp_path, "specialists:\n  coder: {executor: docker}\n", DOCKER_HOST=f"unix://{socket}"
    )
    assert rows["coder executor (docker)"][0] == "✗"
    assert f"cannot connect to {socket}" in below(output, "coder executor (docker)")


def test_docker_is_only_an_option_when_the_sandbox_is_used(tmp_path: Path) -> None:
    rows, _ = doctor(tmp_path, "team: [user, coder]\n", DOCKER_HOST="tcp://127.0.0.1:9")
    mark, text = rows["docker"]
    assert mark == "!"
    assert text.startswith("optional (the coder uses the sandbox): no Docker engine answers")
    assert "executor: sandbox" not in text  # it is already the setting


def test_off_the_team_a_broken_executor_is_a_warning(tmp_path: Path) -> None:
    rows, _ = doctor(tmp_path, "team: [user]\nspecialists:\n  coder: {bwrap: /opt/nowhere/bwrap}\n")
    mark, text = rows["coder executor (sandbox)"]
    assert mark == "!"
    assert text.startswith("the coder is not on the team, but: specialists.coder.bwrap:")


def test_a_local_executor_is_a_warning_that_says_unsandboxed(tmp_path: Path) -> None:
    rows, _ = doctor(tmp_path, "specialists:\n  coder: {executor: local}\n")
    mark, text = rows["coder executor (local)"]
    assert mark == "!"
    assert "UNSANDBOXED" in text


def test_a_bad_coder_setting_is_named(tmp_path: Path) -> None:
    rows, output = doctor(tmp_path, "specialists:\n  coder: {executor: podman}\n")
    assert rows["coder executor"][0] == "✗"
    assert "specialists.coder.executor:" in below(output, "coder executor")
