"""The browser as the actions use it: one place for launching, navigating, settling,
finding elements and observing.

Every request passes the URL policy (through the policy proxy). Navigation has soft timeouts: a
page that never finishes loading is observed as it is after a bounded wait, marked as
still loading. A crashed or hung browser is replaced before the next action, with the
current tab reopened, and the replacement is announced.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, Request
from playwright.async_api import TimeoutError as PlaywrightTimeout

from specialists.web_surfer import page_scripts
from specialists.web_surfer.browser import BrowserSession
from specialists.web_surfer.guard import RequestGuard
from specialists.web_surfer.observe import Element, Observation, collect, set_of_marks
from specialists.web_surfer.policy import UrlPolicy
from specialists.web_surfer.proxy import PolicyProxy
from specialists.web_surfer.redaction import Secrets
from specialists.web_surfer.settings import WebSurferSettings
from specialists.web_surfer.tabs import Tab, Tabs

STOP_SECONDS = 3.0
QUIET_MS = 30  # the DOM counts as settled after this long without a mutation


class ActionError(Exception):
    """An action could not be done; the message goes back to the model as is."""


class Refused(ActionError):
    """The run's policy refused the action: not approved, or a URL the policy blocks."""


@dataclass(frozen=True)
class Located:
    locator: Locator
    element: Element
    note: str | None  # said when the element had to be found again after a re-render


