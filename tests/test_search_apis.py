"""SearXNG and Brave providers against small local servers that speak each API.

Each server is a real HTTP server on 127.0.0.1 answering the way the real service does
(shapes taken from their API documentation); it records every request so the tests can
check what the provider sent: the query, the format, the count, the key header.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page

from specialists.web_surfer.search import (
    SearchError,
    SearchProvider,
    SearchResult,
    SearchSettings,
    create_provider,
)

Answer = tuple[int, str, bytes]  # status, content type, body


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeApi:
    """A local server; `answer` decides the response to each GET."""

    answer: Callable[[Request], Answer]
    requests: list[Request] = field(default_factory=list)
    url: str = ""


def json_answer(body: Any, status: int = 200) -> Answer:
    return status, "application/json", json.dumps(body).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeApi]:
    fake = FakeApi(answer=lambda request: json_answer({}))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            request = Request(parts.path, params, {k.lower(): v for k, v in self.headers.items()})
            fake.requests.append(request)
            status, content_type, body = fake.answer(request)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            return None  # a client that gave up (the timeout test) is not a server error

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def api(server: FakeApi) -> FakeApi:
    """The module's server, with no requests recorded and a default answer."""
    server.answer = lambda request: json_answer({})
    server.requests.clear()
    return server


async def no_page() -> Page:
    raise AssertionError("API providers never open a browser page")


def provider(kind: str, base_url: str, **fields: Any) -> SearchProvider:
    settings = SearchSettings.model_validate({"provider": kind, "base_url": base_url, **fields})
    environ = {"BRAVE_SEARCH_API_KEY": "test-key-42"}
    return create_provider(settings, open_page=no_page, environ=environ)


async def search(
    kind: str, api: FakeApi, query: str = "json.dumps", **fields: Any
) -> list[SearchResult]:
    searcher = provider(kind, api.url, **fields)
    try:
        return await searcher.search(query, limit=3)
    finally:
        await searcher.close()


async def search_error(kind: str, api: FakeApi, **fields: Any) -> str:
    with pytest.raises(SearchError) as caught:
        await search(kind, api, **fields)
    message = str(caught.value)
    assert "\n" not in message
    return message


SEARXNG_BODY = {
    "query": "json.dumps",
    "number_of_results": 0,
    "results": [
        {
            "url": "https://docs.python.org/3/library/json.html",
            "title": "json — JSON encoder and decoder",
            "content": "Serialize obj to a JSON formatted str.",
            "engine": "duckduckgo",
            "score": 4.0,
        },
        {"url": "https://docs.python.org/3/library/json.html", "title": "duplicate", "content": ""},
        {"url": "https://stackoverflow.com/q/12943819", "title": "", "content": "Pretty print"},
        {"title": "no url, dropped", "content": "x"},
        {"url": "javascript:alert(1)", "title": "not a web page, dropped", "content": ""},
        {
            "url": "https://realpython.com/python-json/?a=1&copy=2&lt=3",
            "title": "JSON in Python",
            "content": "A",
        },
        {"url": "https://example.org/fourth", "title": "Fourth", "content": "beyond the limit"},
    ],
    "answers": [],
    "suggestions": [],
}


async def test_searxng_asks_for_json_and_reads_the_results(api: FakeApi) -> None:
    api.answer = lambda request: json_answer(SEARXNG_BODY)
    results = await search("searxng", api)
    assert results == [
        SearchResult(
            "json — JSON encoder and decoder",
            "https://docs.python.org/3/library/json.html",
            "Serialize obj to a JSON formatted str.",
        ),
        SearchResult(
            "https://stackoverflow.com/q/12943819",
            "https://stackoverflow.com/q/12943819",
            "Pretty print",
        ),
        SearchResult("JSON in Python", "https://realpython.com/python-json/?a=1&copy=2&lt=3", "A"),
    ]
    [request] = api.requests
    assert request.path == "/search"
    assert request.params["q"] == "json.dumps"
    assert request.params["format"] == "json"


async def test_searxng_without_the_json_format_says_how_to_enable_it(api: FakeApi) -> None:
    api.answer = lambda request: (403, "text/html", b"<h1>403 Forbidden</h1>")
    message = await search_error("searxng", api)
    assert message.startswith(
        f"SearXNG answered HTTP 403 for {api.url}/search: <h1>403 Forbidden</h1>"
    )
    assert "add 'json' to search.formats" in message


