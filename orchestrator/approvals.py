"""The approval policy for side-effecting actions (submitting forms, running code, ...).

`never` approves everything without asking; `always` asks about every action; `risky`
asks only about actions the specialist marks as risky. Who answers depends on the run: a
scenario's rules, a `person` given by the caller (the service asks over HTTP), a person
on the terminal, or — headless with none of these — nobody, which means no.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from orchestrator.events import ApprovalDecided, ApprovalRequested, EventBus
from orchestrator.state import ApprovalRule
from orchestrator.terminal import read_line
from specialists.base import ApprovalRequest

Mode = Literal["never", "risky", "always"]
Decide = Callable[[ApprovalRequest], Awaitable[bool]]  # a person's decision


class Approvals:
    def __init__(
        self,
        mode: Mode,
        bus: EventBus,
        *,
        rules: Sequence[ApprovalRule] = (),
        interactive: bool = False,
        person: Decide | None = None,
    ) -> None:
        self._mode = mode
        self._bus = bus
        self._rules = list(rules)
        self._interactive = interactive
        self._person = person

    def _needs_asking(self, request: ApprovalRequest) -> bool:
        return self._mode == "always" or (self._mode == "risky" and request.risky)

    async def __call__(self, request: ApprovalRequest) -> bool:
        self._bus.emit(
            ApprovalRequested(
                specialist=request.specialist,
                action=request.action,
                detail=request.detail,
                risky=request.risky,
            )
        )
        approved, by = await self._decide(request)
        self._bus.emit(
            ApprovalDecided(
                specialist=request.specialist,
                action=request.action,
                approved=approved,
                decided_by=by,
            )
        )
        return approved

    async def _decide(self, request: ApprovalRequest) -> tuple[bool, str]:
        if not self._needs_asking(request):
            return True, "policy"
        for rule in self._rules:
            if fnmatch.fnmatchcase(request.action, rule.action):
                return rule.approve, "scenario"
        if self._person is not None:
            return await self._person(request), "human"
        if self._interactive and sys.stdin.isatty():
            answer = await read_line(
                f"\nApprove {request.specialist}: {request.action}?\n  {request.detail}\n[y/N] "
            )
            return (answer or "").strip().lower() in ("y", "yes"), "human"
        return False, "nobody"
