"""The browser's tabs as the model sees them: numbered, with one current tab.

New tabs and popups (target=_blank links, window.open) are noticed through the
context's `page` event, followed (they become current) and announced in the next
observation. Each tab keeps its own history, its in-flight requests (for settling),
the content type of its document (a PDF shows as a viewer, not as HTML), the downloads
it started and the dialogs it raised.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from playwright.async_api import BrowserContext, Dialog, Download, Page, Request, Response
from playwright.async_api import Error as PlaywrightError

from specialists.web_surfer.history import History
from specialists.web_surfer.limits import DIALOG_MAX_CHARS, URL_MAX_CHARS, clip
from specialists.web_surfer.markdown import PageMarkdown

# Requests worth waiting for before observing; media and long-lived streams are not.
SETTLE_TYPES = frozenset({"document", "script", "stylesheet", "xhr", "fetch"})


def shown_url(url: str) -> str:
    """A tab's address as the model is shown it (a page can make it megabytes long)."""
    return clip(url, URL_MAX_CHARS)


@dataclass
class Tab:
    page: Page
    history: History = field(default_factory=History)
    inflight: set[Request] = field(default_factory=set)
    content_type: str = ""
    status: int | None = None
    downloads: list[Download] = field(default_factory=list)
    document: str | None = None  # a PDF shown in this tab, as the model reads it
    document_url: str = ""
    document_pages: list[str] = field(default_factory=list)
    markdown: tuple[str, PageMarkdown] | None = None  # (content hash, converted page)
    stalled: bool = False  # its document's load was stopped: not waited for again

    @property
    def is_pdf(self) -> bool:
        return self.content_type.split(";")[0].strip().lower() == "application/pdf"


