"""Executors run one code block in the workspace under limits; see `base.Executor`.

`SandboxExecutor` (bubblewrap, the default), `DockerExecutor` (a container per block)
and `LocalExecutor` (unsandboxed, opt-in only) share the same interface.
"""

from specialists.coder.executors.base import (
    CodeBlock,
    ExecLimits,
    ExecResult,
    Executor,
    ExecutorUnavailable,
    Language,
    Limit,
)
from specialists.coder.executors.docker import DockerExecutor
from specialists.coder.executors.local import LocalExecutor
from specialists.coder.executors.sandbox import SandboxExecutor

__all__ = [
    "CodeBlock",
    "DockerExecutor",
    "ExecLimits",
    "ExecResult",
    "Executor",
    "ExecutorUnavailable",
    "Language",
    "Limit",
    "LocalExecutor",
    "SandboxExecutor",
]
