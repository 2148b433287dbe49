"""An exclusive lock on a directory (a run, an evaluation) that names its holder.

`flock` on `<dir>/.lock`: the kernel drops it when its process dies, so a crash or
`kill -9` never leaves a stale lock behind; the file only records who holds it now.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from pathlib import Path

from orchestrator.errors import RunDirError, os_reason

LOCK = ".lock"


class DirLock:
    def __init__(self, folder: Path, what: str = "this run") -> None:
        self.folder = folder
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise `RunDirError` naming the process that holds it."""
        if self._fd is not None:
            return
        path = self.folder / LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunDirError(f"{path}: cannot open the lock ({os_reason(exc)})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 1000).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise RunDirError(
                f"{self.folder}: {self.what} is in use by {holder}; wait for it to end or stop it"
            ) from None
        os.ftruncate(fd, 0)
        command = " ".join(["orchestrator", *sys.argv[1:3]])
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} ({command})\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
