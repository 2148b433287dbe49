"""`check_search`, the doctor's view of the configured search: one line, or what is wrong."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from specialists.web_surfer.search import SearchError, SearchSettings
from specialists.web_surfer.search.index_build import build_from_folder
from specialists.web_surfer.search.probe import check_search

DOCS = Path(__file__).parent / "data" / "search" / "docs"


@pytest.fixture
def searxng() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"results": [{"url": "https://www.python.org/", "title": "Python"}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def test_a_built_index_is_described(tmp_path: Path) -> None:
    report = build_from_folder(DOCS, tmp_path / "docs.sqlite")
    line = await check_search(SearchSettings(provider="local", index=report.out), {})
    assert line.startswith(
        f"local index {report.out}: 5 pages from {DOCS.absolute().as_uri()}, built 20"
    )


async def test_an_index_never_built_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SearchError, match="no local search index at"):
        await check_search(SearchSettings(provider="local", index=tmp_path / "x.sqlite"), {})


async def test_a_searxng_instance_is_asked_once(searxng: str) -> None:
    settings = SearchSettings(provider="searxng", base_url=searxng)
    assert await check_search(settings, {}) == f"SearXNG at {searxng}: answered with 1 result"


async def test_brave_needs_only_the_key_to_be_present() -> None:
    settings = SearchSettings(provider="brave")
    line = await check_search(settings, {"BRAVE_SEARCH_API_KEY": "k"})
    assert line == "Brave Search API, key from $BRAVE_SEARCH_API_KEY (not called, to save quota)"
    with pytest.raises(SearchError, match="Brave Search needs an API key"):
        await check_search(settings, {})


async def test_the_browser_default_names_its_engine() -> None:
    line = await check_search(SearchSettings(), {})
    assert line == (
        "the browser on duckduckgo (https://html.duckduckgo.com/html/?q={query}); no key needed"
    )
