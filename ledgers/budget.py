"""Limits on a run and the named reasons a run stops."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field


class StopReason(StrEnum):
    SATISFIED = "satisfied"
    MAX_ROUNDS = "max_rounds"
    MAX_REPLANS = "max_replans"
    TIMEOUT = "timeout"
    TOKEN_BUDGET = "token_budget"
    COST_BUDGET = "cost_budget"
    CANCELLED = "cancelled"
    MODEL_UNAVAILABLE = "model_unavailable"
    ERROR = "error"


class FinalStatus(StrEnum):
    SOLVED = "solved"
    BEST_GUESS = "best_guess"
    FAILED = "failed"


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_rounds: int = Field(default=20, ge=1, description="Rounds (delegations) before stopping.")
    max_stalls: int = Field(default=3, ge=1, description="Stalled rounds that trigger a replan.")
    max_replans: int = Field(default=3, ge=0, description="Replans before giving up.")
    max_seconds: float | None = Field(default=1800, gt=0, description="Wall-clock limit.")
    max_tokens: int | None = Field(default=None, ge=1, description="Total tokens, all roles.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Total cost, all roles.")


class Spent(BaseModel):
    """What a run has used so far; compared against `Limits` before every round."""

    model_config = ConfigDict(frozen=True)

    rounds: int = 0
    replans: int = 0
    seconds: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0


class BudgetHit(NamedTuple):
    """A limit that has been reached, and a sentence saying so."""

    reason: StopReason
    detail: str


def exceeded(limits: Limits, spent: Spent) -> BudgetHit | None:
    """The first limit `spent` has reached, with a sentence saying so, or None."""
    if spent.rounds >= limits.max_rounds:
        return BudgetHit(StopReason.MAX_ROUNDS, f"reached the limit of {limits.max_rounds} rounds")
    return exceeded_in_step(limits, spent)


def exceeded_in_step(limits: Limits, spent: Spent) -> BudgetHit | None:
    """The wall-clock, token or cost budget `spent` has reached, or None: what a specialist
    checks between the actions of one step (rounds only count between steps)."""
    if limits.max_seconds is not None and spent.seconds >= limits.max_seconds:
        return BudgetHit(
            StopReason.TIMEOUT, f"ran for {spent.seconds:.1f}s, limit {limits.max_seconds:g}s"
        )
    if limits.max_tokens is not None and spent.tokens >= limits.max_tokens:
        return BudgetHit(
            StopReason.TOKEN_BUDGET, f"used {spent.tokens:,} tokens, budget {limits.max_tokens:,}"
        )
    if limits.max_cost_usd is not None and spent.cost_usd >= limits.max_cost_usd:
        return BudgetHit(
            StopReason.COST_BUDGET,
            f"spent ${spent.cost_usd:.4f}, budget ${limits.max_cost_usd:.4f}",
        )
    return None
