"""Run a converter in a child process with a time cap and an address-space cap.

A converter (mammoth, python-pptx, openpyxl, xlrd, BeautifulSoup) can be made to use
gigabytes or minutes by a small hostile file, and a thread cannot be stopped. So the
conversion runs in a process forked from a forkserver (single-threaded, the converter
libraries already imported, so a fork costs milliseconds): it gets `RLIMIT_AS` of its
current size plus a budget, and is killed when the time cap passes. Either way the
result is a FileProblem that says which limit was hit.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from specialists.file_surfer.document import FileProblem

T = TypeVar("T")
PRELOAD = ["specialists.file_surfer.convert"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * resource.getpagesize()


def _child(
    conn: Connection, func: Callable[..., Any], args: tuple[Any, ...], memory_mb: int, cpu_s: int
) -> None:
    limit = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    try:
        conn.send(("ok", func(*args)))
    except FileProblem as exc:
        conn.send(("problem", str(exc)))
    except MemoryError:
        conn.send(("memory", ""))
    except Exception as exc:  # a converter's own bug on a strange file: say what it was
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def run_bounded(
    func: Callable[..., T], args: tuple[Any, ...], *, name: str, seconds: float, memory_mb: int
) -> T:
    """`func(*args)` run in a bounded child process; its FileProblem is raised here, and
    every limit it hits becomes a FileProblem naming `name` and the limit."""
    receive, send = _context.Pipe(duplex=False)
    process = _context.Process(
        target=_child, args=(send, func, args, memory_mb, int(seconds) + 2), daemon=True
    )
    process.start()
    send.close()
    try:
        if not receive.poll(seconds):
            raise FileProblem(
                f"{name}: converting it took longer than {seconds:g} s and was stopped "
                "(specialists.file_surfer.convert_seconds)"
            )
        try:
            status, value = receive.recv()
        except EOFError:
            process.join(5)
            raise FileProblem(_died(name, process.exitcode, memory_mb)) from None
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        process.join(5)
        process.close()
    if status == "ok":
        result: T = value
        return result
    if status == "problem":
        raise FileProblem(value)
    if status == "memory":
        raise FileProblem(_memory(name, memory_mb))
    raise FileProblem(f"{name} could not be converted (malformed?): {value}")


def _memory(name: str, memory_mb: int) -> str:
    return (
        f"{name}: converting it needed more than {memory_mb} MB of memory and was stopped "
        "(specialists.file_surfer.convert_memory_mb); it may be a decompression bomb"
    )


def _died(name: str, exitcode: int | None, memory_mb: int) -> str:
    if exitcode is not None and exitcode < 0:
        return f"{name}: the converter was killed (signal {-exitcode}); " + _memory(name, memory_mb)
    return f"{name}: the converter stopped without a result (exit code {exitcode})"