BRAVE_BODY = {
    "type": "search",
    "query": {"original": "json.dumps"},
    "web": {
        "type": "search",
        "results": [
            {
                "title": "json — JSON encoder and decoder — Python 3.13 documentation",
                "url": "https://docs.python.org/3/library/json.html",
                "description": "Serialize <strong>obj</strong> to a JSON formatted str &amp; more. It&#x27;s fast.",
                "age": "2 days ago",
            },
            {
                "title": "Python <strong>json.dumps</strong>() Method",
                "url": "https://www.w3schools.com/python/ref_json_dumps.asp",
                "description": "",
            },
        ],
    },
}


async def test_brave_sends_the_key_and_count_and_strips_markup(api: FakeApi) -> None:
    api.answer = lambda request: json_answer(BRAVE_BODY)
    results = await search("brave", api)
    assert results == [
        SearchResult(
            "json — JSON encoder and decoder — Python 3.13 documentation",
            "https://docs.python.org/3/library/json.html",
            "Serialize obj to a JSON formatted str & more. It's fast.",
        ),
        SearchResult(
            "Python json.dumps() Method", "https://www.w3schools.com/python/ref_json_dumps.asp", ""
        ),
    ]
    [request] = api.requests
    assert request.path == "/res/v1/web/search"
    assert request.params == {"q": "json.dumps", "count": "3"}
    assert request.headers["x-subscription-token"] == "test-key-42"
    assert request.headers["accept"] == "application/json"


async def test_brave_with_no_web_results_returns_none(api: FakeApi) -> None:
    api.answer = lambda request: json_answer({"type": "search", "query": {"original": "zzqx"}})
    assert await search("brave", api) == []


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "; the API key was rejected: check the value of your api_key_env variable"),
        (429, "; rate limit or monthly quota reached: wait, or upgrade the plan"),
        (500, '"detail": "nope"}}'),
    ],
)
async def test_brave_errors_name_the_status_and_what_to_do(
    api: FakeApi, status: int, hint: str
) -> None:
    error_body = {
        "type": "ErrorResponse",
        "error": {"status": status, "code": "X", "detail": "nope"},
    }
    api.answer = lambda request: json_answer(error_body, status=status)
    message = await search_error("brave", api)
    assert message.startswith(
        f"Brave Search answered HTTP {status} for {api.url}/res/v1/web/search"
    )
    assert '"detail": "nope"' in message
    assert message.endswith(hint)


@pytest.mark.parametrize("kind", ["searxng", "brave"])
async def test_a_body_that_is_not_json_is_a_clear_error(api: FakeApi, kind: str) -> None:
    api.answer = lambda request: (200, "text/html", b"<html><body>Welcome to nginx!</body></html>")
    message = await search_error(kind, api)
    assert "sent a body that is not JSON" in message
    assert "'text/html'" in message
    assert "Welcome to nginx!" in message


@pytest.mark.parametrize(
    ("kind", "body", "where"),
    [
        ("searxng", {"results": {"url": "x"}}, "results is not a list"),
        ("brave", {"web": ["not", "an", "object"]}, "no object at web.results"),
        ("searxng", ["a", "list"], "no object at results"),
    ],
)
async def test_json_of_the_wrong_shape_is_a_clear_error(
    api: FakeApi, kind: str, body: Any, where: str
) -> None:
    api.answer = lambda request: json_answer(body)
    message = await search_error(kind, api)
    assert message.endswith(f"sent JSON of an unexpected shape: {where}")


async def test_a_slow_service_times_out_with_advice(api: FakeApi) -> None:
    def slow(request: Request) -> Answer:
        time.sleep(1.5)
        return json_answer(SEARXNG_BODY)

    api.answer = slow
    message = await search_error("searxng", api, timeout_seconds=0.3)
    assert message.startswith(f"SearXNG did not answer within 0.3s ({api.url}/search)")
    assert "timeout_seconds" in message


async def test_a_service_that_is_not_running_is_named() -> None:
    closed = FakeApi(answer=lambda request: json_answer({}), url="http://127.0.0.1:9")
    message = await search_error("brave", closed)
    assert message.startswith(
        "Brave Search could not be reached at http://127.0.0.1:9/res/v1/web/search"
    )
    assert "check specialists.web_surfer.search.base_url" in message


async def test_an_empty_query_is_refused_before_any_request(api: FakeApi) -> None:
    with pytest.raises(SearchError, match="the search query is empty"):
        await search("searxng", api, query="   ")
    assert api.requests == []
