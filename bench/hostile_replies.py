"""Time spent on hostile inputs that once blocked a run: JSON extraction from huge or deeply
nested replies, and the live view rendering long unbroken text.

Prints, per input, the seconds `extract_json` took (it must fail fast, as a ValueError) and
the seconds the live view took to render one event holding that much unbroken text.

    .venv/bin/python bench/hostile_replies.py
"""

from __future__ import annotations

import io
import time

from rich.console import Console

from ledgers import FinalStatus, StopReason
from orchestrator.events import Delegated, FinalAnswer, Replied
from orchestrator.live import LiveView
from specialists.models import structured

JSON_INPUTS = {
    "300k '{'": "{" * 300_000,
    "300k '['": "[" * 300_000,
    "5 MB of text": "x" * 5_000_000,
    "60k broken objects": '{"a": 1,' * 60_000,
    "deep in chatter": "Here: " + '{"a":' * 50_000,
}


def time_extract(text: str) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        structured.extract_json(text)
        outcome = "parsed"
    except ValueError as exc:
        outcome = str(exc)[:50]
    return time.perf_counter() - start, outcome


def time_view(chars: int) -> float:
    token = "x" * chars
    view = LiveView(Console(file=io.StringIO(), width=120))
    events = [
        Delegated(speaker="user", instruction=token),
        Replied(speaker="user", text=token),
        FinalAnswer(
            status=FinalStatus.SOLVED,
            answer=token,
            evidence=[token],
            stop_reason=StopReason.SATISFIED,
        ),
    ]
    start = time.perf_counter()
    for event in events:
        view(event)
    return (time.perf_counter() - start) / len(events)


def main() -> None:
    print("extract_json")
    for name, text in JSON_INPUTS.items():
        seconds, outcome = time_extract(text)
        print(f"  {name:20} {seconds * 1000:8.1f} ms  {outcome}")
    print("live view, one event of unbroken text")
    for chars in (1_000, 50_000, 1_000_000):
        print(f"  {chars:>9,} chars      {time_view(chars) * 1000:8.1f} ms per event")


if __name__ == "__main__":
    main()
