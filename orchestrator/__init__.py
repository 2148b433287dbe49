"""The conductor: model clients, the round loop, events, the run store, scenarios and the CLI.

The Python API is `Orchestrator` (see `orchestrator.api`)."""

from orchestrator.api import Orchestrator, RunHandle, RunNotFinished
from orchestrator.state import FinalResult

__all__ = ["FinalResult", "Orchestrator", "RunHandle", "RunNotFinished"]
