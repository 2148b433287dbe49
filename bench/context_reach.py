"""Context reach: do the facts a run finds reach the prompts that need them, at a bounded size?

Synthetic runs of R rounds go through the real session with a zero-latency scripted
model: three specialists take turns, and every reply carries three facts no other reply
has (padded to a given size). The orchestrator's scripted progress ledger reports the
previous reply's facts as `new_facts`, as a model reading the reply would. Measured from
the requests the model received:

- final: the share of all the run's facts present in the final-answer prompt;
- specialist: the share of the previous reply's facts (another specialist's) present in
  the next specialist's first prompt, which needs them;
- progress: the share of the facts found so far present in each progress prompt;
- the largest prompt in tokens, against the configured context, and the prompt
  characters sent over the whole run. For scale: Magentic-One, which sends the whole
  thread every time, sent 4.0M characters on this trajectory (R=40, 3 KB replies) when
  it was measured side by side.

    .venv/bin/python bench/context_reach.py [--context 32768]

Last line: `context reach: final=..% specialist=..% max_prompt_tokens=.. budget=..
total_chars=..` for R=40, 3,000-character replies.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledgers import Limits
from orchestrator import session
from orchestrator import team as team_registry
from orchestrator.config import ScriptedModelConfig, Settings
from orchestrator.models.scripted import ScriptedModel
from specialists.base import Reply, Specialist, StepContext, TeamEnv
from specialists.models.protocol import Message, ModelClient, ModelRequest

SPECIALISTS = ("alpha", "beta", "gamma")
MAGENTIC_ONE_TOTAL_CHARS = 4_000_000  # R=40, 3 KB replies; measured side by side earlier


def facts_of(round_no: int) -> list[str]:
    return [
        f"FACT-{round_no}-{k}: crate {round_no}.{k} weighs {round_no * 7 + k} kg" for k in (1, 2, 3)
    ]


class Reporter:
    """A specialist that reads its team notes like the real ones (first user message,
    before the instruction) and replies with the facts of its round."""

    def __init__(self, name: str, model: ModelClient, reply_chars: int) -> None:
        self.name = name
        self.description = f"{name}: looks things up and reports them."
        self._model = model
        self._reply_chars = reply_chars

    async def step(self, instruction: str, context: StepContext) -> Reply:
        opening = f"{context.notes}\n\nInstruction from the orchestrator:\n{instruction}"
        messages = (Message.system("You are a specialist."), Message.user(opening))
        await self._model.complete(ModelRequest(self.name, messages))
        text = "\n".join(facts_of(context.round))
        padding = max(0, self._reply_chars - len(text))
        return Reply(text + "\n" + ("lorem ipsum " * (padding // 12 + 1))[:padding])

    async def reset(self) -> None:
        return None

    async def close(self) -> None:
        return None


REPLY_CHARS = 0  # set per run before the team is built


def create(env: TeamEnv) -> Specialist:
    assert env.model is not None
    return Reporter(env.name, env.model, REPLY_CHARS)


def _judgement(answer: bool, reason: str) -> dict[str, Any]:
    return {"reason": reason, "answer": answer}


def script(rounds: int) -> dict[str, list[Any]]:
    progress = []
    for r in range(1, rounds + 1):
        speaker = SPECIALISTS[(r - 1) % len(SPECIALISTS)]
        new_facts = [
            {"fact": f, "source": SPECIALISTS[(r - 2) % len(SPECIALISTS)]}
            for f in (facts_of(r - 1) if r > 1 else [])
        ]
        done = r == rounds
        progress.append(
            {
                "json": {
                    "new_facts": new_facts,
                    "request_satisfied": _judgement(done, "all crates weighed" if done else "more"),
                    "in_loop": _judgement(False, "each crate is new"),
                    "progress_made": _judgement(True, "a new crate"),
                    "next_speaker": {"reason": "its turn", "answer": speaker},
                    "instruction": {
                        "reason": "next crate",
                        "answer": f"Weigh the crates of batch {r}, using what the team found.",
                    },
                }
            }
        )
    delegations = rounds - 1
    per = {s: sum(1 for r in range(delegations) if r % 3 == i) for i, s in enumerate(SPECIALISTS)}
    return {
        "orchestrator.facts": [
            {"json": {"given": [], "to_look_up": ["every crate"], "to_derive": [], "guesses": []}}
        ],
        "orchestrator.plan": [
            {
                "json": {
                    "steps": [
                        {"owner": s, "action": "Weigh crates.", "details": ""} for s in SPECIALISTS
                    ]
                }
            }
        ],
        "orchestrator.progress": progress,
        "orchestrator.final": [
            {"json": {"answer": "all weighed", "evidence": [], "confidence": "certain"}}
        ],
        **{s: ["ok"] * n for s, n in per.items()},
    }


@dataclass
class Figures:
    rounds: int
    reply_chars: int
    final: float
    specialist: float
    progress: float
    max_prompt_tokens: int
    budget: int
    total_chars: int


def share(found: int, wanted: int) -> float:
    return 100.0 if wanted == 0 else 100.0 * found / wanted


def text_of(request: ModelRequest) -> str:
    return "\n".join(m.content for m in request.messages)


async def measure(rounds: int, reply_chars: int, context: int) -> Figures:
    global REPLY_CHARS
    REPLY_CHARS = reply_chars
    made: list[ScriptedModel] = []

    class Recording(ScriptedModel):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    session.ScriptedModel = Recording  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            team=list(SPECIALISTS),
            limits=Limits(max_rounds=rounds + 1, max_seconds=600),
            runs_dir=Path(tmp),
        )
        scripted = ScriptedModelConfig.model_validate(
            {"script": script(rounds), "capabilities": {"context_tokens": context}}
        )
        config = session.new_config("Weigh every crate.", settings, scripted=scripted)
        result = await session.execute(session.start(config))
        if result.stop_reason.value != "satisfied":
            raise SystemExit(f"bench run ended {result.stop_reason}: {result.stop_detail}")
    (model,) = made
    requests = model.requests
    finals = [r for r in requests if r.purpose == "orchestrator.final"]
    all_facts = [f for r in range(1, rounds) for f in facts_of(r)]
    final_text = text_of(finals[0])
    final = share(sum(f.split(":")[0] in final_text for f in all_facts), len(all_facts))

    found = wanted = 0
    specialist_calls = [r for r in requests if r.purpose in SPECIALISTS]
    for index, request in enumerate(specialist_calls[1:], start=2):  # delegation = round
        needed = [f.split(":")[0] for f in facts_of(index - 1)]
        text = text_of(request)
        found += sum(tag in text for tag in needed)
        wanted += len(needed)
    specialist = share(found, wanted)

    found = wanted = 0
    for r, request in enumerate([q for q in requests if q.purpose == "orchestrator.progress"], 1):
        known = [f.split(":")[0] for k in range(1, r) for f in facts_of(k)]
        text = text_of(request)
        found += sum(tag in text for tag in known)
        wanted += len(known)
    progress = share(found, wanted)

    chars = [r.prompt_chars() for r in requests]
    return Figures(
        rounds=rounds,
        reply_chars=reply_chars,
        final=final,
        specialist=specialist,
        progress=progress,
        max_prompt_tokens=max(c // 4 for c in chars),  # the scripted model's own count
        budget=context,
        total_chars=sum(chars),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=32_768, help="context_tokens")
    args = parser.parse_args()
    team_registry.BUILTIN.update({name: "__main__:create" for name in SPECIALISTS})
    print(
        f"{'R':>3} {'reply':>5} {'final':>7} {'special.':>8} {'progress':>8} "
        f"{'max tok':>8} {'budget':>7} {'total chars':>12}"
    )
    last: Figures | None = None
    for reply_chars in (0, 3000):
        for rounds in (10, 20, 40):
            f = asyncio.run(measure(rounds, reply_chars, args.context))
            print(
                f"{f.rounds:>3} {f.reply_chars:>5} {f.final:>6.1f}% {f.specialist:>7.1f}% "
                f"{f.progress:>7.1f}% {f.max_prompt_tokens:>8,} {f.budget:>7,} "
                f"{f.total_chars:>12,}"
            )
            last = f
    assert last is not None
    ratio = last.total_chars / MAGENTIC_ONE_TOTAL_CHARS
    print(
        f"R=40, 3 KB replies: {last.total_chars:,} prompt chars, {ratio:.2f}x Magentic-One's "
        f"{MAGENTIC_ONE_TOTAL_CHARS:,} (aim: at most 0.5x)"
    )
    print(
        f"context reach: final={last.final:.0f}% specialist={last.specialist:.0f}% "
        f"max_prompt_tokens={last.max_prompt_tokens} budget={last.budget} "
        f"total_chars={last.total_chars}"
    )


if __name__ == "__main__":
    main()
