"""Sample orchestrator prompts for a first round, built by the real context builder: how
large they are for a team (the floor a model's context must clear, for `doctor`) and a
fixed prompt set per purpose (for `bench/local_model.py` and the real-model tests)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from ledgers import (
    ContextRules,
    Entry,
    Facts,
    FinalDraft,
    Plan,
    PlanDraft,
    PlanStep,
    ProgressLedger,
    TaskLedger,
    transcript,
)
from ledgers.transcript import CHARS_PER_TOKEN
from orchestrator.context import ContextBuilder, Reader
from orchestrator.state import RunState, TeamMember
from specialists.models.protocol import Capabilities, Message
from specialists.models.structured import strict_schema

SAMPLE_TASK = "What is the capital of France? Answer in one word."
# Specialists describe themselves in a few sentences; a sample of that length.
_DESCRIPTION = (
    "A specialist of this team. It carries out one instruction at a time with its own "
    "tools and replies with what it found, quoting its sources, or with why it could not."
)


@dataclass(frozen=True)
class SamplePrompt:
    purpose: str
    messages: list[Message]
    schema: type[BaseModel]

    def chars(self) -> int:
        # The structured-output rungs add the schema to the prompt.
        schema = json.dumps(strict_schema(self.schema))
        return sum(len(m.content) for m in self.messages) + len(schema)


def sample_prompts(
    team_names: Sequence[str],
    task: str = SAMPLE_TASK,
    *,
    context_tokens: int = 8192,
    rules: ContextRules | None = None,
) -> list[SamplePrompt]:
    """Facts, plan, progress and final prompts for a first round of `task` by this team,
    as the context builder makes them for a model with `context_tokens`."""
    team = [TeamMember(name=n, description=_DESCRIPTION) for n in team_names]
    first = team_names[0] if team_names else "user"
    facts = Facts(given=(task,), to_look_up=(), to_derive=(), guesses=("Paris",))
    plan = Plan(steps=(PlanStep(owner=first, action="Answer the question in one word."),))
    state = RunState(run_id="sample", task=task, team=team)
    builder = ContextBuilder(
        rules=rules or ContextRules(),
        orchestrator=Reader(
            Capabilities(context_tokens=context_tokens), transcript.estimate(CHARS_PER_TOKEN)
        ),
    )
    facts_prompt = builder.facts(state)
    plan_prompt = builder.plan(state, facts)
    state.ledger = TaskLedger(task=task, facts=facts, plan=plan)
    state.transcript = [
        Entry(round=1, speaker="orchestrator", kind="instruction", text=task, to=first),
        Entry(round=1, speaker=first, kind="reply", text="Paris."),
    ]
    state.rounds = 2
    return [
        SamplePrompt("orchestrator.facts", facts_prompt, Facts),
        SamplePrompt("orchestrator.plan", plan_prompt, PlanDraft),
        SamplePrompt("orchestrator.progress", builder.progress(state, []), ProgressLedger),
        SamplePrompt(
            "orchestrator.final", builder.final(state, "The request is satisfied."), FinalDraft
        ),
    ]


def estimate_tokens(chars: int) -> int:
    return int(chars / CHARS_PER_TOKEN) + 1


def smallest_context(team_names: Sequence[str], rules: ContextRules) -> tuple[str, int]:
    """The context a run of this team needs at least, in estimated tokens: its largest
    first-round prompt (the parts that always go in whole, and the schema) plus the room
    kept for the reply. Later prompts are budgeted to the context, so this is the floor."""
    sizes = {p.purpose: p.chars() for p in sample_prompts(team_names, rules=rules)}
    purpose = max(sizes, key=sizes.__getitem__)
    return purpose, estimate_tokens(sizes[purpose]) + rules.reserve_output_tokens