class Driver:
    def __init__(self, settings: WebSurferSettings, *, headless: bool) -> None:
        self.settings = settings
        self.policy = UrlPolicy.from_settings(settings.url_policy)
        self.proxy = PolicyProxy(self.policy, self._blocked)
        self.guard = RequestGuard(
            self.policy, settings.request_approvals, self._guard_note, self._ours
        )
        self.browser = BrowserSession(settings, headless=headless, proxy=None)
        self.tabs = Tabs()
        self.secrets = Secrets()  # values typed into password fields (or marked secret)
        self.last: Observation | None = None
        self._generation = 0

    # --- the browser's life ------------------------------------------------------------

    async def ensure(self) -> str | None:
        """Start the browser, or replace a dead one. Returns an announcement if replaced."""
        if not self.browser.started:
            await self._open()
            return None
        page = self._current_page()
        if await self.browser.healthy(page):
            return None
        why = self.browser.lost() or "the browser stopped responding"
        url = self.tabs.last_url()
        await self.browser.restart(kill_first=self.browser.lost() is None)
        self.tabs.clear()
        await self._attach()
        note = f"{why}; a new browser was started"
        if url and not url.startswith("about:"):
            await self.goto(url)
            await self.settle()
            note += f" and {url} reopened (other tabs were lost)"
        self.last = None
        return note

    async def _open(self) -> None:
        self.browser.use_proxy(await self.proxy.start())
        await self.browser.start()
        await self._attach()

    async def _attach(self) -> None:
        context = self.browser.context
        await context.route("**/*", self.guard.handle)  # policy and approvals, in the browser
        self.tabs.attach(context)
        if not self.tabs.tabs:
            await self.tabs.open_blank(context)

    async def new_context(self) -> None:
        """Forget every tab, cookie and storage (a fresh start after a replan)."""
        await self.browser.close_context()
        self.tabs.clear()
        self.last = None
        await self.browser.start_context()
        await self._attach()

    async def close(self) -> None:
        self.tabs.clear()
        await self.browser.close()
        await self.proxy.close()

    def _current_page(self) -> Page | None:
        try:
            return self.tabs.current.page
        except LookupError:
            return None

    def _guard_note(self, note: str) -> None:
        if note not in self.tabs.notes:
            self.tabs.notes.append(note)

    def _ours(self, request: Request) -> bool:
        """A request of a page that is not a tab (a search provider's page of our own)."""
        try:
            return request.frame.page in self.tabs.internal_pages
        except PlaywrightError:  # a service worker's request has no frame
            return False

    def _blocked(self, url: str, reason: str) -> None:
        if not any(reason in note for note in self.tabs.notes):  # once per reason
            self.tabs.notes.append(f"blocked {url}: {reason}")

    # --- navigation ----------------------------------------------------------------------

    @property
    def tab(self) -> Tab:
        return self.tabs.current

    async def goto(self, url: str) -> list[str]:
        """Navigate the current tab (until the response arrives: soft timeout).
        Returns notes about anything that went wrong."""
        if (reason := await self.policy.check(url)) is not None:
            raise Refused(f"{url} was not opened: {reason}")
        tab = self.tab
        tab.history.mark_action()
        notes: list[str] = []
        try:
            await tab.page.goto(url, wait_until="commit")
        except PlaywrightTimeout:
            # A navigation left pending blocks every later script in the tab: stop it.
            stopped = await self.stop_loading(tab.page)
            notes.append(
                f"{url} sent no response within {self.settings.navigation_timeout:g} s; "
                + ("the navigation was stopped and " if stopped else "")
                + "the tab is shown as it is"
            )
        except PlaywrightError as exc:
            notes.append(self._navigation_failure(url, exc))
        return notes  # the caller settles the page, as after every action

    async def stop_loading(self, page: Page) -> bool:
        """Stop what the tab is loading (the browser's Stop button), within seconds."""
        try:
            async with asyncio.timeout(STOP_SECONDS):
                session = await page.context.new_cdp_session(page)
                try:
                    await session.send("Page.stopLoading")
                finally:
                    await session.detach()
            return True
        except (PlaywrightError, TimeoutError):
            return False

    def _navigation_failure(self, url: str, exc: PlaywrightError) -> str:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        if "Download is starting" in message:
            return f"{url} is a file: the browser downloads it instead of showing it"
        return f"opening {url} failed: {message.replace('Page.goto: ', '')}"

    async def settle(self) -> list[str]:
        """Wait (bounded) for the current tab to load and go quiet; say if it did not."""
        page, tab = self.tab.page, self.tab
        try:
            if not tab.stalled:
                await page.wait_for_load_state(
                    "domcontentloaded", timeout=self.settings.navigation_timeout * 1000
                )
        except PlaywrightTimeout:
            # A server gone silent mid-page would make every later action wait again.
            stopped = await self.stop_loading(page)
            tab.stalled = True
            tab.inflight.clear()  # the stalled requests never finish: not waited for again
            return [
                f"the page was still loading after {self.settings.navigation_timeout:g} s; "
                + ("loading was stopped; " if stopped else "")
                + "this is what had arrived"
            ]
        except PlaywrightError:
            return []
        deadline = time.monotonic() + self.settings.settle_timeout
        while (left := deadline - time.monotonic()) > 0:
            if tab.inflight:
                await asyncio.sleep(0.02)
                continue
            try:
                async with asyncio.timeout(left + 1):  # a page busy in a script: bounded too
                    await page.evaluate(page_scripts.DOM_QUIET, [QUIET_MS, int(left * 1000)])
            except TimeoutError:
                return [
                    f"the page was busy (not answering) for over {self.settings.settle_timeout:g} s"
                ]
            except PlaywrightError:  # navigated meanwhile: wait for the new document
                await asyncio.sleep(0.02)
                continue
            if not tab.inflight:
                break
        return []

    # --- elements ------------------------------------------------------------------------

    async def locate(self, number: int) -> Located:
        """Element [number] of the latest observation, found again if it was re-rendered."""
        observed = self.last
        element = observed.element(number) if observed is not None else None
        if observed is None or element is None:
            known = f"1 to {len(observed.elements)}" if observed and observed.elements else "none"
            raise ActionError(
                f"there is no element [{number}] in the current observation (ids: {known})"
            )
        selector = f'[data-ws-id="{element.key}"]'
        for frame in self.tab.page.frames:
            locator = frame.locator(selector)
            if await _count(locator):
                return Located(locator.first, element, None)
        want = {
            "role": element.role,
            "name": element.name,
            "tag": element.tag,
            "key": element.key,
            "x": element.box[0] + element.box[2] / 2,
            "y": element.box[1] + element.box[3] / 2,
        }
        for frame in self.tab.page.frames:
            try:
                if await frame.evaluate(page_scripts.REFIND, want):
                    note = f"{element.describe()} had been re-rendered; found it again by its role and name"
                    return Located(frame.locator(selector).first, element, note)
            except PlaywrightError:
                continue
        raise ActionError(f"{element.describe()} is no longer on the page")

    # --- observation ---------------------------------------------------------------------

    async def observe(self, *, marks: bool, notes: list[str]) -> Observation:
        self._generation += 1
        tab = self.tab
        try:
            observation = await self._collect(tab)
        except TimeoutError as exc:  # busy or hung: said, not waited for twice
            observation = self._unobserved(tab, exc)
        except PlaywrightError:  # navigated meanwhile (a late redirect): once more
            await self.settle()
            try:
                observation = await self._collect(tab)
            except (PlaywrightError, TimeoutError) as exc:
                observation = self._unobserved(tab, exc)
        observation = replace(
            observation,
            notes=(*notes, *observation.notes),
            tab=self.tabs.tabs.index(tab) + 1,
            tabs=len(self.tabs.tabs),
            status=tab.status,
        )
        if tab.document is not None and tab.document_url == tab.page.url:
            observation = replace(observation, document=tab.document, elements=())
        elif marks:
            shot = await set_of_marks(tab.page, observation.elements)
            observation = replace(observation, screenshot=shot)
        self.last = observation
        return observation

    async def _collect(self, tab: Tab) -> Observation:
        limits = (self.settings.max_elements, self.settings.viewport_text_chars)
        async with asyncio.timeout(self.settings.action_timeout):  # a soft bound of its own
            return await collect(tab.page, self._generation, *limits)

    def _unobserved(self, tab: Tab, exc: BaseException) -> Observation:
        """What is known of a tab whose content could not be read: its address, and why."""
        if isinstance(exc, TimeoutError):
            why = f"the page did not answer within {self.settings.action_timeout:g} s"
        else:
            why = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else repr(exc)
        note = f"the page's content could not be read ({why}); try again or go elsewhere"
        return Observation(url=tab.page.url, title="", notes=(note,))


async def _count(locator: Locator) -> int:
    try:
        return await locator.count()
    except PlaywrightError:
        return 0
