"""What the waiting line says after each kind of step, and how long it counts."""

from __future__ import annotations

from ledgers import FinalStatus, StopReason
from orchestrator.events import (
    ApprovalDecided,
    ApprovalRequested,
    Delegated,
    FinalAnswer,
    RoundStarted,
    RunStarted,
    SpecialistActivity,
)
from orchestrator.waiting import Waiting


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
