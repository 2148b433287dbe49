"""The `eval` commands, mounted on a tiny typer app exactly as the main CLI mounts them
(`app.add_typer(eval_app, name="eval")`), plus the console script once it is wired."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from orchestrator.evaluation.cli import eval_app

ROOT = Path(__file__).resolve().parent.parent
SCRIPTED = ROOT / "evals" / "sample-scripted" / "suite.yaml"

app = typer.Typer()
app.add_typer(eval_app, name="eval")


@app.callback()
def main() -> None:
    """The main CLI stands in here: `eval` is one of its groups."""


runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_help_says_how_to_run_report_and_compare() -> None:
    code, out = invoke("eval", "--help")
    assert code == 0
    assert "orchestrator eval SUITE [OPTIONS]" in out
    assert "report" in out
    assert "compare" in out
    code, out = invoke("eval", "run", "--help")
    assert code == 0
    for option in (
        "--concurrency",
        "--repeats",
        "--limit",
        "--filter",
        "--out",
        "--resume",
        "--model",
        "--backend",
    ):
        assert option in out, option


def test_eval_suite_then_report_then_compare(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    code, out = invoke("eval", SCRIPTED, "--out", first, "--filter", "file", "-j", "2")
    assert code == 0, out
    assert "sample-scripted: 4 trial(s), 0 already done, 4 to run on local" in out
    assert "eval" in out
    assert "4/4" in out
    assert "✗ debian-reference-pages r1" in out
    assert "answered '233', expected '261'" in out
    assert f"report: {first / 'report.md'}" in out
    assert (first / "report.md").is_file()

    (first / "report.md").unlink()
    code, out = invoke("eval", "report", first)
    assert code == 0, out
    assert "overall" in out
    assert "75.0%" in out
    assert "| debian-reference-pages |" in (first / "report.md").read_text()

    code, out = invoke("eval", SCRIPTED, "--out", second, "--filter", "web", "--limit", "2")
    assert code == 0, out
    code, out = invoke("eval", "compare", first, second, "--all")
    assert code == 0, out
    assert "only in A" in out
    assert "only in B" in out
    assert "accuracy A 75.0% → B 100.0%" in out


def test_input_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "suite.yaml"
    broken.write_text("name: x\ntasks:\n  - {id: a, task: t}\n")
    code, out = invoke("eval", broken, "--out", tmp_path / "e")
    assert code == 2
    assert f"error: {broken}:3:5: tasks[0].expected: required field missing" in " ".join(
        out.split()
    )
    code, out = invoke("eval", SCRIPTED, "--resume")
    assert (code, "--resume needs --out DIR" in out) == (2, True)
    code, out = invoke("eval", SCRIPTED, "--backend", "spark")
    assert (code, "unknown backend 'spark'" in out) == (2, True)
    code, out = invoke("eval", "report", tmp_path)
    assert (code, "not an evaluation directory" in out) == (2, True)


def test_the_ray_backend_without_ray_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    code, out = invoke("eval", SCRIPTED, "--out", tmp_path / "e", "--backend", "ray")
    assert code == 2
    assert "pip install 'orchestrator[ray]'" in " ".join(out.split())
    assert not (tmp_path / "e" / "index.jsonl").exists()


def _registered() -> bool:
    from orchestrator.cli import app as main_app

    return any(group.name == "eval" for group in main_app.registered_groups)


@pytest.mark.skipif(not _registered(), reason="`eval` is not registered in orchestrator/cli.py yet")
def test_the_console_script_runs_an_evaluation(tmp_path: Path) -> None:
    exe = shutil.which("orchestrator", path=str(Path(sys.executable).parent))
    assert exe is not None
    done = subprocess.run(
        [exe, "eval", SCRIPTED, "--out", tmp_path / "e", "--filter", "pydocs-*"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "e" / "summary.json").is_file()


def test_python_dash_m_runs_an_evaluation(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.evaluation",
            SCRIPTED,
            "--out",
            tmp_path / "e",
            "--filter",
            "exif-*",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "100.0%" in done.stdout