class Tabs:
    def __init__(self) -> None:
        self.tabs: list[Tab] = []
        self.current_index = 0
        self.notes: list[str] = []  # announcements for the next observation
        self._new: list[Tab] = []
        self._internal = 0  # pages we are opening for our own use (e.g. a search page)
        self.internal_pages: list[Page] = []  # those pages (their requests are ours)
        self._dropped_current: str | None = None  # where the current tab was when it closed

    def attach(self, context: BrowserContext) -> None:
        context.on("page", self._opened)
        for page in context.pages:
            self._opened(page)

    def clear(self) -> None:
        self._dropped_current = None
        self.tabs.clear()
        self._new.clear()
        self.notes.clear()
        self.current_index = 0

    @property
    def current(self) -> Tab:
        self._drop_closed()
        if not self.tabs:
            raise LookupError("no tab is open")
        return self.tabs[min(self.current_index, len(self.tabs) - 1)]

    def last_url(self) -> str | None:
        """Where the current tab was, even if its page (or the browser) is gone."""
        if not self.tabs:
            return self._dropped_current
        tab = self.tabs[min(self.current_index, len(self.tabs) - 1)]
        return tab.history.current or tab.page.url

    def find(self, page: Page) -> Tab | None:
        return next((t for t in self.tabs if t.page is page), None)

    async def open_blank(self, context: BrowserContext) -> Tab:
        page = await context.new_page()
        tab = self.find(page) or self._track(page)
        self._new = [t for t in self._new if t is not tab]  # we opened it: no news
        self.current_index = self.tabs.index(tab)
        return tab

    async def open_internal(self, context: BrowserContext) -> Page:
        """A page for our own use (a search provider's): never a tab, never announced."""
        claims = self._internal
        self._internal += 1
        page = await context.new_page()
        self.internal_pages = [p for p in self.internal_pages if not p.is_closed()] + [page]
        if self._internal > claims:  # the page event has not come (yet): withdraw the claim
            self._internal -= 1
        if (tab := self.find(page)) is not None:
            self.tabs.remove(tab)
            self._new = [t for t in self._new if t is not tab]
        return page

    def follow_new(self) -> list[Tab]:
        """Tabs the pages opened since the last call; the newest becomes current."""
        self._drop_closed()
        fresh = [t for t in self._new if t in self.tabs]
        self._new.clear()
        if fresh:
            self.current_index = self.tabs.index(fresh[-1])
        return fresh

    def announce(self, fresh: list[Tab]) -> list[str]:
        lines = [
            f"the page opened a new tab: tab {self.tabs.index(t) + 1} ({shown_url(t.page.url)})"
            for t in fresh
            if t in self.tabs
        ]
        return [*lines, f"now showing tab {self.current_index + 1}"] if lines else []

    def switch(self, number: int) -> Tab:
        self._drop_closed()
        if not 1 <= number <= len(self.tabs):
            raise ValueError(f"there is no tab {number}; open tabs are 1 to {len(self.tabs)}")
        self.current_index = number - 1
        return self.tabs[self.current_index]

    async def close(self, number: int) -> None:
        tab = self.switch(number)
        await tab.page.close()
        self._drop_closed()
        self.current_index = max(0, min(number - 1, len(self.tabs) - 1))

    def describe(self) -> list[str]:
        self._drop_closed()
        lines = []
        for i, tab in enumerate(self.tabs):
            mark = " (current)" if i == self.current_index else ""
            lines.append(f"tab {i + 1}{mark}: {shown_url(tab.page.url)}")
        return lines

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    # --- page events ---------------------------------------------------------------

    def _opened(self, page: Page) -> None:
        if self._internal:
            self._internal -= 1
            return
        self._track(page)

    def _track(self, page: Page) -> Tab:
        tab = Tab(page)
        self.tabs.append(tab)
        self._new.append(tab)
        page.on("framenavigated", lambda frame: self._navigated(tab, frame.url, frame))
        page.on(
            "request", lambda r: tab.inflight.add(r) if r.resource_type in SETTLE_TYPES else None
        )
        page.on("requestfinished", lambda r: tab.inflight.discard(r))
        page.on("requestfailed", lambda r: tab.inflight.discard(r))
        page.on("response", lambda r: self._responded(tab, r))
        page.on("download", lambda d: tab.downloads.append(d))
        page.on("dialog", self._dialog)
        page.on("close", lambda _: self._drop_closed())
        return tab

    def _navigated(self, tab: Tab, url: str, frame: object) -> None:
        if frame is tab.page.main_frame:
            tab.stalled = False  # a new document
            tab.history.committed(url)

    def _responded(self, tab: Tab, response: Response) -> None:
        request = response.request
        try:
            main = request.is_navigation_request() and request.frame == tab.page.main_frame
        except PlaywrightError:  # the frame is already gone
            return
        if main and not 300 <= response.status < 400:
            tab.content_type = response.headers.get("content-type", "")
            tab.status = response.status

    async def _dialog(self, dialog: Dialog) -> None:
        # Alerts are acknowledged; questions (confirm, prompt) are declined: saying yes
        # on the user's behalf could delete or buy something.
        accept = dialog.type in ("alert", "beforeunload")
        verb = "acknowledged" if accept else "declined"
        message = clip(dialog.message, DIALOG_MAX_CHARS)
        self.notes.append(f"the page showed a {dialog.type} dialog ({message!r}); {verb}")
        with contextlib.suppress(PlaywrightError):  # the page may be gone meanwhile
            await (dialog.accept() if accept else dialog.dismiss())

    def _drop_closed(self) -> None:
        open_tabs = [t for t in self.tabs if not t.page.is_closed()]
        if len(open_tabs) != len(self.tabs):
            current = self.tabs[min(self.current_index, len(self.tabs) - 1)] if self.tabs else None
            self.tabs = open_tabs
            if current in open_tabs:
                self.current_index = open_tabs.index(current)
            else:
                if current is not None:
                    self._dropped_current = current.history.current or current.page.url
                self.current_index = max(0, min(self.current_index, len(open_tabs) - 1))
