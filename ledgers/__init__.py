"""Pure data and rules of a run: the task and progress ledgers, stall detection, budgets.

Nothing here does I/O or talks to a model, so everything here is cheap to test exhaustively.
"""

from ledgers.budget import (
    BudgetHit,
    FinalStatus,
    Limits,
    Spent,
    StopReason,
    exceeded,
    exceeded_in_step,
)
from ledgers.final import FinalDraft, decide_status
from ledgers.findings import Finding, NewFact
from ledgers.progress_ledger import Choice, Judgement, ProgressLedger, Speaker
from ledgers.stall import StallRules, StallState, StallVerdict, Turn
from ledgers.task_ledger import Facts, Plan, PlanDraft, PlanStep, ReplanDraft, Revision, TaskLedger
from ledgers.transcript import ContextRules, Counter, Entry

__all__ = [
    "BudgetHit",
    "Choice",
    "ContextRules",
    "Counter",
    "Entry",
    "Facts",
    "FinalDraft",
    "FinalStatus",
    "Finding",
    "Judgement",
    "Limits",
    "NewFact",
    "Plan",
    "PlanDraft",
    "PlanStep",
    "ProgressLedger",
    "ReplanDraft",
    "Revision",
    "Speaker",
    "Spent",
    "StallRules",
    "StallState",
    "StallVerdict",
    "StopReason",
    "TaskLedger",
    "Turn",
    "decide_status",
    "exceeded",
    "exceeded_in_step",
]
