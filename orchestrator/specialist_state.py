"""The team's state in the checkpoint: collected at every checkpoint, restored on resume.

A specialist that implements `specialists.base.Stateful` keeps its open pages, document or
conversation across a crash. Neither direction may stop the run: a failing save keeps the
previous state, and a state that cannot be restored (refused, too big, or the specialist
failing) becomes a sentence the orchestrator reads in its next prompt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from specialists.base import Specialist, Stateful
from specialists.state import MAX_STATE_CHARS, StateRefused


async def collect(
    team: Mapping[str, Specialist], previous: Mapping[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Every stateful member's state now; a member whose save fails keeps its last one."""
    states: dict[str, dict[str, Any]] = {}
    for name, specialist in team.items():
        if not isinstance(specialist, Stateful):
            continue
        try:
            state = await specialist.save_state()
            text = json.dumps(state, ensure_ascii=False)
        except Exception:  # a bug or a dead browser must not stop the checkpoint
            if name in previous:
                states[name] = previous[name]
            continue
        if state and len(text) <= MAX_STATE_CHARS and _encodable(text):
            states[name] = state
    return states


def _encodable(text: str) -> bool:
    """Not a lone surrogate in it (a file name's undecodable bytes): the checkpoint is UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def restore(
    team: Mapping[str, Specialist], saved: Mapping[str, dict[str, Any]]
) -> dict[str, list[str]]:
    """Give each member its saved state back; what could not be restored, by member."""
    problems: dict[str, list[str]] = {}
    for name, state in saved.items():
        specialist = team.get(name)
        if specialist is None or not state:
            continue
        said = await _restore_one(specialist, state)
        if said:
            problems[name] = said
    return problems


async def _restore_one(specialist: Specialist, state: dict[str, Any]) -> list[str]:
    if not isinstance(specialist, Stateful):
        return ["its saved state was not restored: it does not keep state any more"]
    size = len(json.dumps(state))
    if size > MAX_STATE_CHARS:
        return [
            f"its saved state was not restored: {size:,} characters, over the limit of "
            f"{MAX_STATE_CHARS:,}"
        ]
    try:
        return await specialist.load_state(state)
    except StateRefused as exc:
        return [f"its saved state was not restored: {exc}"]
    except Exception as exc:  # its own failure: said, and the run goes on without the state
        why = f"{type(exc).__name__}: {exc}"[:300]
        return [f"restoring its saved state failed ({why}); it starts afresh"]


def note(name: str, problems: list[str]) -> str:
    """The transcript note for the orchestrator about a member's restore."""
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        f"The run was resumed; {name} could not be restored as it was before the interruption:"
        f"\n{listed}"
    )
