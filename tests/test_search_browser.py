"""The browser provider in a real Chromium, against a fake search engine on 127.0.0.1.

The engine serves results pages shaped like the presets' (DuckDuckGo's HTML endpoint,
Bing), a page that renders its results with JavaScript (a custom engine), an empty
results page, a bot wall and a refusal; the query is echoed into the page, so the tests
see that it travelled through the URL template and the browser intact.
"""

from __future__ import annotations

import html
import json
import shutil
import socket
import string
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from specialists.web_surfer.search import (
    SearchError,
    SearchResult,
    SearchSettings,
    create_provider,
)

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium"),
]

ENGINES = Path(__file__).parent / "data" / "search" / "engines"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROUTES = {  # path → (status, template)
    "/html/": (200, "duckduckgo.html"),
    "/empty/": (200, "duckduckgo_empty.html"),
    "/wall/": (200, "duckduckgo_blocked.html"),
    "/refused/": (403, "duckduckgo_blocked.html"),
    "/search": (200, "bing.html"),
    "/js": (200, "scripted_results.html"),
    "/redesign": (200, "changed_layout.html"),
}
HITS = [
    {"title": "Tide tables", "text": "High and low water"},
    {"title": "Mooring rules", "text": "Two bow lines"},
]


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/hits":  # the scripted page's API: slow, like a real backend
                time.sleep(0.8)
                self.reply(200, "application/json", json.dumps(HITS).encode())
                return
            status, template = ROUTES.get(parts.path, (404, "changed_layout.html"))
            query = parse_qs(parts.query).get("q", [""])[0]
            page = string.Template((ENGINES / template).read_text(encoding="utf-8"))
            body = page.safe_substitute(query=html.escape(query)).encode()
            self.reply(status, "text/html; charset=utf-8", body)

        def reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context()
    try:
        yield ctx
    finally:
        await ctx.close()


async def run_search(
    context: BrowserContext, query: str, limit: int = 10, **fields: Any
) -> list[SearchResult]:
    settings = SearchSettings.model_validate({"timeout_seconds": 10, **fields})
    provider = create_provider(settings, open_page=context.new_page, environ={})
    try:
        return await provider.search(query, limit=limit)
    finally:
        await provider.close()
        assert context.pages == [], "the provider must close the page it opened"


async def test_duckduckgo_results_unwrap_redirects_skip_ads_and_keep_order(
    context: BrowserContext, engine_url: str
) -> None:
    results = await run_search(
        context, "json.dumps indent", url_template=engine_url + "/html/?q={query}"
    )
    assert results == [
        SearchResult(
            "json — JSON encoder and decoder",
            "https://docs.python.org/3/library/json.html",
            "Serialize obj to a JSON formatted str: json.dumps indent explained.",
        ),
        SearchResult(
            "How to prettyprint a JSON file?",
            "https://stackoverflow.com/q/12943819",
            "Use the indent parameter of json.dumps.",
        ),
        SearchResult("A page on the engine's own site", engine_url + "/local/page.html", ""),
        SearchResult(
            "JSON guide", "https://real.example/json-guide", "A fourth result, beyond small limits."
        ),
    ]


async def test_the_limit_caps_the_results(context: BrowserContext, engine_url: str) -> None:
    results = await run_search(
        context, "json", limit=2, url_template=engine_url + "/html/?q={query}"
    )
    assert [r.url for r in results] == [
        "https://docs.python.org/3/library/json.html",
        "https://stackoverflow.com/q/12943819",
    ]


async def test_bing_tracking_links_are_decoded(context: BrowserContext, engine_url: str) -> None:
    results = await run_search(
        context,
        "python json",
        engine="bing",
        url_template=engine_url + "/search?q={query}&form=QBLH",
    )
    assert [(r.url, r.snippet) for r in results] == [
        (
            "https://docs.python.org/3/library/json.html",
            "json.dumps serializes obj to a JSON formatted str.",
        ),
        ("https://realpython.com/python-json/", "In this tutorial you will learn python json."),
    ]


async def test_a_custom_engine_waits_for_results_rendered_by_script(
    context: BrowserContext, engine_url: str
) -> None:
    results = await run_search(
        context,
        "tides & moons?",
        engine="custom",
        url_template=engine_url + "/js?term={query}",
        result_selector="li.hit",
        title_selector="a.hit-title",
        snippet_selector=".hit-text",
    )
    assert results == [
        SearchResult("Tide tables for tides & moons?", engine_url + "/doc/1", "High and low water"),
        SearchResult("Mooring rules for tides & moons?", engine_url + "/doc/2", "Two bow lines"),
    ]


async def test_an_empty_results_page_gives_no_results(
    context: BrowserContext, engine_url: str
) -> None:
    assert await run_search(context, "zzqx", url_template=engine_url + "/empty/?q={query}") == []


@pytest.mark.parametrize(
    ("path", "evidence"),
    [("/wall/", "page titled 'DuckDuckGo'"), ("/refused/", "HTTP 403")],
)
async def test_a_bot_wall_is_reported_with_alternatives(
    context: BrowserContext, engine_url: str, path: str, evidence: str
) -> None:
    template = engine_url + path + "?q={query}"
    with pytest.raises(SearchError) as caught:
        await run_search(context, "json", url_template=template)
    message = str(caught.value)
    assert message.startswith(
        f"duckduckgo blocked the search with a bot check or captcha ({evidence}, "
        f"{engine_url}{path}?q=json)"
    )
    assert "configure another provider (searxng, brave, local)" in message


async def test_a_changed_layout_is_not_mistaken_for_no_results(
    context: BrowserContext, engine_url: str
) -> None:
    with pytest.raises(SearchError) as caught:
        await run_search(context, "python", url_template=engine_url + "/redesign?q={query}")
    assert str(caught.value).startswith(
        f"found no search results on {engine_url}/redesign?q=python "
        "(page titled 'Search results for python'): nothing matched result_selector 'div.result'"
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_engine_is_a_search_error(context: BrowserContext) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(SearchError) as caught:
        await run_search(context, "json", url_template=url + "?q={query}")
    message = str(caught.value)
    assert message.startswith(f"browser:duckduckgo could not load {url}?q=json: ")
    assert "ERR_CONNECTION_REFUSED" in message
    assert "\n" not in message


async def test_a_browser_that_cannot_open_pages_is_a_search_error() -> None:
    async def broken() -> Page:
        raise RuntimeError("Target page, context or browser has been closed")

    provider = create_provider(SearchSettings(), open_page=broken, environ={})
    with pytest.raises(SearchError, match="could not open a browser page to search: Target page"):
        await provider.search("json")
