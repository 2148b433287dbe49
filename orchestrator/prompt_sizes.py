"""The orchestrator's prompts for a sample round, built with `orchestrator.prompts`: how
large they are for a team (the floor a model's context must clear, for `doctor`) and a
fixed prompt set per purpose (for `bench/local_model.py`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from ledgers import Entry, Facts, FinalDraft, Plan, PlanStep, ProgressLedger, TaskLedger, Window
from orchestrator import prompts
from orchestrator.state import TeamMember
from specialists.models.protocol import Message
from specialists.models.structured import strict_schema

SAMPLE_TASK = "What is the capital of France? Answer in one word."
# Specialists describe themselves in a few sentences; a sample of that length.
_DESCRIPTION = (
    "A specialist of this team. It carries out one instruction at a time with its own "
    "tools and replies with what it found, quoting its sources, or with why it could not."
)
# The output a structured reply needs, on top of the prompt (a progress ledger is ~150).
OUTPUT_RESERVE_TOKENS = 512


@dataclass(frozen=True)
class SamplePrompt:
    purpose: str
    messages: list[Message]
    schema: type[BaseModel]

    def chars(self) -> int:
        # The structured-output rungs add the schema to the prompt.
        schema = json.dumps(strict_schema(self.schema))
        return sum(len(m.content) for m in self.messages) + len(schema)


def sample_prompts(team_names: Sequence[str], task: str = SAMPLE_TASK) -> list[SamplePrompt]:
    """Facts, plan, progress and final prompts for a first round of `task` by this team."""
    team = [TeamMember(name=n, description=_DESCRIPTION) for n in team_names]
    first = team_names[0] if team_names else "user"
    facts = Facts(given=(task,), to_look_up=(), to_derive=(), guesses=("Paris",))
    plan = Plan(steps=(PlanStep(owner=first, action="Answer the question in one word."),))
    ledger = TaskLedger(task=task, facts=facts, plan=plan)
    history = [
        Entry(round=1, speaker="orchestrator", kind="instruction", text=task, to=first),
        Entry(round=1, speaker=first, kind="reply", text="Paris."),
    ]
    window = Window()
    return [
        SamplePrompt("orchestrator.facts", prompts.facts(task, team), Facts),
        SamplePrompt("orchestrator.plan", prompts.plan(task, team, facts.render()), Plan),
        SamplePrompt(
            "orchestrator.progress",
            prompts.progress(ledger, team, history, window, 2),
            ProgressLedger,
        ),
        SamplePrompt(
            "orchestrator.final",
            prompts.final(ledger, history, window, "The request is satisfied."),
            FinalDraft,
        ),
    ]


def estimate_tokens(chars: int) -> int:
    """A rough count for English prompts with JSON in them (about 3.5 characters a token)."""
    return int(chars / 3.5) + 1


def largest_prompt_tokens(team_names: Sequence[str], window: Window) -> tuple[str, int]:
    """The largest prompt a run of this team will send, in estimated tokens with the
    output reserve: the progress prompt once the conversation fills `window`."""
    sizes = {p.purpose: p.chars() for p in sample_prompts(team_names)}
    conversation = window.recent * window.recent_chars + window.digests * window.digest_chars
    sizes["orchestrator.progress"] += conversation
    purpose = max(sizes, key=sizes.__getitem__)
    return purpose, estimate_tokens(sizes[purpose]) + OUTPUT_RESERVE_TOKENS
