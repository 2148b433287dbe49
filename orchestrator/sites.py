"""Local folders served over HTTP on 127.0.0.1, for scenarios and tests.

A scenario names its sites; each is served on its fixed `port` or a free one (and, on
resume, on the port it had before, so URLs already in the transcript keep working).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import threading
from collections.abc import Iterator, Mapping
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser dropping a connection mid-response (BrokenPipe) is normal, not news.
        return None


class PortTaken(OrchestratorError):
    """A site's fixed port is in use (or not ours to take); `name` is the site's."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class Site:
    def __init__(self, root: Path, port: int = 0) -> None:
        if not root.is_dir():
            raise OrchestratorError(f"site folder {root} does not exist")
        handler = functools.partial(_QuietHandler, directory=str(root))
        try:
            self._server = _Server(("127.0.0.1", port), handler)
        except OSError as exc:
            if port and exc.errno in (errno.EADDRINUSE, errno.EACCES):
                why = "is already in use" if exc.errno == errno.EADDRINUSE else "is not allowed"
                raise PortTaken(
                    "",
                    f"port {port} on 127.0.0.1 {why} ({exc.strerror}): stop what holds it, "
                    "choose another port, or leave `port` out for a free one",
                ) from exc
            raise OrchestratorError(f"cannot serve {root} on 127.0.0.1:{port}: {exc}") from exc
        self._server.daemon_threads = True
        # A short poll keeps close() quick: shutdown() waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def serve(folders: Mapping[str, tuple[Path, int]]) -> Iterator[dict[str, Site]]:
    """Serve each named folder on its port (0: any free port) for the duration."""
    sites: dict[str, Site] = {}
    try:
        for name, (root, port) in folders.items():
            try:
                sites[name] = Site(root, port)
            except PortTaken as exc:
                raise PortTaken(name, f"site {name!r}: {exc}") from exc.__cause__
        yield sites
    finally:
        for site in sites.values():
            site.close()
