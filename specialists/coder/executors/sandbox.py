"""The default executor: bubblewrap, or a loudly degraded fallback where it cannot run.

Each block runs in a fresh bubblewrap sandbox (see `bwrap.py` for the exact confinement)
as an unprivileged uid with rlimits, under a wall clock that kills the whole process
group. bubblewrap's pid namespace dies with its init, so nothing survives a run; the
/proc scan after every run verifies that. If bubblewrap is missing or cannot create its
namespaces here, code still runs — with rlimits, as the unprivileged uid, in a network
(and pid) namespace where `unshare` is permitted — and every reply says what is *not*
isolated.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from specialists.coder.executors import bwrap, procs, seccomp
from specialists.coder.executors.base import CodeBlock, ExecLimits, ExecResult
from specialists.coder.executors.process import Launch, run_process, to_result
from specialists.coder.executors.workspace import CodeDir, before_run, changes, snapshot

NOBODY = 65534
PROBE_SECONDS = 10.0


class SandboxExecutor:
    name = "sandbox"

    def __init__(
        self,
        *,
        bwrap_path: str = "bwrap",
        uid: int = NOBODY,
        python: str = "python3",
        allow_network: bool = False,
        extra_binds: tuple[str, ...] = (),
    ) -> None:
        self._bwrap = shutil.which(bwrap_path)
        self._bwrap_name = bwrap_path
        self._uid = uid
        self._python = python
        self._allow_network = allow_network
        self._extra_binds = extra_binds
        self._code = CodeDir()
        self._prefix: list[str] | None = None  # the fallback's confinement, once chosen
        self._use_bwrap: bool | None = None  # None: not probed yet
        self._warnings: tuple[str, ...] = ()
        self._lock = asyncio.Lock()
        self._disable_userns = False  # bubblewrap's own flag (not as root; see seccomp.py)

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    @property
    def isolated(self) -> bool | None:
        """True with bubblewrap, False in the fallback, None before the first run."""
        return self._use_bwrap

    async def start(self) -> None:
        """Find out, once, whether bubblewrap works here; otherwise pick the fallback."""
        async with self._lock:
            if self._use_bwrap is not None:
                return
            await asyncio.to_thread(procs.sweep_orphans)  # left by a killed orchestrator
            if self._bwrap is not None and not bwrap.is_root():
                self._disable_userns = await asyncio.to_thread(
                    bwrap.supports_disable_userns, self._bwrap
                )
            problem = await self._probe_bwrap()
            self._use_bwrap = problem is None
            if problem is not None:
                await self._choose_fallback(problem)

    async def run(self, block: CodeBlock, workspace: Path, limits: ExecLimits) -> ExecResult:
        await self.start()
        script = self._code.write(block)
        owner = self._uid if bwrap.is_root() else None
        workspace, before = await asyncio.to_thread(before_run, workspace, owner)
        seccomp_fd = self._seccomp_fd()
        try:
            launch = self._launch(block, script, workspace, limits, seccomp_fd)
            finished = await run_process(launch, limits)
        finally:
            if seccomp_fd is not None:
                os.close(seccomp_fd)
        after = await asyncio.to_thread(snapshot, workspace)
        return to_result(finished, changes(before, after), limits, self._warnings)

    async def close(self) -> None:
        self._code.remove()

    # --- launching -----------------------------------------------------------------------

    def _seccomp_fd(self) -> int | None:
        """A pipe holding the no-user-namespaces filter, for bubblewrap to read (one per
        run: bubblewrap reads it to the end), or None where bubblewrap's flag does it."""
        if not self._use_bwrap or self._disable_userns or not seccomp.supported():
            return None
        return _program_pipe(seccomp.no_user_namespaces())

    def _launch(
        self,
        block: CodeBlock,
        script: str,
        workspace: Path,
        limits: ExecLimits,
        seccomp_fd: int | None = None,
    ) -> Launch:
        token = procs.new_token()
        command = [bwrap.interpreter(block.language, self._python)]
        if self._use_bwrap:
            assert self._bwrap is not None
            env = bwrap.environment(procs.MARKER, token, home="/tmp")
            argv = bwrap.bwrap_argv(
                self._bwrap,
                workspace=workspace,
                code_dir=self._code.path,
                env=env,
                limits=limits,
                uid=self._uid,
                allow_network=self._allow_network,
                extra_binds=self._extra_binds,
                seccomp_fd=seccomp_fd,
                disable_userns=self._disable_userns,
            )
            argv += bwrap.inner(limits, self._uid, [*command, f"{bwrap.CODE}/{script}"])
        else:
            env = bwrap.environment(procs.MARKER, token, home=str(workspace))
            argv = [*(self._prefix or []), *bwrap.inner(limits, self._uid, command)]
            argv.append(str(self._code.path / script))
        # As root, bubblewrap itself stays root (it must reach the workspace, wherever
        # it is) and drops to the uid inside; so does `unshare` in the fallback.
        scan_uid = self._uid if bwrap.is_root() else None
        fds = (seccomp_fd,) if seccomp_fd is not None else ()
        return Launch(
            argv, env, workspace, token, scan_uid=scan_uid, settle_seconds=1.0, pass_fds=fds
        )

    # --- probing -------------------------------------------------------------------------

    async def _probe_bwrap(self) -> str | None:
        """None if bubblewrap can run a trivial sandbox here, else what went wrong."""
        if self._bwrap is None:
            return f"{self._bwrap_name!r} was not found on PATH (apt-get install bubblewrap)"
        guard = None
        if not self._disable_userns and seccomp.supported():
            guard = _program_pipe(seccomp.no_user_namespaces())
        with tempfile.TemporaryDirectory(prefix="orchestrator-probe-") as folder:
            argv = bwrap.bwrap_argv(
                self._bwrap,
                workspace=Path(folder),
                code_dir=self._code.path,
                env={"PATH": bwrap.SANDBOX_PATH},
                limits=ExecLimits(),
                uid=self._uid,
                allow_network=self._allow_network,
                seccomp_fd=guard,
                disable_userns=self._disable_userns,
            )
            argv += bwrap.inner(ExecLimits(), self._uid, ["true"])
            try:
                return await _try(argv, pass_fds=(guard,) if guard is not None else ())
            finally:
                if guard is not None:
                    os.close(guard)

    async def _choose_fallback(self, problem: str) -> None:
        for prefix, isolated in bwrap.fallback_prefixes(self._allow_network):
            if prefix and await _try([*prefix, "true"]) is not None:
                continue
            self._prefix = prefix
            self._warnings = _fallback_warnings(problem, isolated, self._allow_network)
            return


