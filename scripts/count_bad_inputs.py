"""Every bad input of the broken-files corpus (and a few hostile ones made here) through the
real CLI, as a person would type it: counts the inputs tried, the one-line errors and the
tracebacks, and lists any input that did not get exactly one error line.

    PYTHONPATH=. .venv/bin/python scripts/count_bad_inputs.py
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "orchestrator")
env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "OPENAI_"))}
env.update(PYTHONPATH=str(REPO), COLUMNS="120")
tmp = Path(tempfile.mkdtemp())
env["HOME"] = str(tmp)
cases = []
for f in sorted((REPO / "tests/data/broken_scenarios").glob("*.yaml")):
    cases.append(("scenario run", f, ["scenario", "run", f, "--runs-dir", tmp / "runs"]))
for f in sorted((REPO / "tests/data/broken_yaml").glob("*.yaml")):
    cases.append(("scenario run", f, ["scenario", "run", f, "--runs-dir", tmp / "runs"]))
for f in sorted((REPO / "tests/data/broken_configs").glob("*.yaml")):
    cases.append(("run", f, ["run", "--config", f, "task"]))
    cases.append(("doctor", f, ["doctor", "--config", f]))
    cases.append(
        (
            "eval run",
            f,
            [
                "eval",
                "run",
                REPO / "evals/sample-scripted/suite.yaml",
                "--config",
                f,
                "--out",
                tmp / "e",
            ],
        )
    )
# suites (as eval run) from the broken scenarios and yaml, read as suite files
for f in sorted((REPO / "tests/data/broken_scenarios").glob("*.yaml")):
    cases.append(("eval run", f, ["eval", "run", f, "--out", tmp / "e2"]))
# hostile suites, flags
bomb = "".join(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
extra = {
    "bomb.yaml": (
        "name: b\nx:\n  l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n" + bomb + "tasks: *l8\n"
    ).encode(),
    "deep.yaml": ("name: d\ntasks: " + "[" * 5000).encode(),
    "deep.jsonl": ('{"task_id": ' + "[" * 100000).encode(),
    "torn.jsonl": '{"task_id": "Zü'.encode()[:-1],
    "latin1.yaml": "name: caf\xe9\n".encode("latin-1"),
    "huge.yaml": b"name: x\ntasks: [" + b"a, " * 4_000_000 + b"]\n",
}
for name, data in extra.items():
    p = tmp / name
    p.write_bytes(data)
    cases.append(("eval run", p, ["eval", "run", p, "--out", tmp / "e3"]))
    if name.endswith(".yaml"):
        cases.append(("scenario run", p, ["scenario", "run", p, "--runs-dir", tmp / "runs"]))
        cases.append(("run", p, ["run", "--config", p, "task"]))
for flags in (
    ["--team", ",,"],
    ["--max-rounds", "-5"],
    ["--max-seconds", "0"],
    ["--runs-dir", "/proc/x"],
    ["--runs-dir", str(REPO / "README.md")],
):
    cases.append(
        (
            "run",
            " ".join(flags),
            ["run", *flags, "--team", "user", "task"]
            if "--runs-dir" in flags
            else ["run", *flags, "task"],
        )
    )
cases.append(("run", "empty task", ["run", ""]))
for what in ("nosuch", str(tmp / "nowhere"), str(tmp)):
    cases.append(("show", what, ["show", what]))
    cases.append(("resume", what, ["resume", what]))

tried = one_line = tracebacks = 0
bad = []
for command, what, args in cases:
    run_env = (
        {**env, "ORCHESTRATOR_MODEL": "ollama:qwen2.5"}
        if "--runs-dir" in map(str, args) and command == "run"
        else env
    )
    done = subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=run_env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    out = done.stdout + done.stderr
    tried += 1
    tb = "Traceback" in out
    tracebacks += tb
    if command in ("scenario run",):
        naming = [line for line in done.stdout.splitlines() if line.startswith("     - ")]
        ok = done.returncode == 1 and len(naming) == 1
    elif command == "doctor":
        naming = [line for line in done.stdout.splitlines() if line.startswith("✗ config: ")]
        ok = done.returncode == 1 and len(naming) == 1
    else:
        lines = done.stderr.splitlines()
        ok = done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    one_line += ok and not tb
    if not ok or tb:
        bad.append((command, str(what), done.returncode, out[-300:]))
print(json.dumps({"tried": tried, "one_line_errors": one_line, "tracebacks": tracebacks}))
for b in bad:
    print("NOT ONE LINE:", b)
