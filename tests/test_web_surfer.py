"""The web surfer's step loop: a scripted model (keyed by purpose) drives a real browser.

Covers tool calls (several per step, a bounded number, `done`), models without tool
support (one action per turn through the structured-output ladder, errors fed back),
images only for vision models, the reply (text, evidence, fingerprint, files), search
through a provider object, reset and the failures that must come back as replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page
from test_web_fixture_site import (  # noqa: F401 - the fixtures are used by name
    WEB,
    FixtureSite,
    driver_fixture,
    site_fixture,
    surfer_settings,
)

from orchestrator.humans import NoHuman
from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from specialists.base import ApprovalRequest, Reply, StepContext, TeamEnv
from specialists.models.protocol import Capabilities, ImagePart
from specialists.web_surfer import WebSurfer
from specialists.web_surfer.driver import Driver

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEXT_ONLY = Capabilities(vision=False, tools=True)


def calls(*pairs: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": args} for name, args in pairs]}


def done(reply: str) -> dict[str, Any]:
    return calls(("done", {"answer": reply}))


class Run:
    """A WebSurfer on the shared browser, with a scripted model and a recorded context."""

    def __init__(
        self,
        driver: Driver,
        workspace: Path,
        script: dict[str, list[Any]],
        *,
        caps: Capabilities = TEXT_ONLY,
        search_factory: Any = None,
        **settings: Any,
    ) -> None:
        replies = {p: [ScriptedReply.model_validate(r) for r in rs] for p, rs in script.items()}
        self.model = ScriptedModel(replies, capabilities=caps)
        env = TeamEnv("web_surfer", workspace, self.model, NoHuman())
        self.surfer = WebSurfer(
            env, surfer_settings(**settings), driver=driver, search_factory=search_factory
        )
        self.workspace = workspace
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.approvals: list[ApprovalRequest] = []

    async def _approve(self, request: ApprovalRequest) -> bool:
        self.approvals.append(request)
        return True

    async def step(self, instruction: str) -> Reply:
        context = StepContext(
            "run",
            1,
            self.workspace,
            (),
            self._approve,
            lambda kind, data: self.events.append((kind, dict(data))),
        )
        return await self.surfer.step(instruction, context)

    def images_sent(self) -> list[ImagePart]:
        return [image for r in self.model.requests for m in r.messages for image in m.images]


@pytest_asyncio.fixture(loop_scope="module", name="fresh")
async def fresh_fixture(driver: Driver) -> Driver:
    await driver.ensure()
    await driver.new_context()
    return driver


async def test_several_tool_calls_per_step_then_done(
    fresh: Driver, site: FixtureSite, tmp_path: Path
) -> None:
    run = Run(
        fresh,
        tmp_path,
        {
            "web_surfer": [
                calls(
                    ("visit_url", {"url": f"{site.url}/form.html"}),
                    ("type", {"id": 1, "text": "Ada"}),
                ),
                done("I typed Ada into the name field."),
            ]
        },
    )
    reply = await run.step("Type Ada into the order form's name field.")
    assert reply.error is None
    assert reply.text.startswith("I typed Ada into the name field.")
    assert "1. visit_url" in reply.text
    assert "→ opened" in reply.text
    assert "2. type" in reply.text
    assert "→ typed 'Ada' into [1] textbox \"Your name\"" in reply.text
    assert reply.evidence == {"url": f"{site.url}/form.html", "title": "Order form"}
    assert reply.observation is not None
    assert reply.observation.startswith(f"{site.url}/form.html#")
    first, second = run.model.requests
    assert first.purpose == "web_surfer"
    assert first.tool_choice == "auto"
    assert {t.name for t in first.tools} >= {"visit_url", "click", "type", "read_page", "done"}
    assert "Type Ada into the order form's name field." in first.messages[1].content
    tool_results = [m for m in second.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_results] == [c.id for c in second.messages[2].tool_calls]
    assert "(the browser was then at" in tool_results[0].content  # older: a summary
    assert "untrusted page content" in tool_results[1].content  # latest: in full
    assert 'value="Ada"' in tool_results[1].content
    assert run.images_sent() == []  # a text-only model never gets an image
    assert reply.images == ()
    kinds = [kind for kind, _ in run.events]
    assert kinds == ["observed", "action", "observed", "action", "observed"]
    # What the model saw is recorded, elements with their ids, for a scenario's author.
    seen = [data for kind, data in run.events if kind == "observed"]
    assert [d["after"] for d in seen] == ["", "visit_url", "type"]
    assert seen[1]["text"].startswith(f"{site.url}/form.html — Order form")
    assert '[1] textbox "Your name"' in seen[1]["text"]
    assert "untrusted page content" not in seen[1]["text"]  # for people: not fenced


async def test_a_vision_model_gets_set_of_marks_screenshots(
    fresh: Driver, site: FixtureSite, tmp_path: Path
) -> None:
    await fresh.goto(f"{site.url}/form.html")
    run = Run(
        fresh,
        tmp_path,
        {"web_surfer": [calls(("scroll", {"direction": "down"})), done("seen")]},
        caps=Capabilities(vision=True, tools=True),
    )
    reply = await run.step("Look at the form.")
    first, second = run.model.requests
    (shot,) = first.messages[1].images
    assert shot.media_type == "image/jpeg"
    assert shot.data[:2] == b"\xff\xd8"
    assert "element numbers drawn on it" in first.messages[1].content
    assert len([i for m in second.messages for i in m.images]) == 1  # only the latest
    (final,) = reply.images
    assert final.data[:2] == b"\xff\xd8"


async def test_a_model_without_tools_picks_one_action_per_turn_with_errors_fed_back(
    fresh: Driver, site: FixtureSite, tmp_path: Path
) -> None:
    run = Run(
        fresh,
        tmp_path,
        {
            "web_surfer": [
                {"json": {"action": "visit_url", "arguments": {"url": f"{site.url}/second.html"}}},
                {"json": {"action": "clik", "arguments": {"id": 1}}},
                {
                    "json": {
                        "action": "done",
                        "arguments": {"answer": "It says: opened in a new tab."},
                    }
                },
            ]
        },
        caps=Capabilities(tools=False, structured_output=False, json_mode=True),
    )
    reply = await run.step("What does the second page say?")
    assert reply.text.startswith("It says: opened in a new tab.")
    assert reply.evidence["url"] == f"{site.url}/second.html"
    assert all(not r.tools for r in run.model.requests)
    retry = run.model.requests[2]
    feedback = [m.content for m in retry.messages if m.role == "user"]
    assert any(
        f.startswith("That reply could not be used: unknown action 'clik'") for f in feedback
    )
    # The rejected choice is on the record too, not only fed back.
    failed = [d for k, d in run.events if k == "action_failed"]
    assert [(d["action"], d["problem"]) for d in failed] == [("clik", "unknown_tool")]
    assert (
        "The second page says: opened in a new tab." in run.model.requests[1].messages[-2].content
    )


async def test_the_step_stops_at_its_action_limit(
    fresh: Driver, site: FixtureSite, tmp_path: Path
) -> None:
    run = Run(
        fresh,
        tmp_path,
        {
            "web_surfer": [
                calls(
                    ("visit_url", {"url": f"{site.url}/long.html"}),
                    ("scroll", {"direction": "down"}),
                    ("scroll", {"direction": "down"}),
                ),
                done("I scrolled twice; the lighthouse article goes on."),
            ]
        },
        max_actions_per_step=2,
    )
    reply = await run.step("Scroll a lot.")
    assert reply.text.startswith("I scrolled twice; the lighthouse article goes on.")
    assert '3. scroll {"direction": "down"} → not run: this step\'s limit' in reply.text
    _first, last = run.model.requests
    third = [m for m in last.messages if m.role == "tool"][-1]
    assert third.content.startswith("Result:\n<<<untrusted page content ")
    assert "\nnot run: this step's limit of 2 actions was reached\n" in third.content
    assert [t.name for t in last.tools] == ["done"]
    assert last.tool_choice == "done"
    assert "You have used all 2 actions of this step." in last.messages[-1].content
    assert reply.error is None
    failed = [d for k, d in run.events if k == "action_failed"]
    assert [(d["action"], d["problem"], d["arguments"]) for d in failed] == [
        ("scroll", "not_run", '{"direction": "down"}')
    ]


async def test_without_a_final_done_the_reply_lists_what_was_done(
    fresh: Driver, site: FixtureSite, tmp_path: Path
) -> None:
    run = Run(
        fresh,
        tmp_path,
        {"web_surfer": [calls(("visit_url", {"url": f"{site.url}/second.html"})), ""]},
        max_actions_per_step=1,
    )
    reply = await run.step("Open the second page.")
    assert reply.text.startswith("I used this step's 1 actions without finishing")
    assert f'1. visit_url {{"url": "{site.url}/second.html"}} → opened' in reply.text


async def test_a_plain_text_answer_ends_the_step(fresh: Driver, tmp_path: Path) -> None:
    run = Run(fresh, tmp_path, {"web_surfer": ["Nothing to browse for that."]})
    reply = await run.step("Say hello.")
    assert reply.text.startswith("Nothing to browse for that.")


async def test_model_failures_and_a_missing_model_come_back_as_errors(
    fresh: Driver, tmp_path: Path
) -> None:
    run = Run(fresh, tmp_path, {"web_surfer": []})
    reply = await run.step("Anything.")
    assert reply.error is not None
    assert "ScriptExhausted" in reply.error
    assert "web_surfer" in reply.error
    env = TeamEnv("web_surfer", tmp_path, None, NoHuman())
    alone = WebSurfer(env, surfer_settings(), driver=fresh)
    no_model = await alone.step("Anything.", _context(tmp_path))
    assert no_model.error == "no model for web_surfer"


def _context(workspace: Path) -> StepContext:
    async def approve(request: ApprovalRequest) -> bool:
        return False

    return StepContext("run", 1, workspace, (), approve, lambda kind, data: None)


@dataclass(frozen=True)
class Result:
    title: str
    url: str
    snippet: str


class SiteLinksProvider:
    """A search provider over the fixture site's home page, opened in the run's browser
    through the page opener (as the real browser provider does)."""

    name = "site-links"

    def __init__(self, open_page: Any) -> None:
        self._open_page = open_page
        self.pages: list[Page] = []

    async def search(self, query: str, *, limit: int = 10) -> list[Result]:
        page = await self._open_page()
        self.pages.append(page)
        await page.goto(SiteLinksProvider.home)
        links = await page.eval_on_selector_all(
            "main a", "els => els.map(a => [a.textContent.trim(), a.href])"
        )
        await page.close()
        words = query.lower().split()
        hits = [
            Result(t, u, f"a fixture page: {t}")
            for t, u in links
            if any(w in t.lower() for w in words)
        ]
        return hits[:limit]

    async def close(self) -> None:
        return None

    home = ""


async def test_search_shows_numbered_results_and_the_model_visits_one(
    fresh: Driver, site: FixtureSite, tmp_path: Path
) -> None:
    SiteLinksProvider.home = f"{site.url}/index.html"
    made: list[SiteLinksProvider] = []

    def factory(raw: Any, open_page: Any, environ: Any) -> SiteLinksProvider:
        made.append(SiteLinksProvider(open_page))
        return made[-1]

    run = Run(
        fresh,
        tmp_path,
        {
            "web_surfer": [
                calls(("search", {"query": "shadow iframe"})),
                calls(("visit_url", {"url": f"{site.url}/frame.html"})),
                done("Found the iframe page."),
            ]
        },
        search_factory=factory,
    )
    reply = await run.step("Find the fixture page about iframes.")
    results = next(m for m in run.model.requests[1].messages if m.role == "tool").content
    assert f"1. [Shadow DOM]({site.url}/shadow.html)" in results
    assert f"2. [An iframe]({site.url}/frame.html)" in results
    assert "untrusted page content" in results
    assert "Open one with visit_url." in results
    assert reply.evidence["url"] == f"{site.url}/frame.html"
    (provider,) = made
    assert provider.pages
    assert provider.pages[0].is_closed()
    assert fresh.tabs.describe() == [f"tab 1 (current): {site.url}/frame.html"]  # not a tab


async def test_reset_keeps_the_browser_state_unless_asked(
    fresh: Driver, site: FixtureSite, tmp_path: Path
) -> None:
    await fresh.goto(f"{site.url}/second.html")
    keeping = Run(fresh, tmp_path, {})
    await keeping.surfer.reset()
    assert fresh.tab.page.url == f"{site.url}/second.html"
    clearing = Run(fresh, tmp_path, {}, reset_browser_on_replan=True)
    await clearing.surfer.reset()
    assert fresh.tab.page.url == "about:blank"
    assert len(fresh.tabs.tabs) == 1


async def test_search_through_the_real_local_index_provider(
    site: FixtureSite, tmp_path: Path
) -> None:
    """The lazy import of the search package, its settings and a real provider: a local
    index over the fixture pages, whose file:// results the surfer may open (file_roots)."""
    from specialists.web_surfer.search.index_build import build_from_folder

    index = tmp_path / "index.sqlite"
    build_from_folder(WEB, index)
    settings = {
        "search": {"provider": "local", "index": str(index)},
        "url_policy": {"file_roots": [str(WEB)]},
    }
    lighthouse = (WEB / "long.html").as_uri()
    model = ScriptedModel(
        {
            "web_surfer": [
                ScriptedReply.model_validate(r)
                for r in (
                    calls(("search", {"query": "lighthouse keeper"})),
                    calls(("visit_url", {"url": lighthouse})),
                    done("The lighthouse page."),
                )
            ]
        },
        capabilities=TEXT_ONLY,
    )
    surfer = WebSurfer(
        TeamEnv("web_surfer", tmp_path, model, NoHuman()), surfer_settings(**settings)
    )
    try:
        reply = await surfer.step("Find the page about the lighthouse keeper.", _context(tmp_path))
    finally:
        await surfer.close()
    results = next(m for m in model.requests[1].messages if m.role == "tool").content
    assert "Search results for 'lighthouse keeper'" in results
    assert f"]({lighthouse})" in results
    assert reply.evidence == {"url": lighthouse, "title": "The lighthouse"}
