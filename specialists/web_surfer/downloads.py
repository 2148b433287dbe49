"""Files from the web into the run's workspace: downloads, and PDFs as documents.

A PDF is fetched through the browser context's request API (same cookies as the page,
so a PDF behind a login works) and never read from the viewer's HTML. Redirects are
followed one hop at a time so each hop passes the URL policy. Files land in
`<workspace>/downloads/` under a safe, unique name, where the file surfer and the coder
can open them.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from playwright.async_api import APIRequestContext, Download
from playwright.async_api import Error as PlaywrightError

from specialists.web_surfer.policy import UrlPolicy

FOLDER = "downloads"
MAX_REDIRECTS = 10


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
    request: APIRequestContext,
    url: str,
    workspace: Path,
    policy: UrlPolicy,
    *,
    seconds: float,
    max_bytes: int,
) -> SavedFile:
    """GET `url` with the browser's cookies and save the body into the workspace."""
    for _ in range(MAX_REDIRECTS + 1):
        if (reason := await policy.check(url)) is not None:
            raise DownloadFailed(f"not fetched: {reason}")
        try:
            response = await request.get(url, max_redirects=0, timeout=seconds * 1000)
        except PlaywrightError as exc:
            raise DownloadFailed(f"fetching {url} failed: {_first_line(exc)}") from exc
        if 300 <= response.status < 400 and "location" in response.headers:
            url = urljoin(url, response.headers["location"])
            await response.dispose()
            continue
        if response.status >= 400:
            raise DownloadFailed(f"fetching {url} failed: HTTP {response.status}")
        body = await response.body()
        content_type = response.headers.get("content-type", "")
        disposition = response.headers.get("content-disposition", "")
        await response.dispose()
        if len(body) > max_bytes:
            raise DownloadFailed(f"{url} is {len(body):,} bytes, over the {max_bytes:,}-byte limit")
        path = unique_path(workspace / FOLDER, name_from(url, content_type, disposition))
        await asyncio.to_thread(path.write_bytes, body)
        return SavedFile(path, url, content_type, len(body))
    raise DownloadFailed(f"fetching {url} failed: more than {MAX_REDIRECTS} redirects")


async def save_download(download: Download, workspace: Path, max_bytes: int) -> SavedFile:
    """Save a download the browser started (a link, a form, a Content-Disposition)."""
    name = safe_name(download.suggested_filename or urlsplit(download.url).path)
    path = unique_path(workspace / FOLDER, name)
    try:
        await download.save_as(path)
    except PlaywrightError as exc:
        raise DownloadFailed(f"download of {download.url} failed: {_first_line(exc)}") from exc
    size = path.stat().st_size
    if size > max_bytes:
        path.unlink()
        raise DownloadFailed(f"{download.url} is {size:,} bytes, over the {max_bytes:,}-byte limit")
    return SavedFile(path, download.url, "", size)


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
