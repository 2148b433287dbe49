"""Findings: the facts a run establishes as it goes, each with its source.

The progress ledger reports what a round established (`new_facts`); they are merged into
the task ledger every round, kept in the checkpoint, and shown whole to every prompt
that needs them — the orchestrator's, the specialists' team notes and the final answer.
A finding is never dropped: compacting the conversation loses wording, not facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

MAX_FACT_CHARS = 600  # one finding is a fact, not a document


class NewFact(BaseModel):
    """What the model writes in the progress ledger for one fact this round established."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fact: str = Field(description="The fact, self-contained, with exact values.")
    source: str = Field(description="Who or where it came from: a team member, URL or file.")


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    fact: str
    source: str = ""
    round: int = 0

    def render(self) -> str:
        where = f"{self.source}, round {self.round}" if self.source else f"round {self.round}"
        return f"- {self.fact} ({where})"


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text).strip().lower()


def merge(findings: Sequence[Finding], new: Iterable[NewFact], round: int) -> tuple[Finding, ...]:
    """`findings` plus each new fact not already known (compared loosely), in order."""
    known = {_key(f.fact) for f in findings}
    merged = list(findings)
    for item in new:
        fact = " ".join(item.fact.split())[:MAX_FACT_CHARS]
        key = _key(fact)
        if not key or key in known:
            continue
        known.add(key)
        source = " ".join(item.source.split())[:200]
        merged.append(Finding(fact=fact, source=source, round=round))
    return tuple(merged)


def render(findings: Sequence[Finding]) -> str:
    if not findings:
        return "- (none yet)"
    return "\n".join(f.render() for f in findings)
