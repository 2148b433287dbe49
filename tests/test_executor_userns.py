"""Sandboxed code cannot make user namespaces, and cannot outlive a killed orchestrator.

For real: code in the bubblewrap sandbox calls `unshare(CLONE_NEWUSER)` and `clone` with
it (they must fail) and still forks and runs programs; an orchestrator process is
SIGKILLed at many moments while it starts a sandboxed program (its program must die
too); and the local executor's next start sweeps what a killed orchestrator's run left.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_executor_escapes import alive_with, tokened

from specialists.coder.executors import CodeBlock, ExecLimits, LocalExecutor, SandboxExecutor

ROOT = Path(__file__).resolve().parent.parent

USERNS_ATTEMPTS = """
import ctypes, errno, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
print("unshare", libc.unshare(CLONE_NEWUSER), errno.errorcode.get(ctypes.get_errno()))
libc.syscall.restype = ctypes.c_long
pid = libc.syscall(56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)  # raw clone on x86_64
if pid == 0:
    os._exit(0)
print("clone", "refused" if pid < 0 else "made a child")
if pid > 0:
    os.waitpid(pid, 0)
tool = subprocess.run(["unshare", "--user", "true"], capture_output=True, text=True)
print("unshare-tool", tool.returncode)
print("fork still works:", subprocess.run(["sh", "-c", "echo ok"], capture_output=True, text=True).stdout.strip())
"""


async def test_code_in_the_sandbox_cannot_create_user_namespaces(tmp_path: Path) -> None:
    executor = SandboxExecutor()
    try:
        result = await executor.run(CodeBlock("python", USERNS_ATTEMPTS), tmp_path, ExecLimits())
    finally:
        await executor.close()
    if not executor.isolated:
        pytest.skip(f"bubblewrap cannot run here: {executor.warnings}")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "unshare -1 EPERM" in lines
    if os.uname().machine == "x86_64":
        assert "clone refused" in lines
    assert "unshare-tool 1" in lines
    assert "fork still works: ok" in lines


ORCHESTRATOR = """
import asyncio, sys
from pathlib import Path
from specialists.coder.executors import CodeBlock, ExecLimits, {kind}
block = CodeBlock("sh", sys.argv[2])
async def main():
    executor = {kind}()
    await executor.start()
    print("starting", flush=True)
    await executor.run(block, Path(sys.argv[1]), ExecLimits(timeout_seconds=300))
asyncio.run(main())
"""


def start_orchestrator(kind: str, workspace: Path, source: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = ORCHESTRATOR.format(kind=kind)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(workspace), source],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "starting"
    return proc


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


def wait_gone(token: str, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := alive_with(token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def child_started(parent: int, name: str) -> bool:
    """Whether `parent` has a child process called `name` (it has at least forked it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, _, rest = stat.partition("(")[2].rpartition(")")
        if int(rest.split()[1]) == parent and comm in (name, "python3", "python"):
            return True
    return False


@pytest.mark.parametrize("delay", [None, 0.0, 0.0005, 0.001, 0.002, 0.003, 0.01, 0.05, 0.5])
def test_a_killed_orchestrator_takes_its_sandboxed_program_with_it(
    tmp_path: Path, delay: float | None
) -> None:
    """Killed at the moment it forks bubblewrap (the window before bubblewrap arms its own
    --die-with-parent), a little after, or well after: the program dies with it."""
    block, token = tokened("import time\ntime.sleep(120)\n")
    proc = start_orchestrator("SandboxExecutor", tmp_path, block.source)
    if delay is not None:
        deadline = time.monotonic() + 10
        while not child_started(proc.pid, "bwrap") and time.monotonic() < deadline:
            pass  # spin: the window is short
        time.sleep(delay)
    kill(proc)
    left = wait_gone(token, 5)
    for pid in left:  # so that one failure does not poison the next trial
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"delay {delay}: the program outlived its orchestrator"


def test_the_next_start_sweeps_what_a_killed_orchestrators_run_left(tmp_path: Path) -> None:
    # The local executor has no pid namespace: a daemonised grandchild escapes the
    # parent-death signal, and only a sweep by the run's marker finds it later.
    block, token = tokened(
        textwrap.dedent(
            """
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(120)
                os._exit(0)
            time.sleep(120)
            """
        )
    )
    proc = start_orchestrator("LocalExecutor", tmp_path, block.source)
    deadline = time.monotonic() + 10
    while len(alive_with(token)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    kill(proc)
    time.sleep(0.3)
    assert alive_with(token), "the daemonised grandchild should still be there"
    asyncio.run(LocalExecutor().start())
    assert wait_gone(token, 3) == []
