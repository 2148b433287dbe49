"""Finding and killing what a run left behind, by a marker in the process environment.

Every run gets a unique `ORCHESTRATOR_EXEC=<token>` in its environment, which its child
processes inherit. After the run, /proc is scanned for that token: in the bubblewrap
sandbox this only *verifies* that the pid namespace died with its init; for the local
executor and the fallback sandbox it is what finds daemonised children that escaped the
process group. (A process that re-executes itself with a cleared environment escapes the
scan; only a pid namespace or a container closes that gap.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path

MARKER = "ORCHESTRATOR_EXEC"
PROC = Path("/proc")


def new_token() -> str:
    return secrets.token_hex(8)


def marked(token: str, *, uid: int | None = None) -> list[int]:
    """Pids of live processes whose environment carries this run's token."""
    needle = f"{MARKER}={token}".encode()
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if uid is not None and entry.stat().st_uid != uid:
                continue
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone already, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_marked(token: str, *, uid: int | None = None, rounds: int = 20) -> int:
    """SIGKILL every process carrying the token until none is left; return how many."""
    killed: set[int] = set()
    for _ in range(rounds):
        pids = [p for p in marked(token, uid=uid) if not _is_zombie(p)]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                continue
        time.sleep(0.01)  # let the kernel reap before looking again
    return len(killed)


def _is_zombie(pid: int) -> bool:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
