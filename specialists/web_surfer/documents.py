"""After an action: files the page produced become files in the workspace.

Two ways a file arrives. A download (a link with `download`, a Content-Disposition
attachment, a PDF in a browser that downloads PDFs) is saved as the browser received
it. A PDF the browser *shows* (its viewer is HTML we must not read) is fetched again
through the context's request API, with the page's cookies. Both pass the run's
approval policy first; a PDF's text becomes the tab's document, its first page shown in
the observation and every page readable with read_page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Download

from specialists.base import ApprovalRequest
from specialists.web_surfer.downloads import (
    DownloadFailed,
    SavedFile,
    fetch,
    pdf_pages,
    save_download,
)
from specialists.web_surfer.driver import ActionError, Driver, Refused
from specialists.web_surfer.tabs import Tab

Approve = Callable[[ApprovalRequest], Awaitable[bool]]
FIRST_PAGE_CHARS = 3000


def _is_pdf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"%PDF-"


def describe_pdf(saved: SavedFile, pages: list[str], workspace: Path) -> str:
    shown = pages[0] if pages else ""
    cut = len(shown) > FIRST_PAGE_CHARS
    lines = [
        f"PDF document saved to {saved.path} (workspace: {saved.path.relative_to(workspace)}), "
        f"{len(pages)} page(s), {sum(len(p) for p in pages):,} characters of text.",
        "Page 1:",
        shown[:FIRST_PAGE_CHARS] if shown else "(no text on the first page: it may be scanned)",
    ]
    if cut or len(pages) > 1:
        lines.append("[more text follows: use read_page to read the whole document in parts]")
    return "\n".join(lines)


class FileIntake:
    """Collects what the browser produced during one step."""

    def __init__(self, driver: Driver, workspace: Path, approve: Approve, who: str) -> None:
        self._driver = driver
        self._workspace = workspace
        self._approve = approve
        self._who = who
        self._max_bytes = int(driver.settings.download_max_mb * 1024 * 1024)
        self.saved: list[SavedFile] = []

    async def absorb(self) -> list[str]:
        """Save pending downloads and the current tab's PDF; return notes for the model."""
        notes: list[str] = []
        for tab in list(self._driver.tabs.tabs):
            while tab.downloads:
                notes.append(await self._download(tab.downloads.pop(0)))
        tab = self._driver.tab
        if tab.is_pdf and tab.document_url != tab.page.url:
            notes.append(await self._pdf(tab))
        return notes

    async def fetch_url(self, url: str) -> str:
        """The download action: fetch `url` with the browser's cookies into the workspace."""
        if not await self._allowed(url):
            raise Refused(f"not done: the download of {url} was not approved")
        try:
            saved = await self._fetch(url)
        except DownloadFailed as exc:
            raise ActionError(str(exc)) from None
        return await self._announce(url, saved)

    async def _announce(self, url: str, saved: SavedFile) -> str:
        """Record a saved file and say where it is; a PDF's first page comes with it."""
        self.saved.append(saved)
        note = f"downloaded {url} to {saved.path} ({saved.size:,} bytes)"
        if _is_pdf(saved.path):
            try:
                note += "\n" + describe_pdf(saved, await pdf_pages(saved.path), self._workspace)
            except DownloadFailed as exc:
                note += f" ({exc})"
        return note

    async def _fetch(self, url: str) -> SavedFile:
        return await fetch(
            self._driver.browser.context,
            url,
            self._workspace,
            self._driver.policy,
            proxy=self._driver.proxy.url,
            seconds=self._driver.settings.navigation_timeout,
            max_bytes=self._max_bytes,
        )

    async def _allowed(self, url: str) -> bool:
        request = ApprovalRequest(self._who, "download", f"save {url} into the workspace")
        return await self._approve(request)

    async def _download(self, download: Download) -> str:
        if not await self._allowed(download.url):
            await download.cancel()
            return f"a download of {download.url} was not approved; nothing was saved"
        try:
            saved = await save_download(
                download,
                self._workspace,
                self._max_bytes,
                watch=self._driver.browser.downloads_dir,
                seconds=self._driver.settings.navigation_timeout * 8,
            )
        except DownloadFailed as exc:
            return str(exc)
        return await self._announce(download.url, saved)

    async def _pdf(self, tab: Tab) -> str:
        url = tab.page.url
        tab.document_url = url
        if not await self._allowed(url):
            tab.document = (
                f"A PDF document ({url}); saving it was not approved, so it cannot be read."
            )
            tab.document_pages = []
            return f"the PDF at {url} was not saved: the download was not approved"
        try:
            saved = await self._fetch(url)
            pages = await pdf_pages(saved.path)
        except DownloadFailed as exc:
            tab.document = f"A PDF document ({url}) that could not be read: {exc}"
            tab.document_pages = []
            return str(exc)
        self.saved.append(saved)
        tab.document = describe_pdf(saved, pages, self._workspace)
        tab.document_pages = pages
        return f"the page is a PDF; it was saved to {saved.path}"
