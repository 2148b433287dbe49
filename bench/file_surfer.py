"""File surfer timings on the 261-page Debian Reference PDF (package debian-reference-en).

Each run starts from a fresh reader (no page cache; the OS file cache is warm after the
first run). Printed: the median and spread of
  - open + first page: resolve the path, open the PDF, convert and show page 1
    (the issue's aim: under 1 s; markitdown needs ~25 s to convert this whole file);
  - go to page 200: one more page converted;
  - find (many matches): 'popcon', which scans all 261 pages;
  - find (no match): a phrase that is nowhere, the worst case;
  - one specialist step: a scripted model opens the PDF, finds the figure and answers
    (tool calls, prompts, threads), i.e. the framework's cost around the reader.

    .venv/bin/python bench/file_surfer.py [--runs 7] [--pdf PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.humans import NoHuman
from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from specialists.base import StepContext, TeamEnv
from specialists.file_surfer import create
from specialists.file_surfer.confine import Roots
from specialists.file_surfer.settings import FileSurferSettings
from specialists.file_surfer.viewer import Viewer

PDF = Path("/usr/share/debian-reference/debian-reference.en.pdf")


def fresh(workspace: Path) -> Viewer:
    return Viewer(Roots.of(workspace), FileSurferSettings())


def timed(runs: int, prepare: Callable[[], Viewer], act: Callable[[Viewer], str]) -> list[float]:
    times = []
    for _ in range(runs):
        viewer = prepare()
        started = time.perf_counter()
        act(viewer)
        times.append(time.perf_counter() - started)
        viewer.close()
    return times


async def one_step(workspace: Path) -> float:
    calls = [
        [{"name": "open_file", "arguments": {"path": PDF.name}}],
        [{"name": "find", "arguments": {"text": "total submission of"}}],
        [{"name": "done", "arguments": {"answer": "208164 reports (page 27)"}}],
    ]
    script = {"file_surfer": [ScriptedReply.model_validate({"tool_calls": c}) for c in calls]}
    specialist = create(TeamEnv("file_surfer", workspace, ScriptedModel(script), NoHuman()))

    async def approve(_: object) -> bool:
        return True

    context = StepContext("bench", 1, workspace, (), approve, lambda kind, data: None)
    started = time.perf_counter()
    reply = await specialist.step("How many popcon reports?", context)
    elapsed = time.perf_counter() - started
    await specialist.close()
    assert reply.evidence.get("page") == "27", reply.text
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pdf", type=Path, default=PDF)
    args = parser.parse_args()
    if not args.pdf.exists():
        raise SystemExit(f"{args.pdf} is missing: apt-get install debian-reference-en")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        shutil.copy(args.pdf, workspace / PDF.name)
        name = PDF.name
        probe = fresh(workspace)
        probe.open(name)
        pages = probe.document.page_count if probe.document else 0
        probe.close()

        def opened() -> Viewer:
            viewer = fresh(workspace)
            viewer.open(name)
            return viewer

        rows = {
            "open + first page": timed(args.runs, lambda: fresh(workspace), lambda v: v.open(name)),
            "go to page 200": timed(args.runs, opened, lambda v: v.go_to_page(200)),
            "find 'popcon' (93 matches)": timed(args.runs, opened, lambda v: v.find("popcon")),
            "find (no match)": timed(args.runs, opened, lambda v: v.find("zq no such phrase")),
            "specialist step (open, find, done)": [
                asyncio.run(one_step(workspace)) for _ in range(args.runs)
            ],
        }
    print(f"file surfer on {args.pdf} ({pages} pages), median of {args.runs} runs")
    print(f"{'operation':<38} {'median':>10} {'min':>10} {'max':>10}")
    for label, times in rows.items():
        print(
            f"{label:<38} {statistics.median(times) * 1000:>8.1f}ms "
            f"{min(times) * 1000:>8.1f}ms {max(times) * 1000:>8.1f}ms"
        )


if __name__ == "__main__":
    main()
