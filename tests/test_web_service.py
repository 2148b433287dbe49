"""The service's web page in a real Chromium (Playwright): submit a task, watch rounds
appear live, answer the team's question, deny then grant an approval; and cancel."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from playwright.async_api import Browser, Page, async_playwright, expect
from support import service

DATA = Path(__file__).parent / "data"
SCENARIO = yaml.safe_load((DATA / "service" / "deny_then_grant.yaml").read_text())
SLOW = yaml.safe_load((DATA / "resume" / "slow_run.yaml").read_text())
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[service.Server]:
    running = service.start(tmp_path_factory.mktemp("web") / "runs")
    yield running
    running.stop()


@pytest_asyncio.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser: Browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def submit(page: Page, url: str, task: str, team: str, model: object, approvals: str) -> None:
    await page.goto(url + "/")
    await page.fill("#task", task)
    await page.fill("#team", team)
    await page.fill("#model", json.dumps(model))
    await page.select_option("#approvals", approvals)
    await page.click("#submit")
    await expect(page.locator("#run-state")).to_have_text("waiting", timeout=20_000)


async def test_submit_watch_answer_deny_then_grant(page: Page, server: service.Server) -> None:
    await submit(page, server.url, SCENARIO["task"], "user, coder", SCENARIO["model"], "always")
    await expect(page.locator("#facts")).to_contain_text("A number must be squared.")
    await expect(page.locator("#plan")).to_contain_text("Square it with code.")
    await expect(page.locator(".round[data-round='1']")).to_contain_text("orchestrator → user")
    ask = page.locator("section.pending")
    await expect(ask).to_contain_text("Which number should I square?")
    await ask.locator("textarea").fill("7")
    await ask.locator("button.answer").click()
    await expect(page.locator(".round[data-round='1']")).to_contain_text("user replied:")
    await expect(page.locator(".round[data-round='1'] pre.reply")).to_have_text("7")
    # round 2: the coder asks to run code; deny it
    approval = page.locator("section.pending")
    await expect(approval).to_contain_text("Approve coder: run code?", timeout=20_000)
    await expect(approval).to_contain_text("print(7 * 7)")
    await approval.locator("button.deny").click()
    await expect(page.locator(".round[data-round='2']")).to_contain_text("run code denied (human)")
    # round 3: asked again; grant it
    await expect(page.locator("section.pending")).to_contain_text(
        "Approve coder: run code?", timeout=20_000
    )
    await page.locator("section.pending button.approve").click()
    await expect(page.locator(".round[data-round='3']")).to_contain_text(
        "run code approved (human)"
    )
    await expect(page.locator("#answer")).to_have_text("49", timeout=20_000)
    await expect(page.locator("#run-state")).to_have_text("finished")
    await expect(page.locator(".round[data-round='4'] table.ledger")).to_contain_text(
        "The coder printed 49."
    )
    # and the list shows it
    await page.goto(server.url + "/")
    await expect(page.locator("#runs")).to_contain_text("Ask me which number to square")


async def test_cancel_from_the_page(page: Page, server: service.Server) -> None:
    await page.goto(server.url + "/")
    await page.fill("#task", SLOW["task"])
    await page.fill("#team", "user")
    await page.fill("#model", json.dumps(SLOW["model"]))
    await page.click("#submit")
    await expect(page.locator(".round[data-round='1']")).to_be_visible(timeout=20_000)
    await expect(page.locator("section.pending")).to_contain_text("when do we move?")
    await page.click("#cancel")  # while the run waits for the person
    await expect(page.locator("#final")).to_contain_text("cancelled", timeout=20_000)
    await expect(page.locator("#run-state")).to_have_text("finished")
    await expect(page.locator("#cancel")).to_be_hidden()
    await expect(page.locator("section.pending")).to_have_count(0)


async def test_a_bad_submission_shows_the_located_error(page: Page, server: service.Server) -> None:
    await page.goto(server.url + "/")
    await page.fill("#task", "x")
    await page.fill("#team", "websurfer")
    await page.click("#submit")
    await expect(page.locator("#submit-error")).to_contain_text("unknown specialist(s): websurfer")
