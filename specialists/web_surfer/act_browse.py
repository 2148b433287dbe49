"""Actions that move around: visit, back/forward, scroll, tabs, find on page, search."""

from __future__ import annotations

import re

from playwright.async_api import Error as PlaywrightError

from specialists.web_surfer import page_scripts
from specialists.web_surfer.driver import ActionError
from specialists.web_surfer.observe import fence
from specialists.web_surfer.tabs import shown_url
from specialists.web_surfer.toolbox import (
    ActionEnv,
    FindArgs,
    NoArgs,
    ScrollArgs,
    SearchArgs,
    TabArgs,
    VisitArgs,
)

MAX_FIND_CONTEXTS = 5
FIND_BEFORE_CHARS, FIND_AFTER_CHARS = 120, 240  # shown around a match
FIND_MAX_CHARS = 500
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def normalise_url(url: str) -> str:
    """`example.org/x` → `https://example.org/x`; anything with a scheme stays as it is."""
    url = url.strip()
    if _SCHEME.match(url) and not re.match(r"^[\w.-]+:\d+", url):
        return url
    return "https://" + url.lstrip("/")


async def visit_url(env: ActionEnv, args: VisitArgs) -> str:
    url = normalise_url(args.url)
    if trouble := await env.driver.goto(url):  # said in the result, not only as a note
        return f"tried to open {url}: " + "; ".join(trouble)
    return f"opened {url}"


async def _traverse(env: ActionEnv, steps: int) -> str:
    history = env.driver.tab.history
    target = history.target(steps)
    if target is None:
        where = "back to" if steps < 0 else "forward to"
        raise ActionError(f"there is no page to go {where} in this tab")
    history.begin_traversal(steps)
    try:
        env.notes += await env.driver.goto(target)
    except ActionError:
        history.cancel_traversal()
        raise
    return f"went {'back' if steps < 0 else 'forward'} to {shown_url(target)}"


async def back(env: ActionEnv, args: NoArgs) -> str:
    return await _traverse(env, -1)


async def forward(env: ActionEnv, args: NoArgs) -> str:
    return await _traverse(env, +1)


async def scroll(env: ActionEnv, args: ScrollArgs) -> str:
    moved = await env.driver.tab.page.evaluate(page_scripts.SCROLL, [args.direction, args.pages])
    where = "an inner scrolling box" if moved["inner"] else "the page"
    if moved["before"] == moved["after"]:
        edge = "top" if args.direction in ("up", "top") else "bottom"
        return f"{where} is already at the {edge}; nothing moved"
    return f"scrolled {where} {args.direction} from {moved['before']:,} px to {moved['after']:,} px"


async def list_tabs(env: ActionEnv, args: NoArgs) -> str:
    return "open tabs:\n" + "\n".join(env.driver.tabs.describe())


async def switch_tab(env: ActionEnv, args: TabArgs) -> str:
    try:
        tab = env.driver.tabs.switch(args.tab)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    await tab.page.bring_to_front()
    return f"switched to tab {args.tab} ({shown_url(tab.page.url)})"


async def close_tab(env: ActionEnv, args: TabArgs) -> str:
    tabs = env.driver.tabs
    try:
        await tabs.close(args.tab)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    if not tabs.tabs:
        await tabs.open_blank(env.driver.browser.context)
        return f"closed tab {args.tab}; it was the last one, so a blank tab was opened"
    return (
        f"closed tab {args.tab}; now showing tab {tabs.current_index + 1} "
        f"({shown_url(tabs.current.page.url)})"
    )


async def find_on_page(env: ActionEnv, args: FindArgs) -> str:
    page = env.driver.tab.page
    options = {
        "text": args.text[:FIND_MAX_CHARS],
        "occurrence": args.occurrence,
        "maxContexts": MAX_FIND_CONTEXTS,
        "before": FIND_BEFORE_CHARS,
        "after": FIND_AFTER_CHARS,
    }
    try:
        found = await page.evaluate(page_scripts.FIND_TEXT, options)
    except PlaywrightError as exc:
        raise ActionError(f"find failed: {first_line(exc)}") from None
    if not found["count"]:
        return f"{args.text!r} does not occur on this page"
    count, index = found["count"], found["index"]
    nxt = (
        f"find_on_page with occurrence={index + 1} for the next one"
        if index < count
        else "the last"
    )
    head = f"{args.text!r} occurs {count} time(s); scrolled to match {index} ({nxt})"
    contexts = [
        f"{i}. {'…' if c['cutBefore'] else ''}{c['text']}{'…' if c['cutAfter'] else ''}"
        for i, c in enumerate(found["contexts"], 1)
    ]
    if count > len(contexts):
        contexts.append(f"(and {count - len(contexts)} more)")
    return fence("\n".join([head, "The text around each match:", *contexts]))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


async def search(env: ActionEnv, args: SearchArgs) -> str:
    return await env.search(args.query)
