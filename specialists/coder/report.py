"""What the coder hands back: the Reply of a step, and the event for each code run.

The reply says what the model concluded, how the runs went, the tail of the last run's
output (marked as untrusted program output) and the files produced, plus any warning
the executor has about what it does not isolate. Durations stay out of the text, so two
identical results read identically to the orchestrator's stall detection.
"""

from __future__ import annotations

from pathlib import Path

from specialists.base import Reply
from specialists.coder.blocks import Ran
from specialists.coder.executors.base import CodeBlock, Executor

SHOWN_OUTPUT = 2_000  # characters of the last run's output quoted in the reply


def reply(
    body: str, runs: list[Ran], executor: Executor, workspace: Path, error: str | None
) -> Reply:
    files = produced(runs, workspace)
    lines = [body]
    if runs:
        failed = sum(1 for r in runs if not r.result.ok)
        lines.append(
            f"\nRan {len(runs)} code block(s) in the {executor.name} executor "
            f"({failed} failed); the last one: {runs[-1].result.status()}."
        )
        output = (runs[-1].result.stdout or runs[-1].result.stderr).strip()
        if output:
            shown = output if len(output) <= SHOWN_OUTPUT else output[-SHOWN_OUTPUT:]
            lines.append(f"Its output (untrusted program output):\n{shown}")
    if files:
        lines.append("Files produced: " + ", ".join(str(p.relative_to(workspace)) for p in files))
    lines += [f"WARNING: {w}" for w in executor.warnings]
    evidence = {"executor": executor.name, "code_runs": str(len(runs))}
    if runs:
        evidence["last_status"] = runs[-1].result.status()
    return Reply("\n".join(lines), files=files, evidence=evidence, error=error)


def denied(block: CodeBlock, executor: Executor) -> Reply:
    text = (
        f"The code was not run: approval to run code in the {executor.name} executor was "
        f"denied. The block was:\n{block.head()}"
    )
    return Reply(text, error="approval denied: run code", evidence={"executor": executor.name})


def produced(runs: list[Ran], workspace: Path) -> tuple[Path, ...]:
    seen: dict[Path, None] = {}
    for ran in runs:
        for rel in ran.result.files:
            seen[workspace / rel] = None
    return tuple(p for p in seen if p.exists())


def event(executor: Executor, round_no: int, index: int, ran: Ran) -> dict[str, object]:
    result = ran.result
    return {
        "executor": executor.name,
        "round": round_no,
        "block": index,
        "language": ran.block.language,
        "exit_code": result.exit_code,
        "status": result.status(),
        "limit": result.limit,
        "timed_out": result.timed_out,
        "seconds": round(result.duration, 3),
        "stdout_bytes": result.stdout_bytes,
        "stderr_bytes": result.stderr_bytes,
        "truncated": result.truncated,
        "leftovers_killed": result.leftovers_killed,
        "files": [str(p) for p in result.files],
        "warnings": list(result.warnings),
    }
