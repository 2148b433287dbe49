"""Hostile inputs through the specialists' own tool interfaces: per class, the worst step
time, the largest tool result in characters and the peak RSS (issue 10's proof).

Cases come from `bench/hostile_cases_*.py` modules, each defining `CASES: list[Case]`
(bench/hostile_cases_base.py): the file surfer's here (hostile_cases_files), the web
surfer's and the sandbox's in hostile_cases_web when it is present. Each case runs once,
in a fresh scratch folder, timed around its `run` (its `prepare`, if any, is not timed). Peak RSS is `ru_maxrss` of this
process; the converter worker's largest conversion and waited-for children are shown
beside it, and the last line takes the largest of the three. Aim: ≤ 10 s, ≤ 100,000
chars, ≤ 1,024 MB.

    .venv/bin/python bench/hostile_inputs.py [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
MODULES = ("bench.hostile_cases_files", "bench.hostile_cases_web")


@dataclass
class Figures:
    steps: int = 0
    worst_s: float = 0.0
    worst_case: str = ""
    largest_chars: int = 0
    rss_mb: float = 0.0
    failures: list[str] = field(default_factory=list)


def load_cases() -> list[Any]:
    cases: list[Any] = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # the module is there but something it needs is not
            print(f"({name} is absent: its cases are skipped)")
            continue
        cases += module.CASES
    return cases


def self_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def others_mb() -> float:
    """The largest peak RSS of the converter's forks and of waited-for child processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    try:
        from specialists.file_surfer.bounded import WORKER
    except ImportError:
        return children
    return max(children, WORKER.peak_rss_kb / 1024)


async def run_all(cases: list[Any]) -> dict[str, Figures]:
    figures: dict[str, Figures] = {}
    base = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        for number, case in enumerate(cases):
            scratch = base / f"case{number:03d}"
            scratch.mkdir()
            row = figures.setdefault(case.klass, Figures())
            prepare = getattr(case, "prepare", None)
            started = time.perf_counter()
            try:
                if prepare is not None:
                    await prepare(scratch)
                started = time.perf_counter()
                chars = await case.run(scratch)
            except Exception as exc:  # a case that breaks is a finding, not the bench's end
                chars = 0
                row.failures.append(f"{case.name}: {type(exc).__name__}: {exc}"[:300])
            seconds = time.perf_counter() - started
            row.steps += 1
            if seconds > row.worst_s:
                row.worst_s, row.worst_case = seconds, case.name
            row.largest_chars = max(row.largest_chars, chars)
            row.rss_mb = self_mb()
            print(f"  {case.klass} / {case.name}: {seconds:.2f} s, {chars} chars", flush=True)
            shutil.rmtree(scratch, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the cases whose class or name has this")
    only = parser.parse_args().only.lower()
    cases = [c for c in load_cases() if only in c.klass.lower() or only in c.name.lower()]
    figures = asyncio.run(run_all(cases))
    print()
    print(
        f"{'class':<48} {'steps':>5} {'worst s':>8} {'largest chars':>14} {'rss MB':>7}  worst case"
    )
    for klass, row in figures.items():
        print(
            f"{klass:<48} {row.steps:>5} {row.worst_s:>8.2f} {row.largest_chars:>14} "
            f"{row.rss_mb:>7.0f}  {row.worst_case}"
        )
        for failure in row.failures:
            print(f"    FAILED {failure}")
    converter = others_mb()
    print(f"\npeak RSS: this process {self_mb():.0f} MB; converter/children {converter:.0f} MB")
    worst = max((row.worst_s for row in figures.values()), default=0.0)
    largest = max((row.largest_chars for row in figures.values()), default=0)
    peak = max(self_mb(), converter)
    print(
        f"hostile inputs: worst_step_s={worst:.2f} largest_result_chars={largest} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
