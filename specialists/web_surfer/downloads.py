"""Files from the web into the run's workspace: downloads, and PDFs as documents.

A PDF or a file the model asks for is fetched with the browser context's cookies (so a
PDF behind a login works), through the policy proxy, streamed to disk and stopped at
the size limit; a PDF is never read from the viewer's HTML. A download the browser
starts itself is watched as it arrives and cancelled at the same limit. Redirects are
followed one hop at a time so each hop passes the URL policy. Files land in
`<workspace>/downloads/` under a safe, unique name, where the file surfer and the coder
can open them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx
from playwright.async_api import BrowserContext, Download
from playwright.async_api import Error as PlaywrightError

from specialists.web_surfer.policy import UrlPolicy

FOLDER = "downloads"
MAX_REDIRECTS = 10
CHUNK = 256 * 1024
TOTAL_FACTOR = 8  # a whole download may take this many times the per-read timeout
WATCH_SECONDS = 0.1  # how often a browser download's size is looked at


class DownloadFailed(Exception):
    """A file could not be fetched or saved; the message says why."""


@dataclass(frozen=True)
class SavedFile:
    path: Path
    url: str
    content_type: str
    size: int


def safe_name(name: str, fallback: str = "download") -> str:
    name = unquote(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" .")
    return name[:120] or fallback


def unique_path(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    candidate = folder / name
    stem, suffix = candidate.stem, candidate.suffix
    n = 1
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def name_from(url: str, content_type: str, disposition: str = "") -> str:
    match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", disposition, re.IGNORECASE)
    name = safe_name(match.group(1)) if match else safe_name(urlsplit(url).path)
    if content_type.startswith("application/pdf") and not name.lower().endswith(".pdf"):
        name += ".pdf"
    return name


async def fetch(
    context: BrowserContext,
    url: str,
    workspace: Path,
    policy: UrlPolicy,
    *,
    proxy: str,
    seconds: float,
    max_bytes: int,
) -> SavedFile:
    """GET `url` with the browser's cookies, streamed into the workspace.

    The body goes to disk as it arrives and the transfer stops at `max_bytes` (Playwright's
    request API holds a whole body in memory: a 1 GiB file took its driver to 3.5 GB).
    Requests go through the policy proxy, like the browser's own."""
    timeout = httpx.Timeout(seconds)
    async with httpx.AsyncClient(proxy=proxy, timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if (reason := await policy.check(url)) is not None:
                raise DownloadFailed(f"not fetched: {reason}")
            cookies = "; ".join(f"{c['name']}={c['value']}" for c in await context.cookies(url))
            headers = {"Cookie": cookies} if cookies else {}
            try:
                async with asyncio.timeout(seconds * TOTAL_FACTOR):
                    async with client.stream("GET", url, headers=headers) as response:
                        location = response.headers.get("location")
                        if 300 <= response.status_code < 400 and location:
                            url = urljoin(url, location)
                            continue
                        return await _save_stream(response, url, workspace, max_bytes)
            except (httpx.HTTPError, TimeoutError) as exc:
                why = "it took too long" if isinstance(exc, TimeoutError) else _first_line(exc)
                raise DownloadFailed(f"fetching {url} failed: {why}") from exc
    raise DownloadFailed(f"fetching {url} failed: more than {MAX_REDIRECTS} redirects")


async def _save_stream(
    response: httpx.Response, url: str, workspace: Path, max_bytes: int
) -> SavedFile:
    if response.status_code >= 400:
        raise DownloadFailed(f"fetching {url} failed: HTTP {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise DownloadFailed(
            f"{url} is {int(declared):,} bytes, over the {max_bytes:,}-byte download limit; "
            "nothing was saved"
        )
    content_type = response.headers.get("content-type", "")
    disposition = response.headers.get("content-disposition", "")
    path = unique_path(workspace / FOLDER, name_from(url, content_type, disposition))
    size = 0
    try:
        with path.open("wb") as out:
            async for chunk in response.aiter_bytes(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadFailed(
                        f"{url} is over the {max_bytes:,}-byte download limit; stopped after "
                        f"{size:,} bytes and nothing was saved"
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return SavedFile(path, url, content_type, size)


async def save_download(
    download: Download, workspace: Path, max_bytes: int, *, watch: Path | None, seconds: float
) -> SavedFile:
    """Save a download the browser started (a link, a form, a Content-Disposition).

    The browser writes it into `watch` (its downloads folder) as it arrives; it is
    cancelled as soon as a file there grows past `max_bytes`, or after `seconds`."""
    name = safe_name(download.suggested_filename or urlsplit(download.url).path)
    try:
        await _until_complete(download, max_bytes, watch, seconds)
        path = unique_path(workspace / FOLDER, name)
        await download.save_as(path)
    except PlaywrightError as exc:
        raise DownloadFailed(f"download of {download.url} failed: {_first_line(exc)}") from exc
    finally:
        with contextlib.suppress(PlaywrightError):
            await download.delete()  # the browser's copy: we have ours (or none)
    size = path.stat().st_size
    if size > max_bytes:
        path.unlink()
        raise DownloadFailed(f"{download.url} is {size:,} bytes, over the {max_bytes:,}-byte limit")
    return SavedFile(path, download.url, "", size)


async def _until_complete(
    download: Download, max_bytes: int, watch: Path | None, seconds: float
) -> None:
    before = _sizes(watch)
    finished = asyncio.ensure_future(download.path())
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        while not finished.done():
            await asyncio.wait({finished}, timeout=WATCH_SECONDS)
            grown = [
                size for name, size in _sizes(watch).items() if size > before.get(name, size - 1)
            ]
            if grown and max(grown) > max_bytes:
                await download.cancel()
                raise DownloadFailed(
                    f"the download of {download.url} went over the {max_bytes:,}-byte limit; "
                    "it was stopped and nothing was saved"
                )
            if asyncio.get_running_loop().time() > deadline:
                await download.cancel()
                raise DownloadFailed(
                    f"the download of {download.url} took over {seconds:g} s; it was stopped"
                )
        finished.result()
    finally:
        if not finished.done():
            finished.cancel()
        with contextlib.suppress(BaseException):
            await finished


def _sizes(folder: Path | None) -> dict[str, int]:
    if folder is None:
        return {}
    sizes = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                sizes[entry.name] = entry.stat().st_size
    return sizes


def _pdf_pages_sync(path: Path) -> list[str]:
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    document = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for page in document:
            textpage = page.get_textpage()
            pages.append(str(textpage.get_text_range()).replace("\r\n", "\n").strip())
            textpage.close()
            page.close()
        return pages
    finally:
        document.close()


async def pdf_pages(path: Path) -> list[str]:
    """The text of each page of a PDF (read off the event loop)."""
    try:
        return await asyncio.to_thread(_pdf_pages_sync, path)
    except Exception as exc:  # pypdfium2 raises its own PdfiumError and OSError
        raise DownloadFailed(f"{path.name} could not be read as a PDF: {exc}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
