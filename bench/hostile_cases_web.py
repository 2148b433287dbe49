"""The web surfer's and the sandbox's hostile-input cases for `bench/hostile_inputs.py`
(issue 10, items 10-18).

Each case serves its generated input from `tests/support/hostile_web.py` on 127.0.0.1,
starts a real headless Chromium (the web surfer's own Driver: policy proxy, request
guard) and drives the actions through `perform`, as a model's tool calls would; what it
returns is the length of the largest thing the model would be shown (an action's result
with the observation after it, `prompts.result_text`). The sandbox case runs code that
tries to make a user namespace in the bubblewrap sandbox. Each case owns its browser
and server, so the cases do not influence each other; they are started by the case's
untimed `prepare`, so the time is the step's alone (the browser is closed after it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.hostile_web import MB, NEEDLE, HostileSite  # noqa: E402

from bench.hostile_cases_base import Case  # noqa: E402
from orchestrator.models.scripted import ScriptedModel  # noqa: E402
from specialists.base import ApprovalRequest, StepContext  # noqa: E402
from specialists.coder.executors import CodeBlock, ExecLimits, SandboxExecutor  # noqa: E402
from specialists.web_surfer.actions import perform  # noqa: E402
from specialists.web_surfer.documents import FileIntake  # noqa: E402
from specialists.web_surfer.driver import Driver  # noqa: E402
from specialists.web_surfer.prompts import result_text  # noqa: E402
from specialists.web_surfer.settings import load_settings  # noqa: E402
from specialists.web_surfer.toolbox import ActionEnv  # noqa: E402

Action = tuple[str, dict[str, Any]]
Steps = Callable[[str], list[Action]]  # site URL -> the actions of the step


async def _approve_none_risky(request: ApprovalRequest) -> bool:
    return request.action in ("download",)  # as a cautious user would answer


async def _no_search(query: str) -> str:
    return "(no search in the bench)"


_READY: dict[Path, tuple[HostileSite, Driver]] = {}  # started by `prepare`, per scratch


async def start_browser(scratch: Path, **settings: Any) -> None:
    """Untimed: the server and a launched browser for the case in `scratch`."""
    site = HostileSite()
    config: dict[str, Any] = {"url_policy": {"allow_private": ["127.0.0.1"]}, **settings}
    driver = Driver(load_settings(config), headless=True)
    try:
        await driver.ensure()
    except BaseException:
        await driver.close()
        site.close()
        raise
    _READY[scratch] = (site, driver)


async def run_actions(scratch: Path, steps: Steps) -> int:
    site, driver = _READY.pop(scratch)
    try:
        context = StepContext("bench", 1, scratch, (), _approve_none_risky, lambda k, d: None)
        intake = FileIntake(driver, scratch, context.approve, "web_surfer")
        env = ActionEnv(driver, context, intake, ScriptedModel({}), _no_search)
        largest = 0
        for name, arguments in steps(site.url):
            if name == "click":  # by the link's or button's name in the latest observation
                wanted = arguments["name"]
                last = driver.last
                assert last is not None
                arguments = {"id": next(e.id for e in last.elements if e.name == wanted)}
            outcome = await perform(env, name, arguments, marks=False)
            largest = max(largest, len(result_text(outcome, full=True)))
        return largest
    finally:
        await driver.close()
        site.close()


def web(klass: str, name: str, steps: Steps, **settings: Any) -> Case:
    async def prepare(scratch: Path) -> None:
        await start_browser(scratch, **settings)

    async def run(scratch: Path) -> int:
        if scratch not in _READY:  # a harness without `prepare`: start here (timed)
            await start_browser(scratch, **settings)
        return await run_actions(scratch, steps)

    return Case(klass, name, run, prepare)


def visit(path: str) -> Callable[[str], Action]:
    return lambda url: ("visit_url", {"url": url + path})


def then(*makers: Callable[[str], Action] | Action) -> Steps:
    return lambda url: [m(url) if callable(m) else m for m in makers]


async def _userns(scratch: Path) -> int:
    code = (
        "import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x10000000), errno.errorcode.get(ctypes.get_errno()))\n"
    )
    executor = SandboxExecutor()
    try:
        result = await executor.run(CodeBlock("python", code), scratch, ExecLimits())
    finally:
        await executor.close()
    if executor.isolated and "-1 EPERM" not in result.stdout:
        raise AssertionError(f"a user namespace was created: {result.stdout!r}")
    return len(result.stdout) + len(result.stderr)


BIG = "/big.bin?mb=1024"
CASES: list[Case] = [
    web(
        "huge text node",
        "2 MB paragraph: visit, find, read",
        then(visit("/huge"), ("find_on_page", {"text": NEEDLE}), ("read_page", {"part": 3})),
    ),
    web(
        "huge text node",
        "8 MB paragraph: visit, find",
        then(visit(f"/huge?chars={8 * MB}"), ("find_on_page", {"text": NEEDLE})),
    ),
    web(
        "never-answering server",
        "visit_url, then the next page",
        then(visit("/never-answers"), visit("/plain")),
        navigation_timeout=3,
    ),
    web(
        "silent-after-headers server",
        "visit_url, then scroll twice",
        then(visit("/silent-after-headers"), ("scroll", {}), ("scroll", {})),
        navigation_timeout=3,
    ),
    web(
        "huge download",
        "download tool, 1 GiB with a length",
        then(
            ("download", {"url": BIG}),
        ),
    ),
    web(
        "huge download",
        "download tool, 1 GiB without a length",
        lambda url: [("download", {"url": f"{url}{BIG}&bare=1"})],
    ),
    web("huge download", "visit a 1 GiB attachment", then(visit(BIG))),
    web(
        "huge download",
        "click a link to a 1 GiB file",
        then(visit("/big-link?mb=1024"), ("click", {"name": "Get the file"})),
    ),
    web("page strings", "a 50,000-character dialog message", then(visit("/dialog"))),
    web(
        "page strings",
        "a 20,000-character URL set by replaceState, then list_tabs",
        then(visit("/replace-state"), ("list_tabs", {})),
    ),
    web(
        "state-changing requests",
        "a script button that POSTs (refused)",
        then(visit("/post-button"), ("click", {"name": "Delete my account"})),
    ),
    web(
        "shadow roots and frames",
        "read_page with open and closed shadow roots and a frame",
        then(visit("/shadowed"), ("read_page", {})),
    ),
    web("error statuses", "a 503 page", then(visit("/status/503"))),
    Case("user namespaces in the sandbox", "unshare(CLONE_NEWUSER)", _userns),
]
