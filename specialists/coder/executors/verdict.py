"""Why a run ended the way it did, in one sentence.

Limits show up in different guises: our own timer and output ceiling, a signal from an
rlimit (SIGXCPU, SIGXFSZ), the OOM killer in a container, or an error the program printed
as it failed (Python's MemoryError, a fork that found no room). The first one that
explains the run becomes `ExecResult.limit`; others are mentioned in the sentence.
"""

from __future__ import annotations

import signal

from specialists.coder.executors.base import ExecLimits, Limit

_MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_PROCESS_SIGNS = (
    "BlockingIOError: [Errno 11]",
    "fork: retry",
    "Cannot fork",
    "fork: Resource temporarily unavailable",
    "can't fork",
)
_FILE_SIGNS = ("File too large",)


def signal_of(exit_code: int | None) -> int | None:
    """The signal that ended the program: negative codes, or a shell/bwrap's 128+n."""
    if exit_code is None:
        return None
    if exit_code < 0:
        return -exit_code
    if 128 < exit_code < 128 + 65:
        return exit_code - 128
    return None


def judge(
    *,
    exit_code: int | None,
    stderr_tail: str,
    limits: ExecLimits,
    timed_out: bool = False,
    runaway: bool = False,
    oom_killed: bool = False,
) -> tuple[Limit | None, str | None]:
    found = _limits_hit(exit_code, stderr_tail, timed_out, runaway, oom_killed)
    if not found:
        sig = signal_of(exit_code)
        if exit_code is not None and exit_code < 0 and sig is not None:
            return None, f"killed by signal {_signal_name(sig)}"
        return None, None
    sentences = [_describe(limit, limits) for limit in found]
    reason = sentences[0]
    if len(sentences) > 1:
        reason += "; it also " + "; ".join(s.split(": ", 1)[1] for s in sentences[1:])
    return found[0], reason


def _limits_hit(
    exit_code: int | None, stderr: str, timed_out: bool, runaway: bool, oom_killed: bool
) -> list[Limit]:
    found: list[Limit] = []
    if timed_out:
        found.append("timeout")
    if runaway:
        found.append("output")
    sig = signal_of(exit_code)
    # What a program printed only explains a failure: a run that succeeded may well
    # mention "MemoryError" (it caught one, or it is a linter's output).
    failed = exit_code not in (None, 0)
    said = stderr if failed else ""
    if oom_killed or any(s in said for s in _MEMORY_SIGNS):
        found.append("memory")
    if sig == signal.SIGXCPU:
        found.append("cpu")
    if sig == signal.SIGXFSZ or any(s in said for s in _FILE_SIGNS):
        found.append("file_size")
    if any(s in said for s in _PROCESS_SIGNS):
        found.append("processes")
    return found


def _describe(limit: Limit, limits: ExecLimits) -> str:
    return {
        "timeout": f"stopped: ran past the wall-clock limit of {limits.timeout_seconds:g} s",
        "output": f"stopped: printed more than {limits.max_output_mb} MB of output",
        "memory": f"failed: ran out of memory (limit {limits.memory_mb} MB)",
        "cpu": f"killed: used more than {limits.cpu_seconds} s of CPU time",
        "file_size": f"failed: wrote a file larger than the limit of {limits.file_size_mb} MB",
        "processes": f"failed: hit the limit of {limits.processes} processes",
    }[limit]


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)
