"""Where trials run: here, as asyncio tasks (`local`), or on a Ray cluster (`ray`).

A backend takes the trials to run and hands each `TrialRecord` to `sink` as it arrives
(the runner appends it to the index). It runs each trial with `trial.run_trial`, so the
run directories and records are the same whichever backend ran them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from orchestrator.evaluation.records import TrialRecord
from orchestrator.evaluation.trial import TrialJob

Sink = Callable[[TrialRecord], None]
CANCELLED = "interrupted before it finished; `--resume` runs it again"


class Backend(Protocol):
    async def run(self, jobs: Sequence[TrialJob], sink: Sink) -> None: ...
