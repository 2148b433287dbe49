"""A local stand-in for the OpenAI chat-completions API, for tests that go over real HTTP.

`FakeOpenAI` listens on 127.0.0.1 (free port) in a background thread, answers each request
with the next programmed `Reply` and records every request it saw. It serves
`/v1/chat/completions` and Azure's `/openai/deployments/{deployment}/chat/completions`.
A request that finds the queue empty gets a 500 *and* fails the test when the server
stops (unless `strict=False`), so a missing reply can't make a test pass by accident.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

_CHAT_PATH = re.compile(r"^(/v1|/openai/deployments/[^/]+)/chat/completions$")


@dataclass(frozen=True)
class Reply:
    """One programmed answer. `body` is JSON-encoded unless it is bytes (sent as-is)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    hang: bool = False  # never answer; the connection is dropped when the server stops
    truncate_at: int | None = None  # send only this many body bytes, then close


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    json: Any  # the parsed body, None when it is not JSON


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def chat_completion(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    usage: tuple[int, int] | None = (10, 5),
    model: str = "gpt-4o",
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """A well-formed chat.completion body; `usage` is (prompt, completion) tokens."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
    }
    if usage is not None:
        prompt, completion = usage
        body["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    return body


def error_body(
    message: str, *, type_: str = "invalid_request_error", param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": None}}


class FakeOpenAI:
    """Use as a context manager: `with FakeOpenAI() as server: ...`."""

    def __init__(self, *, strict: bool = True) -> None:
        self.strict = strict
        self.requests: list[RecordedRequest] = []
        self.unanswered: list[RecordedRequest] = []  # requests that found the queue empty
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- programming ------------------------------------------------------------------

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def reply_completion(self, content: str | None = None, **kwargs: Any) -> None:
        self.reply(Reply(body=chat_completion(content, **kwargs)))

    def reply_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.reply(Reply(status=status, body=error_body(message), headers=headers or {}))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    # --- addresses ----------------------------------------------------------------------

    @property
    def root(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # Join handler threads on close, so no socket outlives the test.
        httpd.daemon_threads = False
        httpd.block_on_close = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # releases hung and delayed handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        if self.strict and self.unanswered:
            paths = ", ".join(r.path for r in self.unanswered)
            raise AssertionError(f"fake_openai: requests arrived with no reply programmed: {paths}")

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- called from handler threads ------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if not _CHAT_PATH.match(request.path):
                return Reply(404, error_body(f"fake_openai: no route for {request.path}"))
            if self._replies:
                return self._replies.popleft()
            self.unanswered.append(request)
        message = f"fake_openai: no reply programmed for request #{len(self.requests)}"
        return Reply(500, error_body(message, type_="server_error"))


def _handler_for(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so nothing lingers in a keep-alive pool.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            url = urlsplit(self.path)
            recorded = RecordedRequest(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                raw=raw,
                json=parsed,
            )
            self._answer(server._next_reply(recorded))

        do_GET = do_POST

        def _answer(self, reply: Reply) -> None:
            if reply.hang:
                server._stopping.wait()
                return
            if reply.delay and server._stopping.wait(reply.delay):
                return
            body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            sent = body if reply.truncate_at is None else body[: reply.truncate_at]
            headers = {"content-type": "application/json", **reply.headers}
            with contextlib.suppress(OSError):  # the client may have given up (timed out)
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))  # the full length
                self.end_headers()
                self.wfile.write(sent)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler
