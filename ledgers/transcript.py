"""The run's conversation and the token-budgeted view of it that goes into prompts.

The full transcript is kept (it is the record of the run). A prompt shows it under a
budget in tokens: when everything fits, everything goes in full; only when it does not
are the oldest messages compacted into one-line digests, then the oldest digests only
counted, and only as a last resort is the newest message itself cut (with a marker).
Findings are not kept here but in the task ledger, which prompts always show whole: so
compaction can lose wording, never a fact the run established.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Counter = Callable[[str], int]  # tokens in a text: a real tokenizer or a calibrated estimate

EMPTY = "(nothing has happened yet)"
# Characters per token before a provider's own counts calibrate it: conservative (most
# English text runs ~4), so an estimate errs towards a smaller prompt.
CHARS_PER_TOKEN = 3.5


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


class ContextRules(BaseModel):
    """How a model's context is shared out between prompts (`context:` in the config)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reserve_output_tokens: int = Field(
        default=2048, ge=64, description="Kept free for the model's reply (at most 1/4)."
    )
    progress_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Share of the usable context for the progress prompt of every round.",
    )
    notes_share: float = Field(
        default=0.125,
        gt=0,
        le=1,
        description="Share of a specialist's usable context for its team notes.",
    )
    notes_max_tokens: int = Field(
        default=8192,
        ge=256,
        description="A cap on team notes however large the context: the rest of it is the "
        "specialist's own working space (pages, files, program output).",
    )
    digest_chars: int = Field(default=240, ge=40, description="Length of a digest line.")

    def usable(self, context_tokens: int) -> int:
        """Tokens a prompt may take in a model with `context_tokens`."""
        return max(256, context_tokens - min(self.reserve_output_tokens, context_tokens // 4))


def estimate(chars_per_token: float = CHARS_PER_TOKEN) -> Counter:
    """A token count from the length: conservative by default (most text is ~4 chars a
    token), and calibrated from a provider's own counts where the caller has them."""
    return lambda text: math.ceil(len(text) / chars_per_token)


def truncate(text: str, limit: int, hint: str = "") -> str:
    """`text` cut to about `limit` characters with an explicit marker of what was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    more = f"; {hint}" if hint else ""
    return f"{text[:limit]}\n[... truncated: {cut:,} more characters{more}]"


def one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _full(entry: Entry) -> str:
    return f"{entry.heading()}:\n{entry.text}"


def _digest(entry: Entry, chars: int) -> str:
    return f"- {entry.heading()}: {one_line(entry.text, chars)}"


def render(
    entries: Sequence[Entry],
    budget: int,
    count: Counter,
    *,
    digest_chars: int = 240,
) -> str:
    """The conversation in at most about `budget` tokens (see the module's docstring)."""
    if not entries:
        return EMPTY
    full = [_full(e) for e in entries]
    sizes = [count(text) + 1 for text in full]
    total = sum(sizes)
    if total <= budget:
        return "\n".join(full)
    # Room for the section headings that compaction adds.
    budget -= count("(9999 earlier messages omitted)\nEarlier messages, one line each:\n\n") + 8
    parts: list[str | None] = list(full)
    compacted = 0
    while total > budget and compacted < len(entries) - 1:
        digest = _digest(entries[compacted], digest_chars)
        size = count(digest) + 1
        total += size - sizes[compacted]
        parts[compacted], sizes[compacted] = digest, size
        compacted += 1
    omitted = 0
    while total > budget and omitted < compacted:
        total -= sizes[omitted]
        parts[omitted] = None
        omitted += 1
    if total > budget:  # the newest message alone is too big: show as much as fits
        last = full[-1]
        chars = int(len(last) * max(0, budget - 16) / max(1, sizes[-1]))
        parts[-1] = truncate(last, max(200, chars), "ask the specialist for the rest if needed")
    return _layout(parts, omitted, compacted)


def _layout(parts: Sequence[str | None], omitted: int, compacted: int) -> str:
    lines: list[str] = []
    if omitted:
        lines.append(f"({omitted} earlier messages omitted)")
    if compacted > omitted:
        lines.append("Earlier messages, one line each:")
        lines += [p for p in parts[omitted:compacted] if p is not None]
        lines.append("")
    if compacted:
        lines.append("Most recent messages:")
    lines += [p for p in parts[compacted:] if p is not None]
    return "\n".join(lines)
