"""The run's conversation and the bounded view of it that goes into prompts.

The full transcript is kept (it is the record of the run); what the orchestrator's model
sees is compacted: the most recent messages in full (each capped, with a marker saying
what was cut), older ones as one-line digests, the oldest only counted. So the prompt stays
roughly the same size at round 40 as at round 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True)

    round: int
    speaker: str
    kind: Literal["instruction", "reply", "note"]
    text: str
    to: str | None = Field(default=None, description="For instructions: who they were for.")

    def heading(self) -> str:
        arrow = f" -> {self.to}" if self.to else ""
        return f"[round {self.round}] {self.speaker}{arrow}"


class Window(BaseModel):
    """How much of the transcript a prompt shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recent: int = Field(default=6, ge=1, description="Messages shown in full (capped).")
    recent_chars: int = Field(default=2500, ge=200, description="Cap per recent message.")
    digests: int = Field(default=12, ge=0, description="Older messages shown as one line.")
    digest_chars: int = Field(default=160, ge=40, description="Length of a digest line.")


def truncate(text: str, limit: int, hint: str = "") -> str:
    """`text` cut to about `limit` characters with an explicit marker of what was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    more = f"; {hint}" if hint else ""
    return f"{text[:limit]}\n[... truncated: {cut:,} more characters{more}]"


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render(entries: Sequence[Entry], window: Window | None = None) -> str:
    w = window or Window()
    if not entries:
        return "(nothing has happened yet)"
    recent = entries[-w.recent :]
    older = entries[: -w.recent] if len(entries) > w.recent else []
    digested = older[-w.digests :] if w.digests else []
    omitted = len(older) - len(digested)
    parts: list[str] = []
    if omitted:
        parts.append(f"({omitted} earlier messages omitted)")
    if digested:
        parts.append("Earlier messages, one line each:")
        parts += [f"- {e.heading()}: {_one_line(e.text, w.digest_chars)}" for e in digested]
        parts.append("")
        parts.append("Most recent messages:")
    for e in recent:
        body = truncate(e.text, w.recent_chars, "ask the specialist for the rest if needed")
        parts.append(f"{e.heading()}:\n{body}")
    return "\n".join(parts)
