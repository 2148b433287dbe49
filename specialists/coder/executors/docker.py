"""The docker executor: one fresh, locked-down container per code block.

Via the `docker` SDK (its calls block, so they run in threads). Each block gets a new
container from a locally built image (`sandbox-image/build.sh`): no network by default,
memory/CPU/pids limits and rlimits, a read-only root with a size-capped /tmp, the
workspace bind-mounted read-write at /workspace, the source read-only at /code, an
unprivileged user with every capability dropped, and no log driver (output is read live
from the attach stream, capped, so gigabytes never reach the engine's disk or our memory).

Containers are labelled, removed after every block, again at `close()` and at interpreter
exit, and containers left by an orchestrator process that no longer exists are reaped
at start-up (see `engine.py`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from specialists.coder.executors import bwrap, engine, procs
from specialists.coder.executors.base import CodeBlock, ExecLimits, ExecResult
from specialists.coder.executors.capture import CappedOutput
from specialists.coder.executors.process import Finished, to_result
from specialists.coder.executors.workspace import CodeDir, before_run, changes, snapshot

NOBODY = 65534
KILL_GRACE = 10.0  # seconds for the engine to confirm a killed container has stopped


class DockerExecutor:
    name = "docker"

    def __init__(
        self,
        *,
        image: str,
        run_id: str = "",
        allow_network: bool = False,
        uid: int = NOBODY,
    ) -> None:
        self._image = image
        self._run_id = run_id
        self._allow_network = allow_network
        self._uid = uid
        self._owner = engine.owner_label()
        self._client: Any = None
        self._code = CodeDir()
        self._lock = asyncio.Lock()
        self.reaped_at_start = 0

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    async def start(self) -> None:
        """Connect, check the image, and reap containers of dead orchestrators."""
        async with self._lock:
            if self._client is None:
                self._client = await asyncio.to_thread(engine.connect, self._image)
                self.reaped_at_start = await asyncio.to_thread(engine.reap_orphans, self._client)
                atexit.register(self._reap_own)

    async def run(self, block: CodeBlock, workspace: Path, limits: ExecLimits) -> ExecResult:
        await self.start()
        script = self._code.write(block)
        workspace, before = await asyncio.to_thread(before_run, workspace, self._owner_uid())
        token = procs.new_token()
        container = await asyncio.to_thread(self._create, block, script, workspace, limits, token)
        try:
            finished = await self._attend(container, limits)
        except BaseException:
            engine.remove(container)  # cancelled: a blocking remove beats a container left running
            raise
        await asyncio.to_thread(engine.remove, container)
        left = await asyncio.to_thread(procs.kill_marked, token)
        if left:  # nothing should outlive its container; verified, not assumed
            finished = replace(finished, leftovers=left)
        after = await asyncio.to_thread(snapshot, workspace)
        return to_result(finished, changes(before, after), limits, self.warnings)

    async def close(self) -> None:
        if self._client is not None:
            await asyncio.to_thread(self._reap_own)
            atexit.unregister(self._reap_own)
            self._client.close()
            self._client = None
        self._code.remove()

    # --- containers ----------------------------------------------------------------------

    def _owner_uid(self) -> int | None:
        return self._uid if bwrap.is_root() else None

    def _create(
        self, block: CodeBlock, script: str, workspace: Path, limits: ExecLimits, token: str
    ) -> Any:
        from docker.types import Ulimit

        mb = 1024 * 1024
        shell = "bash" if block.language == "sh" else "python3"
        cpu = max(1, int(limits.cpu_seconds))
        return self._client.containers.create(
            self._image,
            [shell, f"{bwrap.CODE}/{script}"],
            user=f"{self._uid}:{self._uid}",
            working_dir=bwrap.WORKSPACE,
            environment=bwrap.environment(procs.MARKER, token, home="/tmp"),
            labels=engine.labels(self._owner, self._run_id),
            network_mode=None if self._allow_network else "none",
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.processes,
            ulimits=[
                Ulimit(name="cpu", soft=cpu, hard=cpu + 1),
                Ulimit(name="fsize", soft=limits.file_size_mb * mb, hard=limits.file_size_mb * mb),
                Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                Ulimit(name="core", soft=0, hard=0),
            ],
            read_only=True,
            tmpfs={"/tmp": f"size={limits.file_size_mb}m,mode=1777"},
            volumes={
                str(workspace): {"bind": bwrap.WORKSPACE, "mode": "rw"},
                str(self._code.path): {"bind": bwrap.CODE, "mode": "ro"},
            },
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            hostname="sandbox",
            init=True,  # the program is not pid 1, so SIGXCPU & co. act as they should
            log_config={"type": "none"},
        )

    async def _attend(self, container: Any, limits: ExecLimits) -> Finished:
        """Start the container, read its output, enforce the wall clock, collect status."""
        ceiling = limits.max_output_mb * 1024 * 1024
        out = CappedOutput(limits.output_bytes, ceiling)
        err = CappedOutput(limits.output_bytes, ceiling)
        started = time.monotonic()
        reading = asyncio.ensure_future(asyncio.to_thread(_stream, container, out, err))
        timed_out = False
        try:
            try:
                await asyncio.wait_for(asyncio.shield(reading), limits.timeout_seconds)
            except TimeoutError:
                timed_out = True
                await asyncio.to_thread(_kill, container)
            await reading  # the stream ends once the container has stopped
        except BaseException:
            # Cancelled: the caller removes the container, which ends the reading thread;
            # its outcome no longer matters, but must not be reported as never retrieved.
            reading.add_done_callback(_ignore_outcome)
            raise
        duration = time.monotonic() - started
        state = await asyncio.to_thread(_final_state, container)
        runaway = out.runaway or err.runaway
        killed_by_us = timed_out or runaway
        return Finished(
            exit_code=None if killed_by_us else state.get("ExitCode"),
            stdout=out,
            stderr=err,
            duration=duration,
            timed_out=timed_out,
            runaway=runaway,
            leftovers=0,
            oom_killed=bool(state.get("OOMKilled")),
        )

    def _reap_own(self) -> None:
        if self._client is not None:
            engine.remove_owned(self._client, self._owner)


def _stream(container: Any, out: CappedOutput, err: CappedOutput) -> None:
    """Read the attach stream (blocking) to its end, killing the container if it runs away.

    Reading goes on after the kill: an engine whose attach stream is not drained can take
    a long time to let a killed container go.
    """
    from docker.utils.socket import frames_iter

    api = container.client.api
    sock = api.attach_socket(container.id, params={"stdout": 1, "stderr": 1, "stream": 1})
    killer: threading.Thread | None = None
    try:
        api._disable_socket_timeout(sock)  # private but long-stable: a quiet program is fine
        container.start()
        for stream_id, data in frames_iter(sock, tty=False):
            (out if stream_id == 1 else err).feed(data)
            if killer is None and (out.runaway or err.runaway):
                killer = threading.Thread(target=_kill, args=(container,), daemon=True)
                killer.start()
    finally:
        getattr(sock, "_sock", sock).close()  # the socket itself, not only its file wrapper
        sock.close()
        if killer is not None:
            killer.join()


def _ignore_outcome(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _kill(container: Any) -> None:
    import docker

    with contextlib.suppress(docker.errors.APIError):  # it stopped by itself meanwhile
        container.kill()
    # A slow engine may not confirm in time: the forced removal that follows still works.
    with contextlib.suppress(Exception):
        container.wait(timeout=KILL_GRACE)


def _final_state(container: Any) -> dict[str, Any]:
    container.wait(timeout=KILL_GRACE)
    container.reload()
    state: dict[str, Any] = container.attrs.get("State", {})
    return state
