"""The bundled local model, measured: load time, prompt and generation speed, the time
per orchestrator purpose on a fixed prompt set, and the routing suite's score.

The prompt set is the first round of "What is the capital of France?" for a one-person
team, built by the context builder (orchestrator.prompt_sizes.sample_prompts), so
a prompt change shows up here as a change in time per purpose. Each purpose is asked
through the structured-output ladder as the loop asks it. The suite is
evals/routing/suite.yaml run with `orchestrator eval` (one trial per task).

    .venv/bin/python bench/local_model.py [--model local:smollm2] [--repeats 2] [--skip-suite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.models.local import LocalModel
from orchestrator.models.local_bench import RungRecorder, measure
from orchestrator.models.spec import ModelSpec
from orchestrator.prompt_sizes import sample_prompts
from specialists.models import structured
from specialists.models.protocol import StructuredOutputError

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "evals/routing/suite.yaml"
# The closed sets the loop puts into its schemas (a one-person team).
ENUMS = {"orchestrator.plan": {"PlanStep.owner": ["user"]}}


async def model_figures(model: str, repeats: int) -> None:
    client = LocalModel(ModelSpec(model=model, timeout=300))
    try:
        figures = await measure(client)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine          {os.cpu_count()} CPUs, load average {load} (speeds scale with it)")
        print(f"model            {model} ({client.gguf.name}), context {client.n_ctx:,} tokens")
        print(f"load             {figures.load_seconds:.2f} s (server start to first answer)")
        print(f"prompt           {figures.prompt_tps:.0f} tokens/s")
        print(f"generation       {figures.generate_tps:.0f} tokens/s")
        print(f"structured rung  {figures.rung}")
        print()
        print(
            f"{'purpose':22} {'prompt chars':>12} {'seconds':>8} {'calls':>5} {'in tok':>7} {'out tok':>7}  valid"
        )
        for prompt in sample_prompts(["user"]):
            times, recorders, valid = [], [], 0
            for _ in range(repeats):
                recorder = RungRecorder(client)
                before = time.monotonic()
                try:
                    await structured.generate(
                        recorder,
                        purpose=prompt.purpose,
                        messages=prompt.messages,
                        schema=prompt.schema,
                        enums=ENUMS.get(prompt.purpose),
                    )
                    valid += 1
                except StructuredOutputError:
                    pass
                times.append(time.monotonic() - before)
                recorders.append(recorder)
            print(
                f"{prompt.purpose:22} {prompt.chars():>12,} {statistics.median(times):>8.2f} "
                f"{statistics.median(r.calls for r in recorders):>5.0f} "
                f"{statistics.median(r.usage.input_tokens for r in recorders):>7.0f} "
                f"{statistics.median(r.usage.output_tokens for r in recorders):>7.0f}  "
                f"{valid}/{repeats}"
            )
    finally:
        await client.close()


def suite_figures(model: str) -> None:
    out = Path(tempfile.mkdtemp(prefix="bench-routing-")) / "eval"
    cli = Path(sys.executable).parent / "orchestrator"
    started = time.monotonic()
    done = subprocess.run(
        [str(cli), "eval", str(SUITE), "--model", model, "--out", str(out)],
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    summary_path = out / "summary.json"
    if not summary_path.exists():
        print(f"routing suite    failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        return
    summary = json.loads(summary_path.read_text())
    accuracy = summary["accuracy"]
    print()
    print(
        f"routing suite    {accuracy['correct']}/{accuracy['trials']} correct "
        f"({100 * accuracy['mean']:.0f}%), wall {wall:.0f} s, "
        f"{summary['totals'].get('tokens', 0):,} tokens"
    )
    print(f"stop reasons     {summary['stop_reasons']}")
    answers = {}
    for line in (out / "index.jsonl").read_text().splitlines():
        record = json.loads(line)
        answers[record["task_id"]] = record.get("extracted") or ""
    for row in summary["tasks"]:
        stop = ",".join(row["stop_reasons"])
        print(
            f"  {row['task_id']:24} {row['correct']}/{row['trials']} {row['seconds']:6.0f} s "
            f"{stop:10} {json.dumps(answers.get(row['task_id'], ''))[:60]}"
        )
    print(f"report           {out / 'report.md'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local:smollm2")
    parser.add_argument("--repeats", type=int, default=2, help="Calls per purpose.")
    parser.add_argument("--skip-suite", action="store_true", help="Skip the routing suite.")
    args = parser.parse_args()
    asyncio.run(model_figures(args.model, args.repeats))
    if not args.skip_suite:
        suite_figures(args.model)


if __name__ == "__main__":
    main()
