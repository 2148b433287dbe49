"""A crashed or hung browser is noticed, replaced before the next action, and reported.

Each test gets its own browser (the processes are killed or frozen for real), and a
scripted model drives whole steps, so the reply the orchestrator gets is checked too.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from test_web_fixture_site import FixtureSite, site_fixture, surfer_settings  # noqa: F401

from orchestrator.humans import NoHuman
from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from specialists.base import ApprovalRequest, Reply, StepContext, TeamEnv
from specialists.web_surfer import WebSurfer, probe_browser

pytestmark = pytest.mark.asyncio(loop_scope="module")


def script(*replies: dict[str, Any]) -> ScriptedModel:
    return ScriptedModel({"web_surfer": [ScriptedReply.model_validate(r) for r in replies]})


def visit(url: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "visit_url", "arguments": {"url": url}}]}


def done(reply: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "done", "arguments": {"answer": reply}}]}


class Recorded:
    def __init__(self, workspace: Path) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.workspace = workspace

    async def _approve(self, request: ApprovalRequest) -> bool:
        return True

    def context(self) -> StepContext:
        return StepContext(
            "run",
            1,
            self.workspace,
            (),
            self._approve,
            lambda k, d: self.events.append((k, dict(d))),
        )


@pytest_asyncio.fixture(loop_scope="module", name="make")
async def make_fixture(tmp_path: Path) -> AsyncIterator[Any]:
    made: list[WebSurfer] = []

    def make(model: ScriptedModel) -> WebSurfer:
        env = TeamEnv("web_surfer", tmp_path, model, NoHuman())
        made.append(WebSurfer(env, surfer_settings()))
        return made[-1]

    yield make
    for surfer in made:
        await surfer.close()
        assert surfer.driver.browser.pids() == []  # nothing left running


async def test_a_killed_browser_is_restarted_and_the_page_reopened(
    make: Any, site: FixtureSite, tmp_path: Path
) -> None:
    second = f"{site.url}/second.html"
    model = script(visit(second), done("opened"), done("still there"))
    surfer: WebSurfer = make(model)
    record = Recorded(tmp_path)
    first = await surfer.step("Open the second page.", record.context())
    assert first.evidence["url"] == second
    pids = surfer.driver.browser.pids()
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    again = await surfer.step("Is the page still open?", record.context())
    assert again.error is None
    assert again.evidence["url"] == second
    assert surfer.driver.browser.launches == 2
    (restart,) = [d for kind, d in record.events if kind == "browser_restarted"]
    assert restart["reason"].startswith("the browser crashed; a new browser was started")
    assert f"{second} reopened" in restart["reason"]
    assert (
        "Note: the browser crashed; a new browser was started"
        in model.requests[-1].messages[1].content
    )
    assert "The browser was restarted: the browser crashed" in again.text


async def test_a_hung_browser_is_killed_and_replaced(
    make: Any, site: FixtureSite, tmp_path: Path
) -> None:
    surfer: WebSurfer = make(
        script(
            visit(f"{site.url}/index.html"),
            done("home"),
            visit(f"{site.url}/form.html"),
            done("form"),
        )
    )
    record = Recorded(tmp_path)
    await surfer.step("Open the home page.", record.context())
    pids = surfer.driver.browser.pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)  # alive but not answering
    reply = await surfer.step("Open the order form.", record.context())
    assert reply.error is None, reply.text
    assert reply.evidence == {"url": f"{site.url}/form.html", "title": "Order form"}
    assert not any(_running(pid) for pid in pids)
    restarts = [d["reason"] for kind, d in record.events if kind == "browser_restarted"]
    assert restarts
    assert restarts[0].startswith("the browser stopped responding")
    assert "The browser was restarted: the browser stopped responding" in reply.text


async def test_a_persistent_profile_keeps_a_login_for_the_next_run(
    site: FixtureSite, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    account = f"{site.url}/account"

    async def run(*replies: dict[str, Any]) -> tuple[Reply, ScriptedModel]:
        model = script(*replies)
        env = TeamEnv("web_surfer", tmp_path, model, NoHuman())
        surfer = WebSurfer(env, surfer_settings(profile_dir=str(profile)))
        try:
            return await surfer.step("Check the account.", Recorded(tmp_path).context()), model
        finally:
            await surfer.close()

    signed_in, _ = await run(
        visit(f"{site.url}/login.html"),
        {"tool_calls": [{"name": "type", "arguments": {"id": 1, "text": "alice"}}]},
        {
            "tool_calls": [
                {"name": "type", "arguments": {"id": 2, "text": "correct horse", "submit": True}}
            ]
        },
        done("signed in"),
    )
    assert signed_in.evidence == {"url": account, "title": "Your account"}
    again, model = await run(visit(account), done("still signed in"))
    assert again.evidence == {"url": account, "title": "Your account"}  # no redirect to login
    assert "Welcome back, alice" in model.requests[-1].messages[-1].content


async def test_probe_browser_finds_and_launches_chromium() -> None:
    probe = await probe_browser({"executable_path": "/usr/bin/chromium"})
    assert probe.source == "configured"
    assert probe.version[0].isdigit()
    found = await probe_browser()
    assert found.source in ("playwright", "system")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
