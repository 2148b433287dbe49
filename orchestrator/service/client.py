"""The CLI as a client of `orchestrator serve`: `run --server URL` and `runs --server URL`.

The run's events arrive over SSE and go through the same `LiveView` as a local run; a
dropped connection is resumed with `Last-Event-ID`, so nothing is shown twice or missed.
A question or approval the team asks is answered here when stdin is a terminal;
otherwise it waits for someone to answer it over the API.
"""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from rich.console import Console

from orchestrator.columns import print_columns
from orchestrator.errors import OrchestratorError
from orchestrator.events import Event, HumanWaiting, parse_event
from orchestrator.live import LiveView

RECONNECTS = 20


class Remote:
    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise OrchestratorError(f"{self.url}: cannot reach the server ({exc})") from None
        if reply.status_code >= 400:
            try:
                message = reply.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = reply.text[:300]
            raise OrchestratorError(f"{self.url}{path}: {reply.status_code} {message}")
        return reply.json()

    def events(self, run_id: str) -> Iterator[Event]:
        """The run's events until it stops executing, reconnecting after a drop."""
        last, failures = 0, 0
        while True:
            try:
                for event in self._stream(run_id, last):
                    if event is None:
                        return
                    last, failures = event.seq, 0
                    yield event
                return
            except httpx.TransportError as exc:
                failures += 1
                if failures > RECONNECTS:
                    raise OrchestratorError(f"{self.url}: the event stream broke ({exc})") from None
                time.sleep(min(2.0, 0.1 * failures))

    def _stream(self, run_id: str, last: int) -> Iterator[Event | None]:
        headers = {"Last-Event-ID": str(last)}
        path = f"/api/runs/{run_id}/events"
        with self._http.stream("GET", path, headers=headers, timeout=None) as reply:
            if reply.status_code >= 400:
                raise OrchestratorError(f"{self.url}{path}: {reply.status_code}")
            kind, data = "", ""
            for line in reply.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "" and kind:
                    if kind == "end":
                        yield None
                        return
                    try:
                        event = parse_event(data)
                    except ValidationError:
                        event = None  # an event type this client does not know yet
                    if event is not None:
                        yield event
                    kind, data = "", ""

    def close(self) -> None:
        self._http.close()


def run(
    remote: Remote,
    task: str,
    *,
    team: Sequence[str] | None,
    limits: dict[str, Any],
    attach: Sequence[Path],
    console: Console,
    quiet: bool,
    model: str | None = None,
) -> dict[str, Any]:
    """Submit `task`, show it live, answer the team if we can; returns the finished run."""
    body: dict[str, Any] = {"task": task}
    if team:
        body["team"] = list(team)
    if model:
        body["model"] = model
    if limits:
        body["limits"] = limits
    if attach:
        body["attachments"] = [
            {"name": p.name, "content_base64": base64.b64encode(_read(p)).decode()} for p in attach
        ]
    created = remote.request("POST", "/api/runs", json=body)
    run_id = str(created["run_id"])
    view = None if quiet else LiveView(console)
    try:
        for event in remote.events(run_id):
            if view is not None:
                view(event)
            if isinstance(event, HumanWaiting):
                _answer(remote, run_id, event, console)
    except KeyboardInterrupt:
        console.print(
            f"\n[yellow]Detached.[/] The run goes on at {remote.url}; cancel it with:\n"
            f"  curl -X POST {remote.url}/api/runs/{run_id}/cancel",
            soft_wrap=True,
        )
        raise
    return dict(remote.request("GET", f"/api/runs/{run_id}"))


def _answer(remote: Remote, run_id: str, event: HumanWaiting, console: Console) -> None:
    if not sys.stdin.isatty():
        console.print(
            f"[magenta]The team waits for a person:[/] {event.prompt}  "
            f"[dim](answer at {remote.url}/api/runs/{run_id}/{event.kind}s/{event.id})[/]"
        )
        return
    import asyncio

    from orchestrator.terminal import read_line  # only with a terminal

    if event.kind == "question":
        console.print(f"\n[bold magenta]The team asks you:[/] {event.prompt}")
        text = asyncio.run(read_line("> ")) or None
        body: dict[str, Any] = {"answer": text}
    else:
        prompt = f"\nApprove {event.specialist}: {event.prompt}?\n  {event.detail}\n[y/N] "
        text = asyncio.run(read_line(prompt))
        body = {"approved": (text or "").strip().lower() in ("y", "yes")}
    try:
        remote.request("POST", f"/api/runs/{run_id}/{event.kind}s/{event.id}", json=body)
    except OrchestratorError as exc:  # someone else answered first
        console.print(f"[dim]{exc}[/]")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise OrchestratorError(f"attachment {path}: {exc.strerror or exc}") from None


def list_runs(remote: Remote, console: Console, limit: int) -> None:
    runs = remote.request("GET", "/api/runs", params={"limit": limit})["runs"]
    rows = [["run", "state", "status", "stop", "rounds", "tokens", "task"]]
    for r in runs:
        rows.append(
            [
                r["run_id"],
                r["state"],
                r["status"] or "-",
                r["stop_reason"] or "-",
                "-" if r["rounds"] is None else str(r["rounds"]),
                "-" if r["tokens"] is None else f"{r['tokens']:,}",
                " ".join(str(r["task"]).split()),
            ]
        )
    print_columns(console, f"Runs at {remote.url}", rows, flexible=6)


def limits_from(
    max_rounds: int | None, max_seconds: float | None, max_cost: float | None = None
) -> dict[str, Any]:
    given = {"max_rounds": max_rounds, "max_seconds": max_seconds, "max_cost_usd": max_cost}
    return {k: v for k, v in given.items() if v is not None}
