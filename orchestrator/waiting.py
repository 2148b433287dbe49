"""The line under the live view that says what the run is waiting for, and for how long:
"orchestrator.progress — waiting for the model, 12 s", "coder — program running, 8 s",
"web_surfer — page loading, 3 s", "coder — waiting for the model, 5 s".

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
    ActivityStarted,
    ApprovalDecided,
    ApprovalRequested,
    Delegated,
    Event,
    FactsGathered,
    FinalAnswer,
    LimitReached,
    ModelCalled,
    ModelCallStarted,
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
ORCHESTRATOR_PURPOSE = "orchestrator."  # the orchestrator's own calls, in or out of a step


class Waiting:
    """What the run waits for since when, from the last event that began a wait.

    During a specialist's step (from `delegated` to `replied`) the wait is the step's:
    its model call (`model_call_started`), a program, a browser action or a tool
    (`activity_started`), or "working" in between.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.what: str | None = None
        self.since = 0.0
        self._speaker: str | None = None  # whose step is under way

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

    def _after(self, event: Event) -> str | None:
        match event:
            case Delegated():
                self._speaker = event.speaker
                return f"{event.speaker} — working"
            case Replied() | RunResumed():
                self._speaker = None
                return f"orchestrator.progress — {MODEL}"
            case ModelCallStarted():
                again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                return f"{self._waiter(event.purpose)} — {MODEL}{again}"
            case ModelCalled():
                return f"{self._speaker} — working" if self._in_step(event.purpose) else ""
            case ModelRetry():
                error = event.error[:60]
                return f"{self._waiter(event.purpose)} — retry {event.attempt} after {error}"
            case ActivityStarted():
                return f"{event.speaker} — {_activity_wait(event)}"
            case SpecialistActivity():
                return f"{event.speaker} — working"
            case _:
                return self._orchestrator(event)

    def _in_step(self, purpose: str) -> bool:
        return self._speaker is not None and not purpose.startswith(ORCHESTRATOR_PURPOSE)

    def _waiter(self, purpose: str) -> str:
        return self._speaker if self._speaker and self._in_step(purpose) else purpose

    @staticmethod
    def _orchestrator(event: Event) -> str | None:
        match event:
            case RunStarted():
                return f"orchestrator.facts — {MODEL}"
            case FactsGathered():
                return f"orchestrator.plan — {MODEL}"
            case PlanMade() | Replanned() | RoundStarted() | StallDetected():
                return f"orchestrator.progress — {MODEL}"
            case ProgressAssessed():
                if event.ledger.request_satisfied.answer:
                    return f"orchestrator.final — {MODEL}"
                return ""
            case LimitReached():
                return f"orchestrator.final — {MODEL}"
            case ApprovalRequested():
                return f"{event.specialist} — waiting for approval"
            case ApprovalDecided():
                return f"{event.specialist} — working"
            case FinalAnswer() | RunFinished() | RunInterrupted():
                return None
            case _:
                return ""


def _activity_wait(event: ActivityStarted) -> str:
    """What a specialist waits for while the activity it began goes on, in its words."""
    said = event.data.get("waiting_for")
    return str(said)[:80] if said else f"{event.kind} running"


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
