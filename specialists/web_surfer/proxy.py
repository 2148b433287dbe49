"""A tiny forward proxy on 127.0.0.1 that enforces the URL policy on every connection.

Playwright's request routing does not see the hops of a redirect chain, so a public
page could redirect the browser to a private or cloud-metadata address. Every request
the browser makes goes through this proxy instead (Playwright proxies loopback too), so
each hop, subresource, frame and WebSocket is checked, and the connection goes to the
address that was checked (no DNS-rebinding window). Plain HTTP is forwarded one request
per connection (`Connection: close`); HTTPS is tunnelled (CONNECT) after the host check.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from urllib.parse import urlsplit

from specialists.web_surfer.policy import UrlPolicy

HEADER_LIMIT = 64 * 1024
READ_SECONDS = 30.0
CONNECT_SECONDS = 10.0
CHUNK = 64 * 1024
HOP_BY_HOP = {"connection", "proxy-connection", "proxy-authorization", "keep-alive"}

OnBlock = Callable[[str, str], None]  # (url, reason)


class PolicyProxy:
    def __init__(self, policy: UrlPolicy, on_block: OnBlock) -> None:
        self._policy = policy
        self._on_block = on_block
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> str:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.url

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (
            OSError,
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass  # a broken client or upstream ends just this connection
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(READ_SECONDS):
            head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > HEADER_LIMIT:
            raise ValueError("request head too large")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            await self._tunnel(reader, writer, host.strip("[]"), int(port or 443))
        else:
            await self._forward(reader, writer, method, target, version, lines[1:])

    async def _open(
        self, url: str, host: str, port: int, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        reason = await self._policy.check(url)
        if reason is not None:
            self._on_block(url, reason)
            body = f"Blocked by the web surfer's URL policy: {reason}".encode()
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return None
        address = await self._policy.address_for(host)
        async with asyncio.timeout(CONNECT_SECONDS):
            return await asyncio.open_connection(address, port)

    async def _tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int
    ) -> None:
        upstream = await self._open(f"https://{host}:{port}/", host, port, writer)
        if upstream is None:
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _pipe(reader, writer, *upstream)

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        target: str,
        version: str,
        header_lines: list[str],
    ) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "ws") or not parts.hostname:
            raise ValueError(f"not a proxy request: {target}")
        port = parts.port or 80
        upstream = await self._open(target, parts.hostname, port, writer)
        if upstream is None:
            return
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        kept = [
            h for h in header_lines if h and h.split(":", 1)[0].strip().lower() not in HOP_BY_HOP
        ]
        upgrade = any(h.lower().startswith("upgrade:") for h in kept)
        connection = "Connection: Upgrade" if upgrade else "Connection: close"
        head = "\r\n".join([f"{method} {path} {version}", *kept, connection, "", ""])
        upstream[1].write(head.encode("latin-1"))
        await _pipe(reader, writer, *upstream)


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if sink.can_write_eof():
                sink.write_eof()


async def _pipe(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until the upstream side is done (it closes after one response)."""
    to_upstream = asyncio.create_task(_copy(client_reader, upstream_writer))
    try:
        await _copy(upstream_reader, client_writer)
    finally:
        to_upstream.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError):
            await to_upstream
        upstream_writer.close()
