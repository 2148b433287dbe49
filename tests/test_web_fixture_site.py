"""The web surfer's fixture site and the fixtures its browser tests share.

The site is `tests/data/sites/web/` served by a real HTTP server on 127.0.0.1, plus a
few routes a static server cannot do:

  /r/1 → 302 /r/2 → 301 /r/3 → 302 /second.html   a redirect chain
  /never                    sends half a page, then never finishes
  /files/data.csv           a Content-Disposition: attachment download
  /login (POST)             sets a session cookie, 303 → /account
  /account                  needs the cookie; links to the statement PDF
  /account/statement.pdf    needs the cookie too (a fetch must carry the browser's cookies)
  /to-metadata              302 → the cloud-metadata address (must be blocked)

Browser tests import the fixtures `driver`, `harness`, `site` and `python_docs` from
here (as `*_fixture`): one browser per test
module, a fresh context (no cookies, no tabs) per test. The tests in this file check
that the server itself does what those tests rely on.
"""

from __future__ import annotations

import functools
import http.client
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import pytest_asyncio

from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from orchestrator.sites import Site
from specialists.base import ApprovalRequest, StepContext
from specialists.web_surfer.actions import Outcome, perform
from specialists.web_surfer.documents import FileIntake
from specialists.web_surfer.driver import Driver
from specialists.web_surfer.search_box import SearchBox
from specialists.web_surfer.settings import WebSurferSettings, load_settings
from specialists.web_surfer.toolbox import ActionEnv

WEB = Path(__file__).parent / "data" / "sites" / "web"
PYTHON_DOCS = Path("/usr/share/doc/python3-doc/html")
SESSION = "session=alice-7f3a"
NEVER_SECONDS = 60.0


