"""Errors a user can act on. Each says what went wrong, where, and what to do next."""

from __future__ import annotations

import errno
from pathlib import Path


class OrchestratorError(Exception):
    """Base for errors shown to the user as one clear message, never a traceback."""


class ConfigFileError(OrchestratorError):
    """A config, scenario or suite file is invalid. `str()` is one line:
    `path:line:col: field: message`."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.message = message
        self.line = line
        self.column = column
        self.field = field
        where = str(path)
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        prefix = f"{field}: " if field else ""
        super().__init__(f"{where}: {prefix}{message}")


class RunDirError(OrchestratorError):
    """A run directory is missing, incomplete or from an incompatible version."""


class RunWriteError(RunDirError):
    """A file of the run directory cannot be written (disk full, permission denied)."""


class RunStopped(OrchestratorError):
    """A run could not go on; what it did is saved up to its last completed round and
    `orchestrator resume` continues it. `answer` is its final answer if it got that far."""

    def __init__(self, message: str, *, answer: str | None = None) -> None:
        super().__init__(message)
        self.answer = answer


def os_reason(exc: OSError) -> str:
    """An OS error in the words a person acts on."""
    if exc.errno == errno.ENOSPC:
        return "no space left on the disk"
    if exc.errno == errno.EFBIG:
        return "file size limit reached"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or type(exc).__name__
