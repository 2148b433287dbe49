"""The line under the live view that says what the run is waiting for, and for how long:
"orchestrator.progress — waiting for the model, 12 s", "coder — program running, 8 s".

`Waiting` infers it from the events alone (the step that began the wait); `WaitingLine`
shows it on a terminal as a spinner that steps aside while the person is asked something.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rich.console import Console, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner

from orchestrator.events import (
    ApprovalDecided,
    ApprovalRequested,
    Delegated,
    Event,
    FactsGathered,
    FinalAnswer,
    LimitReached,
    ModelRetry,
    PlanMade,
    ProgressAssessed,
    Replanned,
    Replied,
    RoundStarted,
    RunFinished,
    RunInterrupted,
    RunResumed,
    RunStarted,
    SpecialistActivity,
    StallDetected,
    before_prompt,
)

MODEL = "waiting for the model"


class Waiting:
    """What the run waits for since when, from the last event that began a wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.what: str | None = None
        self.since = 0.0

    def __call__(self, event: Event) -> None:
        what = self._after(event)
        if what == "":  # an event that changes nothing
            return
        if what != self.what:
            self.since = self._clock()
        self.what = what

    def line(self) -> str | None:
        if self.what is None:
            return None
        return f"{self.what}, {int(self._clock() - self.since)} s"

    @staticmethod
    def _after(event: Event) -> str | None:
        match event:
            case RunStarted():
                return f"orchestrator.facts — {MODEL}"
            case FactsGathered():
                return f"orchestrator.plan — {MODEL}"
            case RunResumed() | PlanMade() | Replanned() | RoundStarted() | StallDetected():
                return f"orchestrator.progress — {MODEL}"
            case Replied():
                return f"orchestrator.progress — {MODEL}"
            case ProgressAssessed():
                if event.ledger.request_satisfied.answer:
                    return f"orchestrator.final — {MODEL}"
                return ""
            case LimitReached():
                return f"orchestrator.final — {MODEL}"
            case Delegated():
                return f"{event.speaker} — working"
            case ApprovalRequested():
                return f"{event.specialist} — waiting for approval"
            case ApprovalDecided():
                running = "program running" if event.approved else "working"
                return f"{event.specialist} — {running}"
            case SpecialistActivity():
                return f"{event.speaker} — working"
            case ModelRetry():
                return f"{event.purpose} — retry {event.attempt} after {event.error[:60]}"
            case FinalAnswer() | RunFinished() | RunInterrupted():
                return None
            case _:
                return ""


class WaitingLine:
    """An event subscriber keeping a spinner line at the bottom of a terminal."""

    def __init__(self, console: Console, waiting: Waiting | None = None) -> None:
        self._waiting = waiting or Waiting()
        self._spinner = Spinner("dots", style="cyan")
        self._live = Live(self, console=console, transient=True, refresh_per_second=4)
        self._lock = threading.Lock()
        self._paused = False
        before_prompt(self.pause)

    def __rich__(self) -> RenderableType:
        self._spinner.text = escape(self._waiting.line() or "")
        return self._spinner

    def __call__(self, event: Event) -> None:
        self._waiting(event)
        with self._lock:
            if isinstance(event, Replied | ApprovalDecided):
                self._paused = False  # the person has answered
            showing = self._waiting.what is not None and not self._paused
            if showing and not self._live.is_started:
                self._live.start()
            elif not showing and self._live.is_started:
                self._live.stop()

    def pause(self) -> None:
        """Step aside while the person types an answer."""
        with self._lock:
            self._paused = True
            if self._live.is_started:
                self._live.stop()

    def close(self) -> None:
        with self._lock:
            if self._live.is_started:
                self._live.stop()
