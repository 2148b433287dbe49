"""One MCP server connection with every wait bounded.

The SDK's `Client` is an anyio context manager that must be entered and left in the same
task, so each connection lives in a worker task of its own; calls from the specialist's
step are awaited with a timeout. A server that crashes, hangs or answers garbage raises
`ServerFailed` (a message for the model and the orchestrator), and the next call starts
the server again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from specialists.mcp_tools.settings import ServerSettings

REQUEST_ERRORS = {-32602, -32601, -32603}  # JSON-RPC: invalid params, no such method, internal
STOP_SECONDS = 5.0
STDERR_TAIL = 400  # characters of a failed server's stderr quoted in the error  # to shut a server down before the worker is cancelled


class ServerFailed(Exception):
    """The server could not be reached, crashed, hung or answered something unusable."""


@dataclass(frozen=True)
class ToolInfo:
    server: str
    name: str
    description: str
    schema: dict[str, Any]
    read_only: bool  # the server's own annotation; anything else may change something


@dataclass(frozen=True)
class ToolResult:
    text: str
    is_error: bool


class Connection:
    def __init__(self, name: str, settings: ServerSettings) -> None:
        self.name = name
        self.settings = settings
        self._client: Any = None
        self._worker: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._errlog: IO[str] | None = None  # a stdio server's stderr, for error messages

    async def tools(self) -> list[ToolInfo]:
        client = await self._connected()
        listed = await self._bounded(client.list_tools(), "listing its tools")
        found = []
        for tool in getattr(listed, "tools", None) or []:
            annotations = getattr(tool, "annotations", None)
            schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
            found.append(
                ToolInfo(
                    server=self.name,
                    name=str(tool.name),
                    description=str(tool.description or tool.title or ""),
                    schema=schema or {"type": "object", "properties": {}},
                    read_only=bool(annotations is not None and annotations.read_only_hint),
                )
            )
        return found

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolResult:
        client = await self._connected()
        result = await self._bounded(
            client.call_tool(tool, arguments, read_timeout_seconds=self.settings.call_seconds),
            f"running {tool}",
        )
        return ToolResult(_text_of(result), bool(getattr(result, "is_error", False)))

    async def close(self) -> None:
        worker, self._worker, self._client = self._worker, None, None
        if worker is None:
            return
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(worker), STOP_SECONDS)
        if not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(worker, STOP_SECONDS)
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    # --- the worker -------------------------------------------------------------------

    async def _connected(self) -> Any:
        if self._worker is not None and self._worker.done():
            await self.close()  # it crashed: start it again
        if self._client is not None:
            return self._client
        self._stop = asyncio.Event()
        ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._worker = asyncio.create_task(self._serve(ready), name=f"mcp server {self.name}")
        try:
            self._client = await asyncio.wait_for(
                asyncio.shield(ready), self.settings.start_seconds
            )
        except TimeoutError:
            await self.close()
            raise ServerFailed(
                f"MCP server {self.name!r} ({self.settings.where()}) did not start within "
                f"{self.settings.start_seconds:g}s"
            ) from None
        except ServerFailed:
            await self.close()
            raise
        return self._client

    async def _serve(self, ready: asyncio.Future[Any]) -> None:
        from mcp import Client

        try:
            async with Client(
                self._target(), read_timeout_seconds=self.settings.call_seconds
            ) as client:
                if not ready.done():
                    ready.set_result(client)
                await self._stop.wait()
        except BaseException as exc:  # the SDK raises exception groups; name the cause
            if not ready.done():
                ready.set_exception(
                    ServerFailed(
                        f"MCP server {self.name!r} ({self.settings.where()}) failed to start: "
                        f"{_cause(exc)}{self._stderr_tail()}"
                    )
                )
            if not isinstance(exc, Exception):  # cancellation, Ctrl-C: not ours to swallow
                raise

    def _target(self) -> Any:
        from mcp import StdioServerParameters, stdio_client

        if self.settings.url is not None:
            return self.settings.url
        assert self.settings.command is not None
        if self._errlog is not None:
            self._errlog.close()
        # Not our terminal: a server's log lines would garble the live view.
        self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed in close())
        params = StdioServerParameters(
            command=_program(self.settings.command),
            args=[os.path.expanduser(a) for a in self.settings.args],
            env=dict(self.settings.env) or None,
            cwd=self.settings.cwd.expanduser() if self.settings.cwd else None,
        )
        return stdio_client(params, errlog=self._errlog)

    def _stderr_tail(self) -> str:
        """The end of what a stdio server wrote to stderr, on one line, for an error message."""
        if self._errlog is None or self._errlog.closed:
            return ""
        try:  # pread: the server shares this file's offset and may still be writing
            fd = self._errlog.fileno()
            end = os.fstat(fd).st_size
            raw = os.pread(fd, STDERR_TAIL * 4, max(0, end - STDERR_TAIL * 4))
        except (OSError, ValueError):
            return ""
        text = raw.decode("utf-8", errors="replace")[-STDERR_TAIL:]
        text = " ".join(text.split())
        return f" (its stderr ends: {text})" if text else ""

    async def _bounded(self, call: Any, doing: str) -> Any:
        worker = self._worker
        assert worker is not None
        task = asyncio.ensure_future(call)
        # Whichever comes first: the answer, the server's worker ending (a crash), the limit.
        done, _ = await asyncio.wait(
            {task, worker}, timeout=self.settings.call_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        if task not in done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, STOP_SECONDS)
            crashed = worker in done
            why = "exited" if crashed else f"did not answer within {self.settings.call_seconds:g}s"
            tail = self._stderr_tail() if crashed else ""
            await self.close()
            raise ServerFailed(f"MCP server {self.name!r} {why} while {doing}{tail}")
        try:
            return task.result()
        except Exception as exc:
            message = f"MCP server {self.name!r} failed while {doing}: {_cause(exc)}"
            if worker.done() or _is_transport_failure(exc):
                message += self._stderr_tail()
                await self.close()
            raise ServerFailed(message) from None


def _program(command: str) -> str:
    """The command as given, found on PATH, or else next to this Python: a server installed
    in orchestrator's own environment is found even when that environment is not active."""
    command = os.path.expanduser(command)
    if os.sep in command or shutil.which(command):
        return command
    beside = Path(sys.executable).parent / command
    return str(beside) if beside.is_file() else command


def _text_of(result: Any) -> str:
    parts = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(str(block.text))
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} content, {getattr(block, 'mime_type', '?')}, not shown]")
        elif kind == "resource":
            resource = getattr(block, "resource", None)
            parts.append(
                str(
                    getattr(resource, "text", None) or f"[resource {getattr(resource, 'uri', '?')}]"
                )
            )
        elif kind == "resource_link":
            parts.append(f"[link to {getattr(block, 'uri', '?')}]")
        else:
            parts.append(f"[{kind or 'unknown'} content]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(str(structured))
    return "\n".join(parts)


def _cause(exc: BaseException) -> str:
    """The innermost message of an exception (group), on one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _is_transport_failure(exc: BaseException) -> bool:
    """Anything but the server refusing one request (bad arguments, unknown tool) means
    the connection is unusable: drop it, so the next call starts the server again."""
    from mcp import MCPError

    return not isinstance(exc, MCPError) or exc.code not in REQUEST_ERRORS
