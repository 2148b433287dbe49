"""What the waiting line says after each kind of step, and how long it counts."""

from __future__ import annotations

from ledgers import FinalStatus, StopReason
from orchestrator.events import (
    ActivityStarted,
    ApprovalDecided,
    ApprovalRequested,
    Delegated,
    FinalAnswer,
    ModelCalled,
    ModelCallStarted,
    ModelRetry,
    Replied,
    RoundStarted,
    RunStarted,
    SpecialistActivity,
)
from orchestrator.waiting import Waiting

CALL = {
    "model": "m",
    "input_tokens": 1,
    "output_tokens": 1,
    "cost_usd": None,
    "seconds": 0.1,
    "prompt_chars": 10,
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_names_the_wait_and_counts_from_its_start() -> None:
    clock = Clock()
    waiting = Waiting(clock)
    assert waiting.line() is None
    waiting(RunStarted(task="t", team=["coder"], limits={}))
    clock.now += 3.4
    assert waiting.line() == "orchestrator.facts — waiting for the model, 3 s"
    waiting(RoundStarted())
    clock.now += 12.2
    assert waiting.line() == "orchestrator.progress — waiting for the model, 12 s"
    waiting(Delegated(speaker="coder", instruction="compute"))
    waiting(ApprovalRequested(specialist="coder", action="run code", detail="", risky=True))
    assert waiting.line() == "coder — waiting for approval, 0 s"
    waiting(ApprovalDecided(specialist="coder", action="run code", approved=True, decided_by="h"))
    assert waiting.line() == "coder — working, 0 s"
    started = {"language": "python", "waiting_for": "program running"}
    waiting(ActivityStarted(speaker="coder", kind="code_run", data=started))
    clock.now += 8
    assert waiting.line() == "coder — program running, 8 s"
    waiting(SpecialistActivity(speaker="coder", kind="code_run"))
    clock.now += 1
    assert waiting.line() == "coder — working, 1 s"
    waiting(SpecialistActivity(speaker="coder", kind="code_run"))  # the same wait goes on
    clock.now += 1
    assert waiting.line() == "coder — working, 2 s"
    waiting(
        FinalAnswer(
            status=FinalStatus.SOLVED, answer="1", evidence=[], stop_reason=StopReason.SATISFIED
        )
    )
    assert waiting.line() is None


def test_a_specialists_step_shows_its_model_its_browser_and_its_tools() -> None:
    clock = Clock()
    waiting = Waiting(clock)
    waiting(RoundStarted())
    waiting(ModelCallStarted(role="orchestrator", purpose="orchestrator.progress"))
    assert waiting.line() == "orchestrator.progress — waiting for the model, 0 s"
    waiting(Delegated(speaker="web_surfer", instruction="look it up"))
    waiting(ModelCallStarted(role="web_surfer", purpose="web_surfer"))
    clock.now += 5
    assert waiting.line() == "web_surfer — waiting for the model, 5 s"
    loading = {"name": "visit_url", "waiting_for": "page loading"}
    waiting(ActivityStarted(speaker="web_surfer", kind="action", data=loading))
    clock.now += 3
    assert waiting.line() == "web_surfer — page loading, 3 s"
    waiting(SpecialistActivity(speaker="web_surfer", kind="action", data={"name": "visit_url"}))
    assert waiting.line() == "web_surfer — working, 0 s"
    waiting(ActivityStarted(speaker="web_surfer", kind="action", data={"name": "click"}))
    assert waiting.line() == "web_surfer — action running, 0 s"  # said nothing: the kind
    waiting(ModelCallStarted(role="web_surfer", purpose="web_surfer", attempt=2))
    assert waiting.line() == "web_surfer — waiting for the model (attempt 2), 0 s"
    waiting(ModelCalled(**CALL, role="web_surfer", purpose="web_surfer"))
    assert waiting.line() == "web_surfer — working, 0 s"
    waiting(Replied(speaker="web_surfer", text="found"))
    assert waiting.line() == "orchestrator.progress — waiting for the model, 0 s"
    waiting(ModelCalled(**CALL, role="orchestrator", purpose="orchestrator.progress"))
    assert waiting.line() == "orchestrator.progress — waiting for the model, 0 s"  # unchanged
    waiting(Delegated(speaker="mcp:time", instruction="convert"))
    tool = {"name": "convert", "waiting_for": "tool convert running"}
    waiting(ActivityStarted(speaker="mcp:time", kind="tool_call", data=tool))
    assert waiting.line() == "mcp:time — tool convert running, 0 s"
    waiting(ModelRetry(role="mcp:time", purpose="mcp", error="429", attempt=1, wait_seconds=1))
    assert waiting.line() == "mcp:time — retry 1 after 429, 0 s"
