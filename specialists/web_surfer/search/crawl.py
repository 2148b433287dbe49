"""Build a local search index by crawling a site: same host only, bounded, HTML and PDF.

Breadth-first from the start URL with a few concurrent fetches. Links are followed only on
the start URL's host and port (plus `allow_hosts`); robots.txt is not consulted: this is
for sites you serve yourself, like a documentation mirror. Each fetch counts against
`max_pages`, so the crawl is bounded however the site links; URLs that are clearly not
pages (images, scripts, archives, page sources) are never fetched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from specialists.web_surfer.search.extract import Document, html_page, pdf_document
from specialists.web_surfer.search.index_build import (
    BuildError,
    BuildReport,
    IndexWriter,
    Progress,
)

MAX_BYTES = 30_000_000  # per response; a larger one is skipped, not truncated
USER_AGENT = "orchestrator-index/1 (+local crawl)"
_NOT_PAGE_SUFFIXES = (
    ".png .jpg .jpeg .gif .svg .webp .ico .bmp .css .js .mjs .map .json .xml .rss .atom "
    ".woff .woff2 .ttf .otf .eot .zip .gz .tgz .bz2 .xz .tar .7z .whl .exe .dmg .mp3 .mp4 "
    ".webm .ogg .wav .avi .mov .txt .rst .md .py .c .h .csv .epub .doc .docx .xls .xlsx"
)
_NOT_PAGES = frozenset(_NOT_PAGE_SUFFIXES.split())


class _Crawl:
    def __init__(self, start: str, allow_hosts: Sequence[str], max_pages: int) -> None:
        self.origin = _origin(start)
        self.allow = {h.lower() for h in allow_hosts}
        self.max_pages = max_pages
        self.claimed = 0
        self.seen = {start}
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        origin = _origin(url)
        return (
            origin == self.origin
            or parts.netloc.lower() in self.allow
            or parts.hostname in self.allow
        )

    def follow(self, base: str, hrefs: Sequence[str]) -> None:
        for href in hrefs:
            try:
                url = urldefrag(urljoin(base, href.strip()))[0]
                if url in self.seen or not self.allowed(url) or _not_a_page(url):
                    continue
            except ValueError:  # a malformed link (bad port, broken IPv6 literal)
                continue
            self.seen.add(url)
            self.queue.put_nowait(url)


async def build_from_site(
    start_url: str,
    out: Path,
    *,
    max_pages: int = 500,
    allow_hosts: Sequence[str] = (),
    request_timeout: float = 20.0,
    concurrency: int = 4,
    progress: Progress | None = None,
) -> BuildReport:
    """Crawl `start_url` and index what it links to (http:// URLs); see the module docstring."""
    start = urldefrag(start_url)[0]
    if urlsplit(start).scheme not in ("http", "https") or not urlsplit(start).hostname:
        raise BuildError(f"{start_url!r} is not an http(s) URL or a folder")
    if max_pages < 1:
        raise BuildError(f"--max-pages must be at least 1, not {max_pages}")
    crawl = _Crawl(start, allow_hosts, max_pages)
    writer = IndexWriter(out, start)
    headers = {"User-Agent": USER_AGENT}
    try:
        async with httpx.AsyncClient(
            timeout=request_timeout, follow_redirects=True, headers=headers
        ) as client:
            await _start(client, crawl, writer, start)
            await _crawl_queue(client, crawl, writer, progress, concurrency)
    except BaseException:
        writer.abandon()
        raise
    return writer.finish()


async def _start(client: httpx.AsyncClient, crawl: _Crawl, writer: IndexWriter, start: str) -> None:
    """Visit the start URL first: if it fails, the whole build fails, clearly."""
    crawl.claimed += 1
    reason = await _visit(client, crawl, writer, start)
    if reason is not None and writer.pages == 0 and crawl.queue.empty():
        hint = "; is the site running at that address?" if reason.startswith("fetch failed") else ""
        raise BuildError(f"cannot crawl {start}: {reason}{hint}")


async def _crawl_queue(
    client: httpx.AsyncClient,
    crawl: _Crawl,
    writer: IndexWriter,
    progress: Progress | None,
    concurrency: int,
) -> None:
    """Run workers until the queue is drained; a worker's bug stops the crawl, loudly."""
    workers = [
        asyncio.create_task(_work(client, crawl, writer, progress)) for _ in range(concurrency)
    ]
    drained = asyncio.create_task(crawl.queue.join())
    try:
        done, _ = await asyncio.wait([drained, *workers], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [drained, *workers]:
            task.cancel()
        await asyncio.gather(drained, *workers, return_exceptions=True)
    for task in done:
        if task is not drained:
            task.result()  # workers only end by raising


async def _work(
    client: httpx.AsyncClient, crawl: _Crawl, writer: IndexWriter, progress: Progress | None
) -> None:
    while True:
        url = await crawl.queue.get()
        try:
            if crawl.claimed < crawl.max_pages:
                crawl.claimed += 1
                await _visit(client, crawl, writer, url)
                if progress is not None:
                    progress(writer.pages, url)
        finally:
            crawl.queue.task_done()


async def _visit(
    client: httpx.AsyncClient, crawl: _Crawl, writer: IndexWriter, url: str
) -> str | None:
    """Fetch, index and follow one URL; the reason it was skipped, if it was."""
    try:
        fetched = await _fetch(client, url)
    except httpx.HTTPError as exc:
        fetched = f"fetch failed: {str(exc) or type(exc).__name__}"
    if isinstance(fetched, str):
        writer.skip(url, fetched)
        return fetched
    final_url, kind, body = fetched
    if final_url != url and not crawl.allowed(final_url):
        writer.skip(url, f"redirected off-site to {final_url}")
        return f"redirected off-site to {final_url}"
    crawl.seen.add(final_url)
    doc = _document(kind, body, final_url, crawl)
    if isinstance(doc, str):
        writer.skip(final_url, doc)
        return doc
    writer.add(doc)
    return None


async def _fetch(client: httpx.AsyncClient, url: str) -> tuple[str, str, bytes] | str:
    """(final URL, "html" | "pdf", body), or why the URL was skipped."""
    async with client.stream("GET", url) as response:
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        kind = _kind(response.headers.get("content-type", ""))
        if kind is None:
            return f"not HTML or PDF ({response.headers.get('content-type', 'no content-type')})"
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                return f"larger than {MAX_BYTES // 1_000_000} MB"
        return str(response.url), kind, bytes(body)


def _document(kind: str, body: bytes, url: str, crawl: _Crawl) -> Document | str:
    if kind == "pdf":
        try:
            return pdf_document(body, url)
        except ValueError as exc:
            return str(exc)
    page = html_page(body, url)
    crawl.follow(url, page.links)
    return page.document or "asks not to be indexed (robots noindex)"


def _kind(content_type: str) -> str | None:
    mime = content_type.split(";")[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    return "pdf" if mime == "application/pdf" else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _not_a_page(url: str) -> bool:
    return PurePosixPath(urlsplit(url).path).suffix.lower() in _NOT_PAGES
