"""Action → observation time of the web surfer on the Python documentation.

Debian's python3-doc HTML is served on 127.0.0.1 and a real headless Chromium visits a
fixed sample of its pages through the web surfer's own action path (`perform`: policy
proxy, navigation, settling, observing). Two passes, each in a fresh browser context so
neither profits from the other's cache: text-only observations, then set-of-marks ones
(numbered boxes drawn, JPEG screenshot). On each page a page-down scroll is timed too
(an action without navigation), and the observation alone. Printed: median, p90 and
max in milliseconds, and the targets (text-only median < 150 ms, set-of-marks < 400 ms).

    .venv/bin/python bench/web_observation.py [--pages 60] [--executable /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from orchestrator.models.scripted import ScriptedModel
from orchestrator.sites import Site
from specialists.base import ApprovalRequest, StepContext
from specialists.web_surfer.actions import Outcome, perform
from specialists.web_surfer.documents import FileIntake
from specialists.web_surfer.driver import Driver
from specialists.web_surfer.settings import load_settings
from specialists.web_surfer.toolbox import ActionEnv

DOCS = Path("/usr/share/doc/python3-doc/html")
TEXT_TARGET_MS, MARKS_TARGET_MS = 150.0, 400.0


def sample(count: int) -> list[str]:
    """Every k-th page of the library reference, tutorial and how-tos: a fixed spread."""
    pages = sorted(
        str(p.relative_to(DOCS))
        for folder in ("library", "tutorial", "howto", "reference")
        for p in (DOCS / folder).glob("*.html")
    )
    step = max(1, len(pages) // count)
    return pages[::step][:count]


def env_for(driver: Driver, workspace: Path) -> ActionEnv:
    async def approve(request: ApprovalRequest) -> bool:
        return True

    async def no_search(query: str) -> str:
        raise RuntimeError("the benchmark does not search")

    context = StepContext("bench", 1, workspace, (), approve, lambda kind, data: None)
    intake = FileIntake(driver, workspace, approve, "web_surfer")
    return ActionEnv(driver, context, intake, ScriptedModel({}), no_search)


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return (time.perf_counter() - started) * 1000, result


async def one_pass(
    driver: Driver, env: ActionEnv, site: Site, pages: list[str], marks: bool
) -> dict[str, list[float]]:
    await driver.new_context()
    times: dict[str, list[float]] = {"visit": [], "scroll": [], "observe": [], "bytes": []}
    for page in pages:
        ms, visited = await timed(
            lambda p=page: perform(env, "visit_url", {"url": f"{site.url}/{p}"}, marks=marks)
        )
        _check(visited, page)
        times["visit"].append(ms)
        ms, scrolled = await timed(
            lambda: perform(env, "scroll", {"direction": "down"}, marks=marks)
        )
        _check(scrolled, page)
        times["scroll"].append(ms)
        ms, observed = await timed(lambda: driver.observe(marks=marks, notes=[]))
        times["observe"].append(ms)
        if observed.screenshot is not None:
            times["bytes"].append(len(observed.screenshot.data))
    return times


def _check(outcome: Outcome, page: str) -> None:
    if not outcome.ok or outcome.observation is None:
        raise SystemExit(f"bench: {outcome.name} on {page} failed: {outcome.text}")


def row(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"  {label:<34} {statistics.median(ordered):8.1f} {p90:8.1f} {ordered[-1]:8.1f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--executable", default=None, help="Chromium binary (default: discover)")
    args = parser.parse_args()
    if not (DOCS / "index.html").is_file():
        raise SystemExit(f"bench: {DOCS} is missing: apt-get install python3-doc")
    settings = load_settings(
        {"executable_path": args.executable, "url_policy": {"allow_private": ["127.0.0.1"]}}
    )
    pages = sample(args.pages)
    site = Site(DOCS)
    driver = Driver(settings, headless=True)
    try:
        await driver.ensure()
        with tempfile.TemporaryDirectory() as workspace:
            env = env_for(driver, Path(workspace))
            await one_pass(driver, env, site, pages[:3], marks=False)  # warm up the browser
            text = await one_pass(driver, env, site, pages, marks=False)
            marks = await one_pass(driver, env, site, pages, marks=True)
        version = driver.browser.context.browser.version if driver.browser.context.browser else "?"
    finally:
        await driver.close()
        site.close()
    viewport = settings.viewport
    print(
        f"web surfer: action → observation on {len(pages)} Python docs pages "
        f"(Chromium {version}, headless, {viewport.width}x{viewport.height}, 127.0.0.1)"
    )
    print(f"  {'milliseconds':<34} {'median':>8} {'p90':>8} {'max':>8}")
    print(row("visit_url → observation, text-only", text["visit"]))
    print(row("visit_url → observation, marks", marks["visit"]))
    print(row("scroll → observation, text-only", text["scroll"]))
    print(row("scroll → observation, marks", marks["scroll"]))
    print(row("observation alone, text-only", text["observe"]))
    print(row("observation alone, marks", marks["observe"]))
    print(f"  screenshot size: median {statistics.median(marks['bytes']) / 1024:.0f} KiB (JPEG)")
    for label, values, target in (
        ("text-only", text["scroll"], TEXT_TARGET_MS),
        ("set-of-marks", marks["scroll"], MARKS_TARGET_MS),
    ):
        median = statistics.median(values)
        verdict = "met" if median < target else "MISSED"
        print(
            f"  target {label}: action → observation median < {target:.0f} ms: {verdict} ({median:.0f} ms)"
        )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
