"""The web surfer's state in a run's checkpoint: its tabs' URLs, and cookies if allowed.

Restoring opens each saved URL again in a tab of its own, through the same navigation the
actions use (the URL policy, the proxy, soft timeouts), so a tampered checkpoint cannot
open what the surfer could not. Cookies are kept only with
`specialists.web_surfer.persist_cookies: true`: they are session secrets, and a
checkpoint is a plain file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Literal

from playwright.async_api import Error as PlaywrightError
from pydantic import BaseModel, ConfigDict, Field

from specialists.state import parse_state
from specialists.web_surfer.discovery import BrowserUnavailable
from specialists.web_surfer.driver import ActionError, Driver
from specialists.web_surfer.history import IGNORED
from specialists.web_surfer.tabs import shown_url

STATE_VERSION = 1
MAX_TABS = 20
MAX_COOKIES = 300
URL_CHARS = 4096  # a longer address is not kept (a page can make it megabytes long)
COOKIE_CHARS = 4096  # browsers' own limit for one cookie
COOKIES_SECONDS = 5.0
RESTORE_SECONDS = 60.0  # for all the tabs: a resume does not wait on slow pages for long


class SavedTab(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(min_length=1, max_length=URL_CHARS)


class SavedCookie(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(max_length=COOKIE_CHARS)
    value: str = Field(max_length=COOKIE_CHARS)
    domain: str = Field(min_length=1, max_length=255)
    path: str = Field(default="/", max_length=COOKIE_CHARS)
    expires: float = -1
    httpOnly: bool = False
    secure: bool = False
    sameSite: Literal["Lax", "None", "Strict"] = "Lax"


class WebSurferState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    tabs: list[SavedTab] = Field(default_factory=list, max_length=MAX_TABS)
    current: int = Field(default=0, ge=0)
    cookies: list[SavedCookie] = Field(default_factory=list, max_length=MAX_COOKIES)


async def save_tabs(driver: Driver, *, cookies: bool) -> dict[str, Any]:
    """The open tabs (and the context's cookies, if `cookies`); {} before the browser ran."""
    if not driver.browser.started:
        return {}
    tabs = driver.tabs
    current_tab = tabs.tabs[min(tabs.current_index, len(tabs.tabs) - 1)] if tabs.tabs else None
    saved: list[SavedTab] = []
    current = 0
    for tab in tabs.tabs[:MAX_TABS]:
        url = tab.history.current or tab.page.url
        if not url or url.startswith(IGNORED) or len(url) > URL_CHARS:
            continue
        if tab is current_tab:
            current = len(saved)
        saved.append(SavedTab(url=url))
    jar = await _cookies(driver) if cookies else []
    if not saved and not jar:
        return {}
    state = WebSurferState(version=STATE_VERSION, tabs=saved, current=current, cookies=jar)
    return state.model_dump()


async def _cookies(driver: Driver) -> list[SavedCookie]:
    try:
        async with asyncio.timeout(COOKIES_SECONDS):
            found = await driver.browser.context.cookies()
    except (PlaywrightError, TimeoutError):
        return []
    kept = []
    for cookie in found[:MAX_COOKIES]:
        try:
            fields = {k: v for k, v in cookie.items() if k in SavedCookie.model_fields}
            kept.append(SavedCookie.model_validate(fields))
        except ValueError:  # too big, or a shape we do not keep: left out
            continue
    return kept


async def restore_tabs(driver: Driver, raw: Mapping[str, Any], *, cookies: bool) -> list[str]:
    """Open the saved tabs again; what could not be restored, as sentences."""
    state = parse_state(WebSurferState, raw, STATE_VERSION)
    if not state.tabs and not state.cookies:
        return []
    try:
        await driver.ensure()
    except BrowserUnavailable as exc:
        return [
            f"the browser could not be started, so its {len(state.tabs)} tab(s) are lost: {exc}"
        ]
    problems: list[str] = []
    if state.cookies and not cookies:
        problems.append(
            "its cookies were saved, but specialists.web_surfer.persist_cookies is off now: "
            "not restored (logins may be lost)"
        )
    elif state.cookies:
        jar: list[Any] = [c.model_dump() for c in state.cookies]  # Playwright's shape
        try:
            await driver.browser.context.add_cookies(jar)
        except PlaywrightError as exc:
            problems.append(f"its cookies could not be restored: {_first_line(exc)}")
    deadline = time.monotonic() + RESTORE_SECONDS
    for number, saved in enumerate(state.tabs, 1):
        if time.monotonic() > deadline:
            problems.append(
                f"tabs {number} to {len(state.tabs)} were not reopened: reopening the others "
                f"took over {RESTORE_SECONDS:g} s"
            )
            break
        if said := await _reopen(driver, number, saved.url):
            problems.append(said)
    if driver.tabs.tabs:
        driver.tabs.current_index = min(state.current, len(driver.tabs.tabs) - 1)
    driver.last = None  # the next step observes afresh
    return problems


async def _reopen(driver: Driver, number: int, url: str) -> str | None:
    tabs = driver.tabs
    try:
        if number == 1 and tabs.tabs:
            tabs.current_index = 0  # the blank tab a new browser starts with
        else:
            await tabs.open_blank(driver.browser.context)
        notes = await driver.goto(url)
        notes += await driver.settle()
        status = driver.tab.status
    except ActionError as exc:
        notes, status = [str(exc)], None
    except (PlaywrightError, LookupError) as exc:
        notes, status = [_first_line(exc)], None
    if status is not None and status >= 400:
        notes.append(f"it answered HTTP {status}")
    if not notes:
        return None
    return f"tab {number} ({shown_url(url)}) did not reopen as it was: {'; '.join(notes)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
