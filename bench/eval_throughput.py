"""Evaluation throughput: 50 offline scripted tasks at concurrency 1, 2 and 4.

The tasks are the user-team tasks of evals/sample-scripted/suite.yaml, repeated under new
ids until there are 50, each a full orchestrator run (facts, plan, rounds, final answer,
events, checkpoints, attachments copied, local site served where used) through the real
evaluation runner and local backend. Every scripted model reply waits `--model-delay`
seconds first, standing in for a model's latency (0 measures pure framework overhead).

Each concurrency level runs in a fresh subprocess, so its memory figures are its own:
  baseline  VmRSS after imports and planning, just before the first trial starts;
  peak      VmHWM at the end (the kernel's peak RSS, reset with /proc/self/clear_refs
            right after the baseline is taken);
  per task  (peak - baseline) / concurrency: the peak resident memory each concurrently
            running trial added.

    .venv/bin/python bench/eval_throughput.py [--tasks 50] [--model-delay 0.2] [--levels 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "evals" / "sample-scripted" / "suite.yaml"
SKIP = {"json-indent-needs-web", "slow-answer-timeout"}  # a missing specialist; a timeout


def make_suite(folder: Path, count: int, delay: float) -> Path:
    source = yaml.safe_load(SOURCE.read_text())
    templates = [t for t in source["tasks"] if t["id"] not in SKIP]
    tasks = []
    for i in range(count):
        task = json.loads(json.dumps(templates[i % len(templates)]))
        task["id"] = f"{task['id']}-{i:02d}"
        for replies in task["model"]["scripted"]["script"].values():
            for reply in replies:
                reply["delay"] = delay
        tasks.append(task)
    suite = {k: v for k, v in source.items() if k != "tasks"} | {"tasks": tasks}
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, allow_unicode=True, sort_keys=False))
    return path


def _status(field: str) -> float:
    """A field of /proc/self/status, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def worker(suite: Path, out: Path, concurrency: int) -> dict[str, Any]:
    from orchestrator.config import Settings
    from orchestrator.evaluation.backends.local import LocalBackend
    from orchestrator.evaluation.runner import EvalOptions, execute, plan

    options = EvalOptions(out=out, concurrency=concurrency)
    planned = plan(suite, options, Settings(runs_dir=out.parent))
    baseline = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    records: list[Any] = []
    started = time.perf_counter()
    asyncio.run(execute(planned, LocalBackend(concurrency), records.append))
    seconds = time.perf_counter() - started
    peak = _status("VmHWM")
    return {
        "concurrency": concurrency,
        "tasks": len(records),
        "correct": sum(r.correct for r in records),
        "seconds": seconds,
        "baseline_mib": baseline,
        "peak_mib": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--model-delay", type=float, default=0.2)
    parser.add_argument("--levels", default="1,2,4")
    parser.add_argument("--worker", nargs=3, metavar=("SUITE", "OUT", "CONCURRENCY"))
    args = parser.parse_args()
    if args.worker:
        suite, out, concurrency = args.worker
        print(json.dumps(worker(Path(suite), Path(out), int(concurrency))))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="eval-bench-") as tmp:
        suite = make_suite(Path(tmp), args.tasks, args.model_delay)
        for level in (int(x) for x in args.levels.split(",")):
            out = Path(tmp) / f"c{level}"
            done = subprocess.run(
                [sys.executable, __file__, "--worker", str(suite), str(out), str(level)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                sys.exit(f"concurrency {level} failed:\n{done.stderr}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        f"{args.tasks} scripted tasks, model delay {args.model_delay:g}s per call "
        f"(python {sys.version.split()[0]}, memory from /proc/self/status)\n"
    )
    head = (
        "concurrency",
        "tasks",
        "correct",
        "wall s",
        "tasks/min",
        "baseline MiB",
        "peak MiB",
        "peak Δ/task MiB",
    )
    print(" | ".join(head))
    print(" | ".join("-" * len(h) for h in head))
    for r in rows:
        per_task = (r["peak_mib"] - r["baseline_mib"]) / r["concurrency"]
        cells = (
            r["concurrency"],
            r["tasks"],
            r["correct"],
            f"{r['seconds']:.1f}",
            f"{60 * r['tasks'] / r['seconds']:.1f}",
            f"{r['baseline_mib']:.1f}",
            f"{r['peak_mib']:.1f}",
            f"{per_task:.1f}",
        )
        print(" | ".join(str(c).rjust(len(h)) for c, h in zip(cells, head, strict=True)))


if __name__ == "__main__":
    main()
