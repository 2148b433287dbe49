"""`orchestrator serve` as a real subprocess on 127.0.0.1, for the service tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "OPENAI_API_KEY" and not k.startswith("ORCHESTRATOR_")
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    runs_dir: Path

    def client(self, token: str | None = None, timeout: float = 10.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start(
    runs_dir: Path, *args: str, env: Mapping[str, str] | None = None, port: int = 0
) -> Server:
    port = port or free_port()
    log = runs_dir.parent / f"serve-{port}-{time.monotonic_ns()}.log"
    runs_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [str(ORCHESTRATOR), "serve", "--port", str(port), "--runs-dir", str(runs_dir), *args],
            env=dict(env or clean_env()),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log, runs_dir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}): {server.output()}")
        try:
            if httpx.get(f"{server.url}/openapi.json", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the server did not start: {server.output()}")


def sse_events(
    client: httpx.Client, run_id: str, *, last: int | None = None, stop_after: int | None = None
) -> Iterator[dict[str, Any]]:
    """Parse a run's SSE stream into {"id", "event", "data"} dicts, until `end` (or
    until `stop_after` events, then disconnect)."""
    import json

    headers = {"Last-Event-ID": str(last)} if last is not None else {}
    seen = 0
    with client.stream("GET", f"/api/runs/{run_id}/events", headers=headers, timeout=60) as reply:
        assert reply.status_code == 200, reply.read()
        message: dict[str, Any] = {}
        for line in reply.iter_lines():
            if line == "":
                if "event" in message:
                    if message["event"] == "end":
                        return
                    yield message
                    seen += 1
                    if stop_after is not None and seen >= stop_after:
                        return
                message = {}
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                message["data"] = json.loads(value)
            elif field in ("id", "event"):
                message[field] = value
