"""Taking the final answer out of what the system said, before it is scored.

Kept apart from scoring because it is a property of the *system under test* (how it
phrases answers), not of the task: GAIA's prompt asks for a `FINAL ANSWER: ...` line, our
orchestrator returns the answer on its own. A suite chooses the rule (`extract:`):

- `auto` (default): the text after the last `FINAL ANSWER:` marker if there is one,
  otherwise the whole answer;
- `marker`: the text after the last marker (default `FINAL ANSWER:`); no marker, no answer;
- `last_line`: the last non-empty line;
- `whole`: the whole answer, stripped;
- `regex`: the first group (or the whole match) of `pattern`'s last match; none, no answer.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

DEFAULT_MARKER = "FINAL ANSWER:"


class Extraction(BaseModel):
    """How to find the answer in the system's output; a plain string names the mode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["auto", "marker", "last_line", "whole", "regex"] = "auto"
    marker: str = DEFAULT_MARKER
    pattern: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_mode(cls, value: Any) -> Any:
        return {"mode": value} if isinstance(value, str) else value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _pattern_for_regex(self) -> Extraction:
        if self.mode == "regex" and self.pattern is None:
            raise ValueError("mode 'regex' needs a 'pattern'")
        return self


def extract(answer: str, rule: Extraction) -> str | None:
    """The answer to score, or None when the rule finds nothing (scored as a miss)."""
    if rule.mode == "whole":
        return answer.strip()
    if rule.mode == "last_line":
        lines = [line.strip() for line in answer.splitlines() if line.strip()]
        return lines[-1] if lines else None
    if rule.mode == "regex":
        assert rule.pattern is not None
        matches = list(re.finditer(rule.pattern, answer, flags=re.MULTILINE))
        if not matches:
            return None
        last = matches[-1]
        return (last.group(1) if last.groups() else last.group(0)).strip()
    after = _after_marker(answer, rule.marker)
    if after is None and rule.mode == "auto":
        return answer.strip()
    return after


def _after_marker(answer: str, marker: str) -> str | None:
    """The rest of the line after the last `marker` (case-insensitive), or None.

    The usual shapes are accepted: `**FINAL ANSWER:** 17`, `Final Answer: 17`, and an
    answer in brackets or emphasis (`[17]`, `**17**`) is taken out of them."""
    words = [re.escape(w) for w in marker.rstrip(":").split()]
    shaped = r"[*_]*\s*".join(words) + (r"[*_]*\s*:[*_]*" if marker.endswith(":") else "")
    found = [m.end() for m in re.finditer(shaped, answer, flags=re.IGNORECASE)]
    if not found:
        return None
    rest = answer[found[-1] :].strip()
    first_line = (rest.splitlines()[0] if rest else "").strip()
    return _unwrapped(first_line)


def _unwrapped(text: str) -> str:
    """`[17]` → `17`, `**17**` → `17`, `` `17` `` → `17`; a list in brackets with commas
    (`[1, 2]`) is GAIA's list shape and stays as written."""
    for opening, closing in (("**", "**"), ("__", "__"), ("`", "`"), ("*", "*")):
        if len(text) > 2 * len(opening) and text.startswith(opening) and text.endswith(closing):
            text = text[len(opening) : -len(closing)].strip()
    if text.startswith("[") and text.endswith("]") and "," not in text:
        text = text[1:-1].strip()
    return text
