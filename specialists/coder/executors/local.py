"""The local executor: code runs on this machine as you, unsandboxed.

Only used when the settings ask for it by name (`executor: local`), and every reply and
event says so. What still holds: the wall clock kills the whole process group, output
is capped, rlimits apply (via `prlimit` where present), nothing is left running after a
run, and the child gets a minimal environment — never the orchestrator's API keys.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from specialists.coder.executors import bwrap, procs
from specialists.coder.executors.base import CodeBlock, ExecLimits, ExecResult
from specialists.coder.executors.process import Launch, run_process, to_result
from specialists.coder.executors.workspace import CodeDir, before_run, changes, snapshot

WARNING = (
    "UNSANDBOXED: the local executor runs code directly on this machine as the "
    "orchestrator's own user, with full access to its files and network "
    "(enabled explicitly by `specialists.coder.executor: local`)."
)


class LocalExecutor:
    name = "local"

    def __init__(self, *, python: str = "python3") -> None:
        self._python = python
        self._code = CodeDir()
        self._has_prlimit = shutil.which("prlimit") is not None

    @property
    def warnings(self) -> tuple[str, ...]:
        return (WARNING,)

    async def start(self) -> None:
        await asyncio.to_thread(procs.sweep_orphans)  # left by a killed orchestrator

    async def run(self, block: CodeBlock, workspace: Path, limits: ExecLimits) -> ExecResult:
        script = self._code.write(block)
        workspace, before = await asyncio.to_thread(before_run, workspace, None)
        token = procs.new_token()
        command = [bwrap.interpreter(block.language, self._python), str(self._code.path / script)]
        if self._has_prlimit:
            command = [*bwrap.rlimits(limits, processes=False), *command]
        env = bwrap.environment(procs.MARKER, token, home=os.environ.get("HOME", str(workspace)))
        env["PATH"] = os.environ.get("PATH", bwrap.SANDBOX_PATH)
        finished = await run_process(
            Launch(argv=command, env=env, cwd=workspace, token=token), limits
        )
        after = await asyncio.to_thread(snapshot, workspace)
        return to_result(finished, changes(before, after), limits, self.warnings)

    async def close(self) -> None:
        self._code.remove()