class _Handler(SimpleHTTPRequestHandler):
    stop: threading.Event

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _redirect(self, status: int, location: str, cookie: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        if cookie:
            self.send_header("Set-Cookie", f"{cookie}; Path=/; HttpOnly; Max-Age=3600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _signed_in(self) -> bool:
        return SESSION in self.headers.get("Cookie", "")

    def do_GET(self) -> None:
        chain = {"/r/1": (302, "/r/2"), "/r/2": (301, "/r/3"), "/r/3": (302, "/second.html")}
        if self.path in chain:
            self._redirect(*chain[self.path])
        elif self.path == "/to-metadata":
            self._redirect(302, "http://169.254.169.254/latest/meta-data/")
        elif self.path == "/never":
            self._never()
        elif self.path == "/files/data.csv":
            self._send(
                b"city,visitors\nLeith,120\nPortobello,85\n",
                "text/csv",
                {"Content-Disposition": 'attachment; filename="visitors.csv"'},
            )
        elif self.path.startswith("/account"):
            self._account()
        else:
            super().do_GET()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        if self.path == "/login" and form.get("password") == ["correct horse"]:
            self._redirect(303, "/account", cookie=SESSION)
        else:
            self._send(
                b"<title>Sign-in failed</title><p>Wrong username or password.</p>", "text/html"
            )

    def _account(self) -> None:
        if not self._signed_in():
            self._redirect(302, "/login.html")
        elif self.path == "/account/statement.pdf":
            self._send((WEB / "report.pdf").read_bytes(), "application/pdf")
        else:
            page = (
                b"<title>Your account</title><main><h1>Welcome back, alice</h1>"
                b'<p><a href="/account/statement.pdf">Your statement (PDF)</a></p></main>'
            )
            self._send(page, "text/html")

    def _never(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(
            b"<!doctype html><html><head><title>Slow page</title></head><body>"
            b"<h1>Partial content</h1><p>The first part arrived.</p>"
            b'<p><a href="/second.html">A link in the first part</a></p>\n'
        )
        self.wfile.flush()
        self.stop.wait(NEVER_SECONDS)  # the rest never comes (until the server stops)


class FixtureSite:
    def __init__(self) -> None:
        self.stop = threading.Event()
        handler = type("Handler", (_Handler,), {"stop": self.stop})
        self._server = ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(WEB))
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def surfer_settings(**changes: Any) -> WebSurferSettings:
    base: dict[str, Any] = {
        "url_policy": {"allow_private": ["127.0.0.1"]},
        "navigation_timeout": 3,
        "action_timeout": 3,
        "settle_timeout": 2,
    }
    return load_settings({**base, **changes})


@dataclass
class Harness:
    """One test's view of the shared browser: a workspace, approvals, events, actions."""

    driver: Driver
    workspace: Path
    deny: set[str] = field(default_factory=set)
    approvals: list[ApprovalRequest] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    model: ScriptedModel = field(default_factory=lambda: ScriptedModel({}))
    search: SearchBox | None = None

    async def _approve(self, request: ApprovalRequest) -> bool:
        self.approvals.append(request)
        return request.action not in self.deny

    def context(self) -> StepContext:
        return StepContext(
            run_id="test",
            round=1,
            workspace=self.workspace,
            history=(),
            approve=self._approve,
            notify=lambda kind, data: self.events.append((kind, dict(data))),
        )

    def env(self) -> ActionEnv:
        context = self.context()
        intake = FileIntake(self.driver, self.workspace, context.approve, "web_surfer")
        search = self.search.run if self.search is not None else _no_search
        return ActionEnv(self.driver, context, intake, self.model, search)

    async def act(self, name: str, *, marks: bool = False, **arguments: Any) -> Outcome:
        return await perform(self.env(), name, arguments, marks=marks)

    def script(self, purpose: str, replies: list[Any]) -> None:
        parsed = [ScriptedReply.model_validate(r) for r in replies]
        self.model = ScriptedModel({purpose: parsed})


def element_id(harness: Harness, role: str, name: str) -> int:
    """The [id] of the element with this role and name in the latest observation."""
    observed = harness.driver.last
    assert observed is not None, "no observation yet"
    for element in observed.elements:
        if element.role == role and element.name == name:
            return element.id
    lines = "\n".join(e.line() for e in observed.elements)
    raise AssertionError(f"no {role} {name!r} in the observation:\n{lines}")


async def _no_search(query: str) -> str:
    raise AssertionError("this test does not search")


# --- shared fixtures (imported by the browser test modules) ----------------------------


@pytest.fixture(scope="module", name="site")
def site_fixture() -> Iterator[FixtureSite]:
    served = FixtureSite()
    yield served
    served.close()


@pytest.fixture(scope="module", name="python_docs")
def python_docs_fixture() -> Iterator[Site]:
    if not (PYTHON_DOCS / "library" / "json.html").is_file():
        pytest.skip("the python3-doc package is not installed (apt-get install python3-doc)")
    served = Site(PYTHON_DOCS)
    yield served
    served.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module", name="driver")
async def driver_fixture() -> AsyncIterator[Driver]:
    shared = Driver(surfer_settings(), headless=True)
    await shared.ensure()
    yield shared
    await shared.close()


@pytest_asyncio.fixture(loop_scope="module", name="harness")
async def harness_fixture(driver: Driver, tmp_path: Path) -> Harness:
    await driver.ensure()
    await driver.new_context()
    return Harness(driver, tmp_path)


# --- the server does what the browser tests rely on -------------------------------------


def _get(
    site: FixtureSite, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    host, port = site.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", path, headers=headers or {})
    return connection.getresponse()


def test_the_redirect_chain_has_three_hops(site: FixtureSite) -> None:
    hops = []
    path = "/r/1"
    while path.startswith("/r/"):
        response = _get(site, path)
        hops.append(response.status)
        path = response.headers["Location"]
    assert hops == [302, 301, 302]
    assert path == "/second.html"


def test_the_account_needs_the_session_cookie(site: FixtureSite) -> None:
    assert _get(site, "/account/statement.pdf").status == 302
    signed_in = _get(site, "/account/statement.pdf", {"Cookie": SESSION})
    assert signed_in.status == 200
    assert signed_in.read().startswith(b"%PDF-")


def test_the_never_ending_page_sends_only_its_first_part(site: FixtureSite) -> None:
    response = _get(site, "/never")
    assert response.status == 200
    first = response.fp.readline()  # arrives at once; the rest never does
    assert b"Partial content" in first
