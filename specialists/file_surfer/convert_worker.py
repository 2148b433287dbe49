"""The converter worker: `python -m specialists.file_surfer.convert_worker`.

It reads jobs `(func, args, seconds, memory_mb)` from stdin and answers each with
`(status, value, peak_rss_kb)` on stdout. Every job runs in a process forked from here
(this process is single-threaded, so forking is safe) under `RLIMIT_AS` and
`RLIMIT_CPU` (the time cap, in CPU seconds), and is killed at WALL_FACTOR times the cap
in wall-clock time. Library output printed to stdout is sent
to stderr, so it cannot corrupt the answers.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import pickle
import resource
import select
import signal
import sys
import time
from typing import Any

import specialists.file_surfer.convert  # noqa: F401  (imported once, shared by every fork)
from specialists.file_surfer.bounded import read_message, write_message
from specialists.file_surfer.document import FileProblem

# The converters import these lazily; imported here once, every fork starts with them.
PRELOAD = (
    "openpyxl",
    "openpyxl.worksheet._reader",
    "xlrd",
    "defusedxml.ElementTree",
    "markitdown",
    "markitdown.converters",
    "bs4",
    "charset_normalizer",
)


def _preload() -> None:
    for module in PRELOAD:
        with contextlib.suppress(ImportError):  # its converter says so when it runs
            importlib.import_module(module)


# The time cap counts CPU seconds, so a busy machine does not fail a sound file at once;
# the wall clock backstops both a converter that waits and a machine too busy to finish.
WALL_FACTOR = 1.2


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _convert(job: tuple[Any, ...], out: int) -> None:
    """In the forked process: set the limits, run the job, write its outcome to `out`."""
    func, args, seconds, memory_mb = job
    limit = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = max(1, math.ceil(seconds))  # SIGXCPU then: the time cap, in CPU seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    outcome: tuple[str, Any]
    try:
        outcome = ("ok", func(*args))
    except FileProblem as exc:
        outcome = ("problem", str(exc))
    except MemoryError:
        outcome = ("memory", "")
    except RecursionError:
        outcome = ("error", "the file is nested too deeply")
    except Exception as exc:  # a converter's own failure on a strange file: say what it was
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = pickle.dumps(("memory", ""))
    with os.fdopen(out, "wb") as stream:
        stream.write(data)


def _collect(fd: int, seconds: float) -> bytes | None:
    """All the bytes written to `fd` until it closes, or None when `seconds` pass first."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1024 * 1024)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _run(job: tuple[Any, ...]) -> tuple[str, Any, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            _convert(job, write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        data = _collect(read_end, job[2] * WALL_FACTOR)
    finally:
        os.close(read_end)
    if data is None:
        os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    rss_kb = int(usage.ru_maxrss)
    if data is None:
        return "timeout", f"{job[2] * WALL_FACTOR:g} s", rss_kb
    if not data:  # killed: out of CPU time, or memory so short it could not even answer
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
            return "timeout", f"{job[2]:g} s of CPU time", rss_kb
        return "memory", "", rss_kb
    kind, value = pickle.loads(data)
    return kind, value, rss_kb


def main() -> None:
    _preload()
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's print() must not land among the answers
    jobs = sys.stdin.buffer
    while True:
        try:
            job = read_message(jobs)
        except EOFError:
            return
        except Exception as exc:  # e.g. a function this process cannot import
            write_message(answers, ("error", f"the job could not be read: {exc}", 0))
            continue
        write_message(answers, _run(job))


if __name__ == "__main__":
    main()
