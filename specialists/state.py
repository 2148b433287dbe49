"""Versioned specialist state, as kept in the run's checkpoint (`Stateful` in `base`).

Every state is a JSON object with a `"version"`; a specialist parses what it is given
back with `parse_state`, which refuses (`StateRefused`, a one-line reason) a state without
a version, of a newer version than this program reads, or that does not validate. The
checkpoint is untrusted on load: schemas cap every list and string, and the orchestrator
refuses any one state over `MAX_STATE_CHARS` before a specialist sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from specialists.base import settings_problems

MAX_STATE_CHARS = 256_000  # one specialist's state, as JSON
PROBLEM_CHARS = 300  # of a refusal's reason

M = TypeVar("M", bound=BaseModel)


class StateRefused(ValueError):
    """A saved state that is not restored; the message says why, in one line."""


def parse_state(schema: type[M], raw: Mapping[str, Any], version: int) -> M:
    """`raw` as `schema` (whose `version` field is `version`), or StateRefused."""
    found = raw.get("version")
    if type(found) is not int:
        raise StateRefused("it has no version number")
    if found > version:
        raise StateRefused(f"it is version {found}, newer than this program reads ({version})")
    if found < version:
        raise StateRefused(f"it is version {found}, older than this program reads ({version})")
    try:
        return schema.model_validate(dict(raw))
    except ValidationError as exc:
        problems = settings_problems(exc, "state")
        if len(problems) > PROBLEM_CHARS:
            problems = problems[: PROBLEM_CHARS - 1] + "…"
        raise StateRefused(f"it is malformed: {problems}") from None
