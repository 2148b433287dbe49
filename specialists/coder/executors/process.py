"""Running one program as a child process: bounded output, a wall clock, nothing left over.

Shared by the sandbox (which launches bubblewrap) and the local executor. The child is
the leader of a new session, so the timeout can kill its whole process group, and it is
killed by the kernel if the orchestrator dies (armed before exec, so there is no window
in which a killed orchestrator leaves it running without a clock); output is
pumped incrementally into capped buffers; after the child is gone, processes carrying
the run's marker are found in /proc and killed, and counted as left behind.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from specialists.coder.executors import procs
from specialists.coder.executors.base import ExecLimits, ExecResult
from specialists.coder.executors.capture import CHUNK, CappedOutput, pump
from specialists.coder.executors.verdict import judge

READ_GRACE = 2.0  # seconds to drain the pipes once no process is left to write to them


@dataclass(frozen=True)
class Launch:
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path
    token: str  # the run's marker, also set in `env`
    scan_uid: int | None = None  # the uid the run's processes have (None: any)
    settle_seconds: float = 0.0  # time for a dying pid namespace to empty out
    pass_fds: tuple[int, ...] = ()  # descriptors the child inherits (a seccomp program)


@dataclass(frozen=True)
class Finished:
    exit_code: int | None
    stdout: CappedOutput
    stderr: CappedOutput
    duration: float
    timed_out: bool
    runaway: bool
    leftovers: int
    oom_killed: bool = False


def to_result(
    finished: Finished, files: tuple[Path, ...], limits: ExecLimits, warnings: tuple[str, ...]
) -> ExecResult:
    stderr = finished.stderr.text()
    limit, reason = judge(
        exit_code=finished.exit_code,
        stderr_tail=stderr,
        limits=limits,
        timed_out=finished.timed_out,
        runaway=finished.runaway,
        oom_killed=finished.oom_killed,
    )
    return ExecResult(
        exit_code=finished.exit_code,
        stdout=finished.stdout.text(),
        stderr=stderr,
        duration=finished.duration,
        files=files,
        stdout_bytes=finished.stdout.total,
        stderr_bytes=finished.stderr.total,
        truncated=finished.stdout.truncated or finished.stderr.truncated,
        timed_out=finished.timed_out,
        limit=limit,
        reason=reason,
        leftovers_killed=finished.leftovers,
        warnings=warnings,
    )


class _Watched(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's own protocol, plus an event for the moment the child exits.

    `Process.wait()` only returns once the pipes are closed too, and a daemonised child
    can hold them open forever; the run must end when the child does.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.transport = transport

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def _spawn(launch: Launch) -> tuple[asyncio.subprocess.Process, _Watched]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Watched(CHUNK, loop),
        *launch.argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=launch.cwd,
        env=dict(launch.env),
        start_new_session=True,
        pass_fds=launch.pass_fds,
        preexec_fn=procs.die_with_parent(os.getpid()),
    )
    return asyncio.subprocess.Process(transport, protocol, loop), protocol


async def run_process(launch: Launch, limits: ExecLimits) -> Finished:
    started = time.monotonic()
    ceiling = limits.max_output_mb * 1024 * 1024
    out = CappedOutput(limits.output_bytes, ceiling)
    err = CappedOutput(limits.output_bytes, ceiling)
    proc, watched = await _spawn(launch)
    runaway = False

    def stop_runaway() -> None:
        nonlocal runaway
        runaway = True
        procs.kill_group(proc.pid)

    assert proc.stdout is not None
    assert proc.stderr is not None
    readers = [
        asyncio.create_task(pump(proc.stdout, out, stop_runaway)),
        asyncio.create_task(pump(proc.stderr, err, stop_runaway)),
    ]
    timed_out = False
    try:
        try:
            await asyncio.wait_for(watched.exited.wait(), limits.timeout_seconds)
        except TimeoutError:
            timed_out = True
            procs.kill_group(proc.pid)
            await watched.exited.wait()
        duration = time.monotonic() - started
        leftovers = await asyncio.to_thread(_clear_leftovers, launch, proc.pid)
        await _drain(readers, watched)
        await proc.wait()
    except BaseException:  # cancelled mid-run: leave nothing behind, then carry on cancelling
        procs.kill_group(proc.pid)
        procs.kill_marked(launch.token, uid=launch.scan_uid)
        for reader in readers:
            reader.cancel()
        if watched.transport is not None:
            watched.transport.close()
        raise
    killed_by_us = timed_out or runaway
    return Finished(
        exit_code=None if killed_by_us else proc.returncode,
        stdout=out,
        stderr=err,
        duration=duration,
        timed_out=timed_out,
        runaway=runaway,
        leftovers=leftovers,
    )


def _clear_leftovers(launch: Launch, pid: int) -> int:
    """Kill what outlived the run; return how many there were."""
    uid = launch.scan_uid
    deadline = time.monotonic() + launch.settle_seconds
    while procs.marked(launch.token, uid=uid) and time.monotonic() < deadline:
        time.sleep(0.01)  # a pid namespace being torn down: its processes are dying
    left = procs.kill_marked(launch.token, uid=uid)
    procs.kill_group(pid)  # stragglers of the group without the marker
    return left


async def _drain(readers: list[asyncio.Task[None]], watched: _Watched) -> None:
    done, pending = await asyncio.wait(readers, timeout=READ_GRACE)
    if pending:  # a process we cannot see still holds a pipe: stop reading, close ours
        for reader in pending:
            reader.cancel()
        if watched.transport is not None:
            watched.transport.close()
    for reader in done:
        reader.result()
