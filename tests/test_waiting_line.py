"""The spinner line a person sees during a real run, read off a real terminal.

`orchestrator scenario run --watch` runs on a pseudo-terminal (so it shows the spinner),
with a scripted model and a coder whose model takes 2.5 s to answer and whose program is
`sleep 3.5` in the sandbox. What the terminal showed must name each wait and count it.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"
SCENARIO = Path(__file__).parent / "data" / "waiting" / "sleepy_coder.yaml"
STYLE = re.compile(r"\x1b\[[0-9;]*m")  # colours: dropped, the text runs on
MOVES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")  # a new place


def on_a_terminal(args: list[str], cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its stdout and stderr; (exit code, screen text
    without control sequences)."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    env.update(TERM="xterm-256color", COLUMNS="150", LINES="50", HOME=str(cwd))
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        code = proc.wait(timeout=10)
    text = STYLE.sub("", b"".join(chunks).decode(errors="replace"))
    return code, MOVES.sub("\n", text)


def longest(screen: str, wait: str) -> int:
    """The highest count shown for `wait` ("coder — program running"), or -1."""
    counts = [int(n) for n in re.findall(re.escape(wait) + r", (\d+) s", screen)]
    return max(counts, default=-1)


def test_the_spinner_names_the_model_then_the_program_with_their_durations(
    tmp_path: Path,
) -> None:
    code, screen = on_a_terminal(
        [str(ORCHESTRATOR), "scenario", "run", "--watch", str(SCENARIO), "--runs-dir", "runs"],
        tmp_path,
    )
    assert code == 0, screen
    assert "1 passed, 0 failed" in screen
    # the coder's model answered after 2.5 s; the program slept 3.5 s
    assert longest(screen, "coder — waiting for the model") >= 2, screen
    assert longest(screen, "coder — program running") >= 3, screen
    assert screen.index("coder — waiting for the model") < screen.index("coder — program running")
    assert "orchestrator.progress — waiting for the model" in screen
