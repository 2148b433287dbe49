"""What every executor speaks: a code block in, an `ExecResult` out.

An executor runs one `CodeBlock` (Python or shell) in the run's workspace under
`ExecLimits`, and reports what happened as data: exit code, captured output (capped,
with an explicit truncation marker), whether and why it was stopped, how long it took,
and which workspace files it created or changed. Failures of the *code* are results;
only a broken executor (a missing engine, an unusable image) raises `ExecutorUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

Language = Literal["python", "sh"]

# Why a run was stopped or failed at a limit; None when it simply ended.
Limit = Literal["timeout", "output", "memory", "cpu", "file_size", "processes"]


@dataclass(frozen=True)
class CodeBlock:
    language: Language
    source: str

    def head(self, lines: int = 6) -> str:
        """The first few lines, for approvals and events."""
        shown = self.source.strip("\n").splitlines()
        text = "\n".join(shown[:lines])
        if len(shown) > lines:
            text += f"\n... ({len(shown) - lines} more line(s))"
        return text


@dataclass(frozen=True)
class ExecLimits:
    """Per-run limits. Every executor enforces the wall clock and the output bounds;
    the rest are rlimits (sandbox, local) or container limits (docker)."""

    timeout_seconds: float = 30.0
    memory_mb: int = 1024
    cpu_seconds: int = 30
    file_size_mb: int = 256
    open_files: int = 256
    processes: int = 64
    cpus: float = 1.0  # docker only: share of CPU cores
    output_bytes: int = 16_000  # kept per stream and shown; the rest is counted, not stored
    max_output_mb: int = 64  # read per stream before the program is stopped as runaway


@dataclass(frozen=True)
class ExecResult:
    exit_code: int | None  # None: the program was killed before it could exit
    stdout: str
    stderr: str
    duration: float  # seconds, wall clock
    files: tuple[Path, ...] = ()  # created or changed, relative to the workspace
    stdout_bytes: int = 0  # produced in total, kept or not
    stderr_bytes: int = 0
    truncated: bool = False  # some output was cut; the text carries a marker saying so
    timed_out: bool = False
    limit: Limit | None = None  # which limit stopped or broke the run, if one did
    reason: str | None = None  # that, said in a sentence
    leftovers_killed: int = 0  # processes that outlived the run and were killed after it
    warnings: tuple[str, ...] = ()  # what this executor does not isolate

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None

    def status(self) -> str:
        """One line: how the run ended."""
        if self.reason:
            return self.reason
        if self.exit_code is None:
            return "killed"
        return f"exit code {self.exit_code}"


class ExecutorUnavailable(RuntimeError):
    """The executor cannot run code at all (not the code's fault): say how to fix it."""


@runtime_checkable
class Executor(Protocol):
    name: str  # "sandbox", "docker", "local"

    @property
    def warnings(self) -> tuple[str, ...]:
        """What this executor does not isolate, said loudly; empty when fully isolated."""
        ...

    async def start(self) -> None:
        """Get ready once (probe the sandbox, connect to the engine); `run` calls it too,
        so calling it first only moves the cost and the errors up front."""
        ...

    async def run(self, block: CodeBlock, workspace: Path, limits: ExecLimits) -> ExecResult: ...

    async def close(self) -> None: ...
