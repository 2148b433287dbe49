"""What a specialist records besides plain activity: a failed action, and what it saw.

Both go out through `StepContext.notify` under a reserved kind, so the protocol stays as it
is; the orchestrator turns them into typed events (`action_failed`, `specialist_observed`)
that scenario expectations and `orchestrator show` read. A tool call the model got wrong
(an unknown tool, bad arguments), an action that failed or was refused, or one that was not
run (a step's limit, `done` already called) is an `action_failed`: without it a scripted
mistake (a wrong element id, a misspelt tool) would leave no trace, since the scripted
orchestrator carries on regardless. An observation is the text the specialist's model was
shown after an action (or when its step began), cut to `OBSERVATION_MAX_CHARS`, so a
scenario's author can read element ids and file names from the run's events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from specialists.base import StepContext

FAILED = "action_failed"
OBSERVED = "observed"

Problem = Literal["unknown_tool", "bad_arguments", "failed", "refused", "not_run"]
PROBLEMS: tuple[Problem, ...] = ("unknown_tool", "bad_arguments", "failed", "refused", "not_run")

OBSERVATION_MAX_CHARS = 4000
ERROR_MAX_CHARS = 1000
ARGUMENTS_MAX_CHARS = 1000


def clip(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    marker = f"\n[… {len(text) - limit} more characters cut]"
    return text[: max(0, limit - len(marker))] + marker


def shown_arguments(arguments: str | Mapping[str, Any] | None) -> str:
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return clip(arguments, ARGUMENTS_MAX_CHARS)
    return clip(json.dumps(dict(arguments), ensure_ascii=False, default=str), ARGUMENTS_MAX_CHARS)


def action_failed(
    context: StepContext,
    action: str,
    problem: Problem,
    error: str,
    arguments: str | Mapping[str, Any] | None = None,
) -> None:
    """Record that `action` (a tool name, as the model gave it) did not do its work.
    `arguments` must already be redacted of anything secret."""
    context.notify(
        FAILED,
        {
            "action": clip(action, 200),
            "problem": problem,
            "error": clip(error.strip(), ERROR_MAX_CHARS),
            "arguments": shown_arguments(arguments),
        },
    )


def observed(context: StepContext, text: str, *, after: str = "") -> None:
    """Record what the specialist's model was shown after `after` (an action's name;
    empty when the step began). `text` must already be redacted of anything secret."""
    context.notify(OBSERVED, {"after": clip(after, 200), "text": clip(text, OBSERVATION_MAX_CHARS)})
