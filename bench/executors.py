"""Executor start-up and round-trip per code block, for each executor.

For the bubblewrap sandbox, its fallback (bubblewrap made unavailable), Docker (only
when an engine and the sandbox image are there) and the local executor: the start-up
time (construct and get ready: probe bubblewrap, or connect to the engine, check the
image and reap orphans), then N round-trips of a trivial Python block and a trivial
shell block — from handing the block over to having the ExecResult, including the
workspace snapshots — as median and p90. The aim is a sandbox round-trip under 100 ms.

    .venv/bin/python bench/executors.py [--runs 20] [--docker-runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from specialists.coder.executors import (
    CodeBlock,
    DockerExecutor,
    ExecLimits,
    Executor,
    LocalExecutor,
    SandboxExecutor,
)
from specialists.coder.executors.engine import engine_socket_problem

IMAGE = "orchestrator-sandbox:latest"
BLOCKS = {
    "python": CodeBlock("python", "print(sum(range(10)))\n"),
    "sh": CodeBlock("sh", "echo $((1 + 2))\n"),
}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


async def _start(executor: Executor) -> float:
    started = time.perf_counter()
    await executor.start()
    return time.perf_counter() - started


async def _round_trips(
    executor: Executor, block: CodeBlock, workspace: Path, runs: int
) -> list[float]:
    await executor.run(block, workspace, ExecLimits())  # warm up (caches, first probe)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await executor.run(block, workspace, ExecLimits())
        times.append(time.perf_counter() - started)
        if not result.ok:
            raise SystemExit(f"{executor.name}: the {block.language} block failed: {result}")
    return times


async def _bench(label: str, make: Callable[[], Executor], runs: int) -> None:
    executor = make()
    try:
        startup = await _start(executor)
        row = [f"{label:<9}", _ms(startup)]
        with tempfile.TemporaryDirectory(prefix="bench-executors-") as folder:
            for block in BLOCKS.values():
                times = await _round_trips(executor, block, Path(folder), runs)
                row += [_ms(statistics.median(times)), _ms(_p90(times))]
        print(" ".join(row) + f"   (n={runs})")
        if executor.warnings:
            print(f"{'':<10}note: {executor.warnings[0][:90]}...")
    finally:
        await executor.close()


def _docker_problem() -> str | None:
    problem = engine_socket_problem()
    if problem is not None:
        return problem
    import docker

    client = docker.from_env()
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        return f"image {IMAGE} missing (bash sandbox-image/build.sh)"
    finally:
        client.close()
    return None


async def main_async(runs: int, docker_runs: int) -> None:
    print("executor   start-up     python med/p90 (ms)    sh med/p90 (ms)")
    print("           (ms)")
    print("-" * 72)
    await _bench("sandbox", SandboxExecutor, runs)
    await _bench("fallback", lambda: SandboxExecutor(bwrap_path="/nonexistent/bwrap"), runs)
    problem = _docker_problem()
    if problem is None:
        await _bench("docker", lambda: DockerExecutor(image=IMAGE, run_id="bench"), docker_runs)
    else:
        print(f"{'docker':<9}  skipped: {problem}")
    await _bench("local", LocalExecutor, runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="round-trips per block")
    parser.add_argument("--docker-runs", type=int, default=10, help="round-trips for docker")
    args = parser.parse_args()
    if args.runs < 1 or args.docker_runs < 1:
        sys.exit("--runs and --docker-runs must be at least 1")
    asyncio.run(main_async(args.runs, args.docker_runs))


if __name__ == "__main__":
    main()
