"""Launching, health-checking and restarting the run's Chromium (found by `discovery`).

One browser per run, one fresh context in it (or a persistent profile, for logins),
all its traffic through the policy proxy. A crashed browser is noticed through
Playwright's `disconnected` event; a hung one by a health probe that times out, after
which its processes are killed so a new one can start. `probe_browser` is what
`orchestrator doctor` calls.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from specialists.web_surfer.discovery import (
    BrowserExecutable,
    BrowserUnavailable,
    browser_pids,
    find_executable,
    kill_pids,
    launch_args,
    running_as_root,
)
from specialists.web_surfer.settings import WebSurferSettings, load_settings

HEALTH_SECONDS = 5.0
CLOSE_SECONDS = 5.0


@dataclass(frozen=True)
class BrowserProbe:
    """What `orchestrator doctor` shows: which browser, where from, and that it runs."""

    path: str
    source: str
    version: str
    seconds: float


class BrowserSession:
    """The run's browser and its one context; restartable."""

    def __init__(
        self, settings: WebSurferSettings, *, headless: bool, proxy: str | None = None
    ) -> None:
        self._settings = settings
        self._proxy = proxy
        self._headless = headless if settings.headless is None else settings.headless
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._marker = uuid.uuid4().hex[:12]
        self._lost: str | None = None
        self.executable: BrowserExecutable | None = None
        self.downloads_dir: Path | None = None
        self.launches = 0

    def use_proxy(self, server: str) -> None:
        """Send all of the browser's traffic through `server` (from the next start)."""
        self._proxy = server

    @property
    def context(self) -> BrowserContext:
        if self._context is None:
            raise RuntimeError("the browser is not started")
        return self._context

    @property
    def started(self) -> bool:
        return self._context is not None

    def lost(self) -> str | None:
        """Why the browser went away (crash, disconnect), if it did."""
        return self._lost

    async def start(self) -> BrowserContext:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        self.executable = find_executable(
            self._settings.executable_path, _managed_path(self._playwright)
        )
        if self.downloads_dir is None:  # watched while a download arrives (size limit)
            self.downloads_dir = Path(tempfile.mkdtemp(prefix="orchestrator-downloads-"))
        launch: dict[str, Any] = {
            "downloads_path": str(self.downloads_dir),
            "executable_path": self.executable.path,
            "headless": self._headless,
            "args": launch_args(self._marker),
            "chromium_sandbox": not running_as_root(),
        }
        try:
            if self._settings.profile_dir:
                profile = await asyncio.to_thread(_profile_folder, self._settings.profile_dir)
                context = await self._playwright.chromium.launch_persistent_context(
                    str(profile), **launch, **self._context_options()
                )
                context.on("close", lambda _: self._mark_lost("the browser closed"))
                self._context = self._configure(context)
            else:
                self._browser = await self._playwright.chromium.launch(**launch)
                self._browser.on("disconnected", lambda _: self._mark_lost("the browser crashed"))
                await self.start_context()
        except PlaywrightError as exc:
            raise BrowserUnavailable(
                f"{self.executable.path} ({self.executable.source}) did not start: {_first_line(exc)}"
            ) from exc
        self._lost = None
        self.launches += 1
        return self.context

    async def start_context(self) -> BrowserContext:
        """A fresh context in the running browser (not for persistent profiles)."""
        if self._browser is None:
            raise RuntimeError("a persistent profile has exactly one context")
        context = await self._browser.new_context(**self._context_options())
        self._context = self._configure(context)
        return context

    def _context_options(self) -> dict[str, Any]:
        return {
            "viewport": self._settings.viewport.model_dump(),
            "accept_downloads": True,
            "service_workers": "block",  # so every request passes our URL policy
            **({"proxy": {"server": self._proxy}} if self._proxy else {}),
        }

    def _configure(self, context: BrowserContext) -> BrowserContext:
        context.set_default_timeout(self._settings.action_timeout * 1000)
        context.set_default_navigation_timeout(self._settings.navigation_timeout * 1000)
        return context

    def _mark_lost(self, why: str) -> None:
        if self._context is not None and self._lost is None:
            self._lost = why

    async def healthy(self, page: Page | None) -> bool:
        """False if the browser is gone, or if `page` does not answer within seconds."""
        if self._lost is not None or self._context is None:
            return False
        if page is None or page.is_closed():
            return True
        try:
            async with asyncio.timeout(HEALTH_SECONDS):
                await page.evaluate("1")
            return True
        except (TimeoutError, PlaywrightError):
            return False

    async def close_context(self) -> None:
        """Forget every tab, cookie and storage (keeps the browser for a new context)."""
        context, self._context = self._context, None
        if context is not None:
            await _quietly(context.close())

    async def close(self) -> None:
        """Close everything; kill what does not close in time. Safe to call twice."""
        context, browser, pw = self._context, self._browser, self._playwright
        self._context = self._browser = self._playwright = None
        if context is not None:
            await _quietly(context.close())
        if browser is not None:
            await _quietly(browser.close())
        self.kill_processes()
        if pw is not None:
            await _quietly(pw.stop())
        if self.downloads_dir is not None:
            shutil.rmtree(self.downloads_dir, ignore_errors=True)
            self.downloads_dir = None

    async def restart(self, *, kill_first: bool = False) -> BrowserContext:
        """Throw the old browser away and start a new one. A hung browser (`kill_first`)
        is killed before anything waits on it."""
        if kill_first:
            self.kill_processes()
        context, browser = self._context, self._browser
        self._context = self._browser = None
        if context is not None:
            await _quietly(context.close())
        if browser is not None:
            await _quietly(browser.close())
        self.kill_processes()
        return await self.start()

    def kill_processes(self) -> int:
        """SIGKILL every process of this browser (found by its marker switch)."""
        return kill_pids(browser_pids(self._marker))

    def pids(self) -> list[int]:
        return browser_pids(self._marker)


def _profile_folder(configured: str) -> Path:
    folder = Path(configured).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _managed_path(playwright: Playwright) -> str | None:
    try:
        return playwright.chromium.executable_path
    except PlaywrightError:
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def _quietly(awaitable: Any) -> None:
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await awaitable
    except (TimeoutError, PlaywrightError, OSError):
        pass


async def probe_browser(settings: Mapping[str, Any] | None = None) -> BrowserProbe:
    """Find and launch the browser the web surfer would use, open a page, close it.

    For `orchestrator doctor`: raises BrowserUnavailable (with advice) or
    WebSurferConfigError (naming the bad setting).
    """
    parsed = load_settings(settings or {})
    session = BrowserSession(parsed, headless=True)
    started = time.monotonic()
    try:
        context = await session.start()
        page = await context.new_page()
        await page.goto("about:blank")
        assert session.executable is not None
        version = context.browser.version if context.browser else "unknown version"
        return BrowserProbe(
            session.executable.path,
            session.executable.source,
            version,
            round(time.monotonic() - started, 2),
        )
    finally:
        await session.close()
