"""The approval policy for side effects: never / risky / always, answered by rules or nobody."""

from __future__ import annotations

import pytest

from orchestrator.approvals import Approvals, Mode
from orchestrator.events import ApprovalDecided, ApprovalRequested, Event, EventBus
from orchestrator.state import ApprovalRule
from specialists.base import ApprovalRequest

SUBMIT = ApprovalRequest("web_surfer", "submit form", "POST /login", risky=True)
SCROLL = ApprovalRequest("web_surfer", "download file", "report.pdf", risky=False)


def approvals(mode: Mode, rules: list[ApprovalRule] | None = None) -> tuple[Approvals, list[Event]]:
    bus = EventBus("run")
    events: list[Event] = []
    bus.subscribe(events.append)
    return Approvals(mode, bus, rules=rules or []), events


@pytest.mark.parametrize(
    ("mode", "risky_ok", "safe_ok"),
    [("never", True, True), ("risky", False, True), ("always", False, False)],
)
async def test_headless_with_no_rules_nobody_approves_what_must_be_asked(
    mode: Mode, risky_ok: bool, safe_ok: bool
) -> None:
    approve, _ = approvals(mode)
    assert await approve(SUBMIT) is risky_ok
    assert await approve(SCROLL) is safe_ok


async def test_scenario_rules_decide_by_glob_first_match_wins() -> None:
    rules = [ApprovalRule(action="submit*", approve=True), ApprovalRule(action="*", approve=False)]
    approve, events = approvals("always", rules)
    assert await approve(SUBMIT) is True
    assert await approve(SCROLL) is False
    decided = [e for e in events if isinstance(e, ApprovalDecided)]
    assert [(d.action, d.approved, d.decided_by) for d in decided] == [
        ("submit form", True, "scenario"),
        ("download file", False, "scenario"),
    ]
    assert sum(isinstance(e, ApprovalRequested) for e in events) == 2


async def test_policy_approvals_are_recorded_too() -> None:
    approve, events = approvals("never")
    await approve(SUBMIT)
    decided = [e for e in events if isinstance(e, ApprovalDecided)]
    assert decided[0].decided_by == "policy"


async def test_a_person_given_by_the_caller_decides_after_the_rules() -> None:
    asked: list[ApprovalRequest] = []

    async def person(request: ApprovalRequest) -> bool:
        asked.append(request)
        return request.action == "submit form"

    bus = EventBus("run")
    events: list[Event] = []
    bus.subscribe(events.append)
    rules = [ApprovalRule(action="download*", approve=False)]
    approve = Approvals("always", bus, rules=rules, person=person)
    assert await approve(SUBMIT) is True
    assert await approve(SCROLL) is False  # a rule matched: the person is not asked
    assert asked == [SUBMIT]
    decided = [(e.action, e.decided_by) for e in events if isinstance(e, ApprovalDecided)]
    assert decided == [("submit form", "human"), ("download file", "scenario")]
