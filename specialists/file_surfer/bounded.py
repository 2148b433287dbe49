"""Run a converter in a child process with a time cap and an address-space cap.

A converter (mammoth, python-pptx, openpyxl, xlrd, BeautifulSoup) can be made to use
gigabytes or minutes by a small hostile file, and a thread cannot be stopped. So each
conversion runs in a process forked from a long-lived worker (`convert_worker`, started
on first use: single-threaded, the converter libraries already imported, so a fork
costs milliseconds). The forked process gets `RLIMIT_AS` of its current size plus a
budget and `RLIMIT_CPU` of the time cap, and is killed at 1.2 times the cap in wall
time; either way the result is a FileProblem
that says which limit was hit. (multiprocessing's forkserver would re-import the
program's `__main__` in every child, so the worker is our own.)
"""

from __future__ import annotations

import atexit
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from specialists.file_surfer.document import FileProblem

T = TypeVar("T")
HEADER = struct.Struct("!Q")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding `specialists`


def write_message(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any:
    """One message; EOFError at the end of the stream, the unpickling error if its content
    cannot be rebuilt here (the stream is then still in step)."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError("the stream ended")
    size = HEADER.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the stream ended inside a message")
    return pickle.loads(data)


class _Worker:
    """The worker process and the lock that serialises jobs to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self.peak_rss_kb = 0  # the largest peak RSS of any conversion so far

    def run(self, job: tuple[Any, ...]) -> tuple[str, Any]:
        with self._lock:
            process = self._started()
            assert process.stdin is not None
            assert process.stdout is not None
            try:
                write_message(process.stdin, job)
                status, value, rss_kb = read_message(process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError) as exc:
                self._stop()
                return "error", f"the converter process failed ({exc})"
            self.peak_rss_kb = max(self.peak_rss_kb, rss_kb)
            return status, value

    def warm_up(self) -> None:
        """Start the worker now, so its imports overlap other work, not the first file."""
        with self._lock:
            self._started()

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
            )
            self._process = subprocess.Popen(
                [sys.executable, "-m", "specialists.file_surfer.convert_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        return self._process

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.stdin is not None:
                self._process.stdin.close()  # the worker ends at end of input
                try:
                    self._process.wait(5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                self._process = None


WORKER = _Worker()
atexit.register(WORKER.close)


def run_bounded(
    func: Callable[..., T], args: tuple[Any, ...], *, name: str, seconds: float, memory_mb: int
) -> T:
    """`func(*args)` run in a bounded child process; its FileProblem is raised here, and
    every limit it hits becomes a FileProblem naming `name` and the limit."""
    status, value = WORKER.run((func, args, seconds, memory_mb))
    if status == "ok":
        result: T = value
        return result
    if status == "problem":
        raise FileProblem(value)
    if status == "timeout":
        raise FileProblem(
            f"{name}: converting it took longer than {value} and was stopped "
            "(specialists.file_surfer.convert_seconds)"
        )
    if status == "memory":
        raise FileProblem(
            f"{name}: converting it needed more than {memory_mb} MB of memory and was "
            "stopped (specialists.file_surfer.convert_memory_mb); it may be a decompression bomb"
        )
    raise FileProblem(f"{name} could not be converted (malformed?): {value}")
