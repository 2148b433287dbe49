"""What the coder tells its model: the rules of the workbench, and each request."""

from __future__ import annotations

import os
from pathlib import Path

from specialists.coder.executors.base import ExecLimits

LISTED_FILES = 40
WALKED_FILES = 5_000


def system(executor: str, limits: ExecLimits, network: bool, max_rounds: int) -> str:
    net = "has network access" if network else "has NO network access"
    return f"""You are the coder on a team of AI specialists. You solve the request you are given by
writing code, running it, reading the result, and fixing it until it works.

How to run code: put it in fenced blocks tagged ```python or ```sh. Every block in your
reply is run in order, each as a separate program (nothing is kept in memory between
blocks; use files to pass data on). A failing block stops the rest of that reply. You
then get the exit status, the output and the files created or changed, and you may fix
and rerun: at most {max_rounds} rounds for one request.

Where code runs: the {executor} executor. The working directory is the team's shared
workspace; files other specialists downloaded or wrote are there, and files you write
there are handed back to the team. It {net}. Limits per block: {limits.timeout_seconds:g} s
wall clock, {limits.cpu_seconds} s CPU, {limits.memory_mb} MB memory, {limits.processes}
processes, files up to {limits.file_size_mb} MB. Output beyond {limits.output_bytes:,}
characters per stream is cut, so print summaries and exact results, not whole files.
Python has its standard library; other packages only if already installed.

When you are done, reply WITHOUT any code block: say what you did, the result (exact
numbers or text, as computed), and the files you produced. If the task cannot be done,
say why."""


def request(instruction: str, workspace: Path, notes: str = "") -> str:
    background = f"{notes}\n\n" if notes else ""
    return f"{background}Request from the orchestrator:\n{instruction}\n\n{listing(workspace)}"


def listing(workspace: Path) -> str:
    """The workspace's files (names and sizes), so the model knows what is there."""
    found: list[str] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(workspace):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if total > WALKED_FILES:  # a huge workspace: an estimate is enough here
            break
        for name in sorted(filenames):
            total += 1
            if len(found) < LISTED_FILES:
                path = Path(dirpath, name)
                size = path.stat().st_size if path.exists() else 0
                found.append(f"- {path.relative_to(workspace)} ({size:,} bytes)")
    if not found:
        return "The workspace is empty."
    more = f"\n(and {total - len(found)} more)" if total > len(found) else ""
    if total > WALKED_FILES:
        more = f"\n(and more than {WALKED_FILES - len(found):,} more)"
    return "Files in the workspace:\n" + "\n".join(found) + more
