"""The browser's own request interception: the URL policy, and approval of requests
that may change something.

Every request of the context passes through here before it leaves the browser (the
policy proxy still checks every hop of a redirect, which interception cannot see):

- a URL the policy refuses fails in the browser (`blockedbyclient`), with a note;
- a request whose method changes state (POST, PUT, PATCH, DELETE by default: a script
  button that POSTs) needs the run's approval as `send request`;
- a page navigation whose URL looks state-changing (`?confirm=yes`, `/delete/…`, by
  default patterns) needs approval as `open state-changing link`.

Both lists are settings (`specialists.web_surfer.request_approvals`). Approval is asked
through the action that is running; a request a page sends while no action runs (a
timer) cannot be asked about, so it is refused and said. A form submission the user
already approved (`submit form`) is not asked about twice. Our own pages (a search
provider's) only pass the policy.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request, Route

from specialists.web_surfer.limits import URL_MAX_CHARS, clip
from specialists.web_surfer.policy import UrlPolicy
from specialists.web_surfer.settings import RequestApprovalSettings

Approver = Callable[[str, str], Awaitable[bool]]  # (action, detail) -> approved
OnNote = Callable[[str], None]
SEND = "send request"
STATE_CHANGING = "open state-changing link"


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class RequestGuard:
    def __init__(
        self,
        policy: UrlPolicy,
        settings: RequestApprovalSettings,
        on_note: OnNote,
        is_ours: Callable[[Request], bool],
    ) -> None:
        self._policy = policy
        self._methods = {m.upper() for m in settings.methods}
        self._patterns = [re.compile(p) for p in settings.state_changing_urls]
        self._on_note = on_note
        self._is_ours = is_ours
        self.approver: Approver | None = None  # set while an action runs
        self._approved_forms: list[tuple[str, str]] = []  # (method, url without query)

    def form_approved(self, method: str, action_url: str) -> None:
        """The user approved submitting this form: its request is not asked about again."""
        self._approved_forms.append((method.upper(), _without_query(action_url)))

    def forget_forms(self) -> None:
        self._approved_forms.clear()

    async def handle(self, route: Route, request: Request) -> None:
        try:
            refusal = await self._refusal(request)
            if refusal is None:
                await route.continue_()
                return
            note, policy_reason = refusal
            self._on_note(note)
            if not _is_page_navigation(request):
                await route.abort("blockedbyclient")
            elif policy_reason is None:  # not approved: "no content", the tab stays put
                await route.fulfill(status=204)
            else:  # shown like the proxy's refusal, so the model reads why
                body = f"Blocked by the web surfer's URL policy: {policy_reason}"
                await route.fulfill(status=403, content_type="text/plain", body=body)
        except PlaywrightError:  # the page or the request is gone meanwhile
            return

    async def _refusal(self, request: Request) -> tuple[str, str | None] | None:
        """(the note, the policy's reason if it was the policy), or None to let it go."""
        url = request.url
        shown = clip(url, URL_MAX_CHARS)
        if (reason := await self._policy.check(url)) is not None:
            return f"blocked {shown}: {reason}", reason
        action = self._needs_approval(request)
        if action is None or self._is_ours(request):
            return None
        key = (request.method.upper(), _without_query(url))
        if key in self._approved_forms:
            self._approved_forms.remove(key)
            return None
        detail = f"{request.method} {shown}"
        if self.approver is None:
            return f"refused {detail}: the page sent it while no action was running", None
        if not await self.approver(action, detail):
            return f"refused {detail}: '{action}' was not approved", None
        return None

    def _needs_approval(self, request: Request) -> str | None:
        if request.method.upper() in self._methods:
            return SEND
        if request.is_navigation_request() and any(p.search(request.url) for p in self._patterns):
            return STATE_CHANGING
        return None


def _is_page_navigation(request: Request) -> bool:
    try:
        return request.is_navigation_request() and request.frame.parent_frame is None
    except PlaywrightError:
        return False
