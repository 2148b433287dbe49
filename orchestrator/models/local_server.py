"""llama.cpp model servers run as child processes, one per (GGUF, context length), shared.

Every client of the same model in this process shares one server: `acquire` starts it
(or adds a user), `release` drops a user and stops it when none is left, and whatever is
still running at exit is stopped. The child exits by itself if we die (see llama_child).
Startup is bounded; a server that dies or never answers is reported with the end of its
own log, which is where llama.cpp explains itself.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from specialists.models.protocol import ModelConfigError, ProviderError

LOG_TAIL_CHARS = 1500


@dataclass(frozen=True)
class ServerKey:
    gguf: Path
    n_ctx: int


@dataclass
class LocalServer:
    key: ServerKey
    startup_timeout: float
    port: int = 0
    users: int = 0
    load_seconds: float | None = None  # start to first answer of the running process
    _process: subprocess.Popen[bytes] | None = None
    _log: Path | None = None
    _ready: bool = False
    _started: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_ready(self) -> None:
        """Start the process if it is not running, then wait until it answers (blocking;
        call it from a thread). Raises ProviderError if it dies or does not answer."""
        with self._lock:
            if self._process is not None and self._process.poll() is not None:
                self._ready = False  # it died since: start a fresh one
            if self._ready:
                return
            self._spawn()
            self._await_answer()
            self._ready = True

    def exit_note(self) -> str | None:
        """Why the process is gone, if it is: its exit status and the end of its log."""
        process = self._process
        if process is None or process.poll() is None:
            return None
        return f"the llama.cpp server exited with status {process.returncode}: {self._tail()}"

    def stop(self) -> None:
        with self._lock:
            process, self._process, self._ready = self._process, None, False
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process is not None and process.stdin is not None:
                process.stdin.close()
            if self._log is not None:
                self._log.unlink(missing_ok=True)
                self._log = None

    def _spawn(self) -> None:
        if self._process is not None:
            self._process.wait()  # already exited; reap it
            if self._process.stdin is not None:
                self._process.stdin.close()
        if self._log is None:
            fd, name = tempfile.mkstemp(prefix="orchestrator-llama-", suffix=".log")
            os.close(fd)
            self._log = Path(name)
        self.port = _free_port()
        command = [
            sys.executable,
            "-m",
            "orchestrator.models.llama_child",
            "--model",
            str(self.key.gguf),
            "--model_alias",
            self.key.gguf.stem,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.key.n_ctx),
        ]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT
            )
        self._started = time.monotonic()

    def _await_answer(self) -> None:
        assert self._process is not None
        deadline = self._started + self.startup_timeout
        url = f"http://127.0.0.1:{self.port}/v1/models"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ProviderError(f"{self._what()}: {self.exit_note()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    self.load_seconds = round(time.monotonic() - self._started, 3)
                    return
            time.sleep(0.1)
        self._process.kill()
        self._process.wait()
        raise ProviderError(
            f"{self._what()}: no answer within {self.startup_timeout:g}s of starting "
            f"(raise the model's timeout for a large GGUF); its log ends: {self._tail()}"
        )

    def _what(self) -> str:
        return f"local model {self.key.gguf.name} (n_ctx {self.key.n_ctx})"

    def _tail(self) -> str:
        if self._log is None or not self._log.exists():
            return "(no log)"
        text = self._log.read_bytes()[-LOG_TAIL_CHARS:].decode("utf-8", "replace").strip()
        return text or "(empty log)"


_servers: dict[ServerKey, LocalServer] = {}
_registry_lock = threading.Lock()


def acquire(gguf: Path, n_ctx: int, startup_timeout: float) -> LocalServer:
    """The shared server for this model and context, with one more user. Nothing starts
    until its first `wait_ready`."""
    if not gguf.is_file():
        raise ModelConfigError(f"local model file not found: {gguf}")
    key = ServerKey(gguf.resolve(), n_ctx)
    with _registry_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = LocalServer(key, startup_timeout)
        server.users += 1
        return server


def release(server: LocalServer) -> None:
    with _registry_lock:
        server.users -= 1
        if server.users > 0:
            return
        _servers.pop(server.key, None)
    server.stop()


@atexit.register
def stop_all() -> None:
    with _registry_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