def _program_pipe(program: bytes) -> int:
    """The read end of a pipe that holds `program` (small enough for the pipe's buffer)."""
    read, write = os.pipe()
    try:
        os.write(write, program)
    finally:
        os.close(write)
    return read


async def _try(argv: list[str], pass_fds: tuple[int, ...] = ()) -> str | None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            pass_fds=pass_fds,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), PROBE_SECONDS)
    except (OSError, TimeoutError) as exc:
        return f"{argv[0]} could not run: {exc}"
    if proc.returncode != 0:
        return f"{argv[0]} failed: {err.decode(errors='replace').strip() or proc.returncode}"
    return None


def _fallback_warnings(problem: str, isolated: set[str], allow_network: bool) -> tuple[str, ...]:
    who = "uid 65534 (nobody)" if bwrap.is_root() else "your own user"
    warnings = [
        f"SANDBOX DEGRADED: bubblewrap is unavailable ({problem}). Code runs with rlimits "
        f"but WITHOUT filesystem isolation: it can read and write whatever {who} can, "
        "not only the workspace."
    ]
    if "network" not in isolated and not allow_network:
        warnings.append(
            "NETWORK NOT ISOLATED: no network namespace could be created, "
            "so the code can reach the network and local services."
        )
    if "processes" not in isolated:
        warnings.append(
            "NO PID NAMESPACE: processes left behind are found by an environment marker "
            "and killed; one that clears its environment escapes that."
        )
    return tuple(warnings)
