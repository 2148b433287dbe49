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
import ctypes
import os
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path

MARKER = "ORCHESTRATOR_EXEC"
PROC = Path("/proc")


PR_SET_PDEATHSIG = 1


def new_token() -> str:
    """A run's marker: the orchestrator's pid (so a later sweep can tell whose it was)
    and a random part."""
    return f"{os.getpid()}-{secrets.token_hex(8)}"


def die_with_parent(parent: int) -> Callable[[], None]:
    """For `preexec_fn`: the child gets SIGKILL when `parent` dies, from before exec on.

    bubblewrap's `--die-with-parent` is only armed once bubblewrap has parsed its
    arguments; an orchestrator killed before that left the program running with no
    clock. If the parent died before the signal was armed, the child exits at once.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(111)

    return arm


def sweep_orphans() -> int:
    """Kill processes of runs whose orchestrator is gone (killed with no chance to clean
    up): a marker whose pid part is not a live process. Returns how many were killed."""
    mine = f"{MARKER}=".encode()
    orphans: set[str] = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(mine):
                token = item[len(mine) :].decode(errors="replace")
                owner = token.partition("-")[0]
                if owner.isdigit() and not _alive(int(owner)):
                    orphans.add(token)
    return sum(kill_marked(token) for token in orphans)


def _alive(pid: int) -> bool:
    return (PROC / str(pid)).exists() and not _is_zombie(pid)


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
