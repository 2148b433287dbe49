"""The purposes a scripted model can be given replies for, checked when a script is loaded.

A purpose names what a model call is for: the orchestrator's four ledger calls, the judge of
an evaluation, and each specialist's own calls (its name, or `name.something`, e.g.
`web_surfer.answer`; a `family:label` member such as `mcp:time` calls under its own name).
A typo (`orchestrator.progres`) would otherwise surface only mid-run as "the script has no
replies for orchestrator.progress". `CONSUMED` says when each built-in purpose takes a
reply; docs/scenarios.md is generated from it.
"""

from __future__ import annotations

import difflib
from typing import Annotated

from pydantic import AfterValidator

ORCHESTRATOR = (
    "orchestrator.facts",
    "orchestrator.plan",
    "orchestrator.progress",
    "orchestrator.final",
)
FIXED = (*ORCHESTRATOR, "eval.judge", "web_surfer.answer")

ATTEMPTS = (
    "A reply that does not validate (a bad shape, a name not on the team) is fed back to the "
    "model and the next reply is taken, up to 3 per call; after that the call has failed."
)

# When each built-in purpose takes its next reply, in the order a run makes the calls.
CONSUMED: dict[str, str] = {
    "orchestrator.facts": (
        "Once when the run starts: the task's facts (`given`, `to_look_up`, `to_derive`, "
        "`guesses`). Once more at every replan: the revised facts. " + ATTEMPTS
    ),
    "orchestrator.plan": (
        "Once when the run starts, right after `orchestrator.facts`: `{needs_plan, steps}` "
        "(`needs_plan: false` with no steps answers at once: no rounds, straight to "
        "`orchestrator.final`). Once more at every replan, right after that replan's "
        "facts: `{root_cause, hints, steps, reset}`. " + ATTEMPTS
    ),
    "orchestrator.progress": (
        "Once at the start of every round, before anything else in it. If "
        "`request_satisfied` is true the run stops (then `orchestrator.final`). If the "
        "round brings the stall count to `limits.max_stalls` it replans instead of "
        "delegating: that round takes this progress reply, then a second "
        "`orchestrator.facts` and `orchestrator.plan` reply, and no specialist reply (with "
        "`limits.max_replans` used up it stops with `max_replans` instead). Otherwise the "
        "round delegates `instruction` to `next_speaker`. An unusable ledger (3 invalid "
        "replies) counts as a stall."
    ),
    "orchestrator.final": (
        "Once at the end, whatever stopped the run (also after a limit): "
        "`{answer, evidence, confidence}`."
    ),
    "web_surfer": (
        "One reply per model turn of a web surfer step: `tool_calls` (several per turn are "
        "run in order) until a `done` call; a turn without tool calls ends the step with its "
        "text as the answer. After `max_actions_per_step` actions (default 6) calls are not "
        "run and one more turn is asked for that offers only `done`. A model without "
        "`tools` capability replies `{json: {action, arguments}}`, one action per turn."
    ),
    "web_surfer.answer": (
        "One text reply per `answer_question` action: the answer from the page's text."
    ),
    "file_surfer": (
        "One reply per model turn of a file surfer step: `tool_calls` until a `done` call (a "
        "turn without tool calls ends the step with its text). After `max_actions` actions "
        "(default 8) only `done` is offered. Without `tools` capability: `{json: {tool, "
        "<its arguments>}}`, one action per turn."
    ),
    "coder": (
        "One text reply per round of a coder step: its fenced code blocks tagged `python` "
        "or `sh` (also py, python3, bash, shell) are run in order, and their output is the next "
        "round's prompt; a reply without a runnable block ends the step and is its answer. "
        "At most `max_rounds` rounds (default 5) per step."
    ),
    "mcp": (
        "The member's own name is its purpose (`mcp`, or `mcp:<server>` for one server's "
        "member). One reply per model turn: `tool_calls` of the servers' tools (the step's "
        "first `specialist_observed` event lists their names; with several servers they are "
        "`<server>__<tool>`) until `done`. At most `max_calls` calls (default 6) per step. "
        "Without `tools` capability: `{json: {tool, arguments, answer}}`."
    ),
    "user": "No model calls: the scenario's `human:` list answers the questions it is asked.",
    "eval.judge": "An evaluation's model-as-judge scorer, once per judged trial; not in scenarios.",
}


def known() -> list[str]:
    from orchestrator import team  # entry points: third-party specialists count too

    return sorted({*FIXED, *team.available()})


def built_in() -> list[str]:
    """The purposes of this package alone (what the generated documentation lists)."""
    from orchestrator import team

    return sorted({*FIXED, *team.BUILTIN})


def check(purpose: str) -> str:
    names = known()
    member = purpose.split(".", 1)[0]
    if purpose in names or member in names or member.split(":", 1)[0] in names:
        return purpose
    close = difflib.get_close_matches(purpose, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ValueError(f"unknown purpose {purpose!r}; {hint}known: {', '.join(names)}")


Purpose = Annotated[str, AfterValidator(check)]
