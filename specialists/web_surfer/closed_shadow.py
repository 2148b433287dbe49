"""Text inside closed shadow roots, which no page script can reach, from the browser's
accessibility tree (CDP).

A text-only model reads pages as text, and a page script cannot see into a closed
shadow root. The DevTools protocol can: `DOM.getDocument` with `pierce` lists closed
roots with their hosts, and `Accessibility.queryAXTree` gives the text (StaticText
nodes) rendered under each host. Bounded in hosts, characters and time; a browser
without CDP (not Chromium) gets nothing here, and the caller says so.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

MAX_HOSTS = 50
MAX_CHARS = 50_000
SECONDS = 5.0


def _closed_hosts(node: dict[str, Any], found: list[int]) -> None:
    stack = [node]
    while stack and len(found) < MAX_HOSTS:
        current = stack.pop()
        roots = current.get("shadowRoots") or []
        if any(r.get("shadowRootType") == "closed" for r in roots):
            found.append(int(current["backendNodeId"]))
        stack.extend(roots)
        stack.extend(current.get("children") or [])
        if "contentDocument" in current:
            stack.append(current["contentDocument"])


async def closed_shadow_text(page: Page) -> list[str] | None:
    """One line per closed shadow root's text; [] if there are none; None if unknown."""
    try:
        async with asyncio.timeout(SECONDS):
            session = await page.context.new_cdp_session(page)
            try:
                return await _read(session)
            finally:
                await session.detach()
    except (PlaywrightError, TimeoutError, KeyError, ValueError):
        return None


async def _read(session: Any) -> list[str]:
    document = await session.send("DOM.getDocument", {"depth": -1, "pierce": True})
    hosts: list[int] = []
    _closed_hosts(document["root"], hosts)
    lines: list[str] = []
    size = 0
    for host in hosts:
        found = await session.send(
            "Accessibility.queryAXTree", {"backendNodeId": host, "role": "StaticText"}
        )
        names = [str((n.get("name") or {}).get("value", "")).strip() for n in found["nodes"]]
        text = " ".join(name for name in names if name)
        if text:
            lines.append(text[: MAX_CHARS - size])
            size += len(lines[-1])
        if size >= MAX_CHARS:
            break
    return lines
