"""The no-key default: drive a search engine's results page in the run's browser.

Each search opens a fresh page through the web surfer's `PageOpener` (so it shares the
run's cookies, proxy and consent state), loads the engine's URL, waits briefly for result
blocks (some engines render them with JavaScript), and reads the HTML with BeautifulSoup.
The page is closed afterwards, whatever happened: no stray tabs in the surfer's view.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from urllib.parse import parse_qs, quote_plus, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from specialists.web_surfer.search.base import (
    PageOpener,
    SearchError,
    SearchResult,
    check_query,
    one_line,
)
from specialists.web_surfer.search.engines import BLOCKED_MARKERS, NO_RESULTS_MARKERS, Engine

_RESULTS_WAIT_MS = 3_000  # after DOMContentLoaded, for results rendered by script


class BrowserSearch:
    def __init__(
        self, engine: Engine, open_page: PageOpener, *, base_url: str | None, timeout: float
    ) -> None:
        self.name = f"browser:{engine.name}"
        self._engine = engine
        self._open_page = open_page
        self._base_url = base_url or ""
        self._timeout_ms = timeout * 1000

    async def search(self, query: str, *, limit: int = 10) -> list[SearchResult]:
        query = check_query(query, limit)
        url = self._engine.url_template.format(query=quote_plus(query), base_url=self._base_url)
        try:
            page = await self._open_page()
        except Exception as exc:
            raise SearchError(
                f"could not open a browser page to search: {one_line(str(exc))}"
            ) from exc
        try:
            html, final_url = await self._load(page, url)
        finally:
            await _close_quietly(page)
        # parsing a results page takes tens of milliseconds: off the event loop
        return await asyncio.to_thread(parse_results, self._engine, html, final_url, limit)

    async def close(self) -> None:
        return None  # pages are closed after each search; the browser belongs to the surfer

    async def _load(self, page: Page, url: str) -> tuple[str, str]:
        """The results page's HTML and final URL; SearchError if it cannot be had."""
        try:
            response = await page.goto(url, wait_until="domcontentloaded", timeout=self._timeout_ms)
            if response is not None and response.status in (403, 429):
                raise SearchError(_blocked_message(self._engine, url, f"HTTP {response.status}"))
            if response is not None and response.status >= 400:
                raise SearchError(f"{self.name} answered HTTP {response.status} for {url}")
            await _wait_for_results(page, self._engine)
            return await page.content(), page.url
        except PlaywrightError as exc:
            raise SearchError(
                f"{self.name} could not load {url}: {one_line(exc.message)}; check the network, "
                "or choose another provider in specialists.web_surfer.search"
            ) from exc


async def _wait_for_results(page: Page, engine: Engine) -> None:
    """Until result blocks (or the engine's empty marker) appear, or the page goes idle.

    Engines that render results with script show them before the network falls quiet;
    a static bot wall or an unknown layout goes idle at once, so it costs no full wait.
    """
    selector = engine.result_selector
    if engine.no_results_selector:
        selector += ", " + engine.no_results_selector
    waits = [
        asyncio.ensure_future(
            page.wait_for_selector(selector, state="attached", timeout=_RESULTS_WAIT_MS)
        ),
        asyncio.ensure_future(page.wait_for_load_state("networkidle", timeout=_RESULTS_WAIT_MS)),
    ]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)  # a timeout just means: parse now


async def _close_quietly(page: Page) -> None:
    try:
        await page.close()
    except PlaywrightError:
        return  # the browser went away; the surfer notices and restarts it


def parse_results(engine: Engine, html: str, page_url: str, limit: int) -> list[SearchResult]:
    """Results from a results page; [] for an engine's "no results" page.

    Raises SearchError for a bot wall, and for a page with no result blocks that does not
    look like an empty result either (most likely the engine changed its layout).
    """
    soup = BeautifulSoup(html, "lxml")
    results: list[SearchResult] = []
    for block in soup.select(engine.result_selector):
        if engine.skip_selector and _matches(block, engine.skip_selector):
            continue
        result = _result(engine, block, page_url)
        if result is not None and all(r.url != result.url for r in results):
            results.append(result)
        if len(results) >= limit:
            break
    if results or soup.select(engine.result_selector):
        return results
    return _explain_empty(engine, soup, page_url)


def _matches(block: Tag, selector: str) -> bool:
    """The block itself or anything inside it matches (an ad is marked either way)."""
    return bool(block.css.match(selector)) or block.select_one(selector) is not None


def _result(engine: Engine, block: Tag, page_url: str) -> SearchResult | None:
    title_el = block.select_one(engine.title_selector)
    if title_el is None:
        return None
    link_el = block.select_one(engine.link_selector) if engine.link_selector else None
    if link_el is None:
        link_el = title_el if title_el.name == "a" else title_el.find("a")
    href = link_el.get("href") if isinstance(link_el, Tag) else None
    if not isinstance(href, str) or not href.strip():
        return None
    url = unwrap_redirect(urljoin(page_url, href.strip()))
    if not url.startswith(("http://", "https://")):
        return None  # javascript:, mailto: and the like are not results
    snippet_el = block.select_one(engine.snippet_selector) if engine.snippet_selector else None
    title = one_line(title_el.get_text(" "), 300) or url
    snippet = one_line(snippet_el.get_text(" "), 500) if snippet_el is not None else ""
    return SearchResult(title=title, url=url, snippet=snippet)


def unwrap_redirect(url: str) -> str:
    """The target of an engine's click-tracking link (DuckDuckGo `uddg=`, Bing `u=a1…`)."""
    params = parse_qs(urlsplit(url).query)
    if "uddg" in params:
        return params["uddg"][0]
    bing = params.get("u", [""])[0]
    if urlsplit(url).path == "/ck/a" and bing.startswith("a1"):
        encoded = bing[2:]
        try:
            decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return url
        if decoded.startswith(("http://", "https://")):
            return decoded
    return url


def _explain_empty(engine: Engine, soup: BeautifulSoup, page_url: str) -> list[SearchResult]:
    title = soup.title.get_text(" ") if soup.title else ""
    text = f"{title} {soup.get_text(' ')}".lower()
    if any(marker in text for marker in BLOCKED_MARKERS):
        raise SearchError(
            _blocked_message(engine, page_url, f"page titled {one_line(title, 80)!r}")
        )
    if engine.no_results_selector and soup.select_one(engine.no_results_selector) is not None:
        return []
    if any(marker in text for marker in NO_RESULTS_MARKERS):
        return []
    raise SearchError(
        f"found no search results on {page_url} (page titled {one_line(title, 80)!r}): nothing "
        f"matched result_selector {engine.result_selector!r}; if the engine changed its layout, "
        "set the selectors in specialists.web_surfer.search, or choose another engine"
    )


def _blocked_message(engine: Engine, url: str, evidence: str) -> str:
    return (
        f"{engine.name} blocked the search with a bot check or captcha ({evidence}, {url}); "
        "try again later, or configure another provider (searxng, brave, local) or engine "
        "in specialists.web_surfer.search"
    )
