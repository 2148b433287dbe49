"""Pure data and rules of a run: the task and progress ledgers, stall detection, budgets.

Nothing here does I/O or talks to a model, so everything here is cheap to test exhaustively.
"""

from ledgers.budget import FinalStatus, Limits, Spent, StopReason, exceeded
from ledgers.final import FinalDraft, decide_status
from ledgers.progress_ledger import Choice, Judgement, ProgressLedger
from ledgers.stall import StallRules, StallState, StallVerdict, Turn
from ledgers.task_ledger import Facts, Plan, PlanStep, Revision, TaskLedger
from ledgers.transcript import Entry, Window

__all__ = [
    "Choice",
    "Entry",
    "Facts",
    "FinalDraft",
    "FinalStatus",
    "Judgement",
    "Limits",
    "Plan",
    "PlanStep",
    "ProgressLedger",
    "Revision",
    "Spent",
    "StallRules",
    "StallState",
    "StallVerdict",
    "StopReason",
    "TaskLedger",
    "Turn",
    "Window",
    "decide_status",
    "exceeded",
]
