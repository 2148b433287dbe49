"""Framework overhead per round and orchestrator prompt size as runs grow.

A zero-latency scripted model and a scripted person drive runs of 10, 20 and 40 rounds
through the real session (events, checkpoints, live-view-free). Printed per run length:
the wall time per round (all of it is framework overhead: the model answers instantly),
and the orchestrator's progress-prompt size at round 5 and at the last round.

    .venv/bin/python bench/loop_overhead.py [--reply-chars 1500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ledgers import Limits
from orchestrator import session
from orchestrator.config import ScriptedModelConfig, Settings
from orchestrator.events import Event, ModelCalled
from orchestrator.state import HumanConfig, RunConfig


def _judgement(answer: bool, reason: str) -> dict[str, Any]:
    return {"reason": reason, "answer": answer}


def script(rounds: int) -> dict[str, list[dict[str, Any]]]:
    progress = [
        {
            "json": {
                "request_satisfied": _judgement(False, f"Still collecting item {i}."),
                "in_loop": _judgement(False, "Each question is new."),
                "progress_made": _judgement(True, "We learned a new item last round."),
                "next_speaker": {"reason": "Only the person knows.", "answer": "user"},
                "instruction": {"reason": "Next item.", "answer": f"What is item number {i}?"},
            }
        }
        for i in range(1, rounds)
    ]
    progress.append(
        {
            "json": {
                "request_satisfied": _judgement(True, "All items collected."),
                "in_loop": _judgement(False, "No."),
                "progress_made": _judgement(True, "Done."),
                "next_speaker": {"reason": "Done.", "answer": "user"},
                "instruction": {"reason": "Done.", "answer": "Nothing."},
            }
        }
    )
    return {
        "orchestrator.facts": [
            {
                "json": {
                    "given": ["A list of items."],
                    "to_look_up": ["Each item."],
                    "to_derive": [],
                    "guesses": [],
                }
            }
        ],
        "orchestrator.plan": [
            {"json": {"steps": [{"owner": "user", "action": "Ask for each item in turn."}]}}
        ],
        "orchestrator.progress": progress,
        "orchestrator.final": [
            {"json": {"answer": "all items", "evidence": ["asked"], "confidence": "certain"}}
        ],
    }


def trajectory(rounds: int, reply_chars: int, runs_dir: Path, **settings: Any) -> RunConfig:
    """The benchmark's run of `rounds` rounds: a scripted model, a scripted person whose
    replies are `reply_chars` long; `settings` override the run's (e.g. durability)."""
    filler = ("The item is described at length here. " * (reply_chars // 38 + 1))[:reply_chars]
    limits = Limits(max_rounds=rounds + 5, max_seconds=None)
    return session.new_config(
        "Collect every item from the person.",
        Settings(team=["user"], limits=limits, runs_dir=runs_dir, **settings),
        scripted=ScriptedModelConfig.model_validate({"script": script(rounds)}),
        human=HumanConfig(
            mode="scripted", replies=[f"Item {i}: {filler}" for i in range(1, rounds)]
        ),
    )


async def one_run(rounds: int, reply_chars: int, runs_dir: Path) -> tuple[float, list[int]]:
    store = session.start(trajectory(rounds, reply_chars, runs_dir))
    prompt_sizes: list[int] = []

    def collect(event: Event) -> None:
        if isinstance(event, ModelCalled) and event.purpose == "orchestrator.progress":
            prompt_sizes.append(event.prompt_chars)

    started = time.perf_counter()
    result = await session.execute(store, subscribers=[collect])
    took = time.perf_counter() - started
    if result.rounds != rounds or result.status.value != "solved":
        raise SystemExit(f"the benchmark run did not go as scripted: {result}")
    return took / rounds, prompt_sizes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reply-chars", type=int, default=1500, help="Length of each person's reply."
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="Runs per length (median is reported)."
    )
    args = parser.parse_args()
    print(
        f"reply length {args.reply_chars} chars; median of {args.repeats} runs; zero-latency scripted model\n"
    )
    print(
        f"{'rounds':>6} | {'ms/round':>8} | {'prompt@5':>9} | {'prompt@last':>11} | {'last/@5':>7}"
    )
    print("-" * 56)
    with tempfile.TemporaryDirectory() as tmp:
        for rounds in (10, 20, 40):
            per_round, sizes = [], []
            for i in range(args.repeats):
                took, sizes = asyncio.run(
                    one_run(rounds, args.reply_chars, Path(tmp) / f"{rounds}-{i}")
                )
                per_round.append(took)
            at5, last = sizes[4], sizes[-1]
            print(
                f"{rounds:>6} | {statistics.median(per_round) * 1000:>8.2f} | {at5:>9,} | {last:>11,} | {last / at5:>7.2f}"
            )


if __name__ == "__main__":
    main()
