"""The web surfer's state across a resume, in real Chromium on the fixture site: its tabs
come back at their URLs in a new browser (the current one current), cookies only when
`persist_cookies` allows, and a tab that cannot come back (nobody listening, blocked by
the URL policy, an HTTP error) is said, not fatal."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from test_web_fixture_site import (  # noqa: F401 - the fixture is used by name
    SESSION,
    FixtureSite,
    site_fixture,
    surfer_settings,
)

from orchestrator import specialist_state
from orchestrator.humans import NoHuman
from orchestrator.models.scripted import ScriptedModel
from specialists.base import TeamEnv
from specialists.web_surfer import WebSurfer, tabs_state

pytestmark = pytest.mark.asyncio(loop_scope="module")

Make = Callable[..., WebSurfer]


@pytest_asyncio.fixture(loop_scope="module", name="make")
async def make_fixture(tmp_path: Path) -> AsyncIterator[Make]:
    """New web surfers, each with a browser of its own (as a resumed run's would be)."""
    made: list[WebSurfer] = []

    def make(**settings: Any) -> WebSurfer:
        env = TeamEnv("web_surfer", tmp_path, ScriptedModel({}), NoHuman())
        surfer = WebSurfer(env, surfer_settings(**settings))
        made.append(surfer)
        return surfer

    yield make
    for surfer in made:
        await surfer.close()


async def open_tabs(surfer: WebSurfer, urls: list[str]) -> None:
    driver = surfer.driver
    await driver.ensure()
    for number, url in enumerate(urls, 1):
        if number > 1:
            await driver.tabs.open_blank(driver.browser.context)
        await driver.goto(url)
        await driver.settle()


def addresses(surfer: WebSurfer) -> list[str]:
    return [tab.page.url for tab in surfer.driver.tabs.tabs]


async def test_tabs_come_back_at_their_urls_with_the_current_one_current(
    site: FixtureSite, make: Make
) -> None:
    urls = [f"{site.url}/index.html", f"{site.url}/second.html", f"{site.url}/docs.html"]
    before = make()
    await open_tabs(before, urls)
    before.driver.tabs.switch(2)
    states = await specialist_state.collect({"web_surfer": before}, {})
    await before.close()
    state = states["web_surfer"]
    assert state["version"] == 1
    assert state["current"] == 1
    assert [t["url"] for t in state["tabs"]] == urls
    assert state["cookies"] == []  # not kept unless allowed

    after = make()
    assert not after.driver.browser.started
    assert await specialist_state.restore({"web_surfer": after}, states) == {}
    assert addresses(after) == urls
    current = after.driver.tabs.current
    assert current.page.url == urls[1]
    assert await current.page.title() == await _title(site, "second.html")
    assert [tab.history.current for tab in after.driver.tabs.tabs] == urls


async def _title(site: FixtureSite, name: str) -> str:
    from test_web_fixture_site import WEB

    text = (WEB / name).read_text()
    return text.split("<title>", 1)[1].split("</title>", 1)[0].strip()


async def test_cookies_are_kept_only_when_persist_cookies_allows(
    site: FixtureSite, make: Make
) -> None:
    account = f"{site.url}/account"
    before = make(persist_cookies=True)
    await before.driver.ensure()
    name, value = SESSION.split("=")
    await before.driver.browser.context.add_cookies(
        [{"name": name, "value": value, "url": site.url}]
    )
    await open_tabs(before, [account])
    assert await before.driver.tab.page.title() == "Your account"
    states = await specialist_state.collect({"web_surfer": before}, {})
    await before.close()
    assert [c["name"] for c in states["web_surfer"]["cookies"]] == [name]

    kept = make(persist_cookies=True)
    assert await specialist_state.restore({"web_surfer": kept}, states) == {}
    assert addresses(kept) == [account]
    assert await kept.driver.tab.page.title() == "Your account"  # still signed in
    await kept.close()

    refused = make()  # persist_cookies is off now: the saved cookies are not used
    (said,) = (await specialist_state.restore({"web_surfer": refused}, states)).values()
    assert any("persist_cookies is off now" in s for s in said)
    assert refused.driver.tab.page.url == f"{site.url}/login.html"  # signed out


async def test_a_tab_that_cannot_come_back_is_said_and_the_others_are_restored(
    site: FixtureSite, make: Make
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/gone.html"
    urls = [
        f"{site.url}/index.html",
        dead,
        "http://169.254.169.254/latest/meta-data/",
        f"{site.url}/no-such-page.html",
    ]
    state = {"version": 1, "tabs": [{"url": u} for u in urls], "current": 0}
    surfer = make()
    (said,) = (
        await specialist_state.restore({"web_surfer": surfer}, {"web_surfer": state})
    ).values()
    assert len(said) == 3, said
    assert said[0].startswith(f"tab 2 ({dead}) did not reopen as it was: opening {dead} failed")
    assert said[1].startswith("tab 3 (http://169.254.169.254/latest/meta-data/) did not reopen")
    assert "was not opened" in said[1]
    assert said[2].endswith("it answered HTTP 404")
    assert surfer.driver.tabs.current.page.url == urls[0]


async def test_a_state_of_a_newer_version_is_refused_without_starting_a_browser(
    make: Make,
) -> None:
    surfer = make()
    state = {"version": 2, "tabs": [{"url": "http://127.0.0.1/"}]}
    (said,) = (
        await specialist_state.restore({"web_surfer": surfer}, {"web_surfer": state})
    ).values()
    assert said == [
        "its saved state was not restored: it is version 2, newer than this program reads (1)"
    ]
    assert not surfer.driver.browser.started


async def test_reopening_tabs_is_bounded_in_time(
    site: FixtureSite, make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tabs_state, "RESTORE_SECONDS", -1.0)  # already over
    state = {"version": 1, "tabs": [{"url": f"{site.url}/index.html"}] * 3}
    surfer = make()
    (said,) = (
        await specialist_state.restore({"web_surfer": surfer}, {"web_surfer": state})
    ).values()
    assert said == ["tabs 1 to 3 were not reopened: reopening the others took over -1 s"]
