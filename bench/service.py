"""The service under load: 50 runs through `orchestrator serve` at concurrency 1, 4 and 8.

A real server subprocess (`--max-concurrent C`) and C client workers, each submitting a
run (a task with the zero-latency scripted model of `scenarios/core/plain_success.yaml`,
whose question the worker answers over HTTP as soon as it arrives; `--scenario` submits the scenario file's YAML
instead, which adds its located parsing), following its events over SSE to the end, then
submitting the next, until 50 runs have finished.
Printed per concurrency:

- submit p50/p99: the time `POST /api/runs` takes to answer;
- lag p50/p99: event delivery lag, the event's `ts` (written by the run) to its arrival
  at the SSE client;
- runs/min: finished runs per minute of wall-clock time;
- RSS/run: (peak server RSS - idle RSS) / C, sampled from /proc every 50 ms (the
  server's only: with `--backend ray` the runs' memory is in the Ray workers).

`--backend ray` runs the same load with `serve --backend ray` on a local Ray cluster the
server starts: the lag then includes the log tail's polling (0.1 s).

    .venv/bin/python bench/service.py [--runs 50] [--concurrency 1 4 8] [--backend ray]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import service  # noqa: E402

SCENARIO = (ROOT / "scenarios" / "core" / "plain_success.yaml").read_text()


def task_body() -> dict[str, object]:
    import yaml

    data = yaml.safe_load(SCENARIO)
    return {"task": data["task"], "team": data["team"], "model": data["model"]}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def follow(client: httpx.AsyncClient, run_id: str, lags: list[float]) -> None:
    async with client.stream("GET", f"/api/runs/{run_id}/events", timeout=120) as reply:
        kind = ""
        async for line in reply.aiter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind != "end":
                event = json.loads(line[5:])
                lags.append(time.time() - event["ts"])
                if kind == "human_waiting":  # the person answers at once
                    answer = {"answer": "The receipt says 187.60 EUR in total."}
                    await client.post(f"/api/runs/{run_id}/questions/{event['id']}", json=answer)
            elif line == "" and kind == "end":
                return


async def load(
    url: str, runs: int, concurrency: int, body: dict[str, object]
) -> tuple[list[float], list[float], float]:
    submits: list[float] = []
    lags: list[float] = []
    left = runs

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            started = time.perf_counter()
            reply = await client.post("/api/runs", json=body)
            submits.append(time.perf_counter() - started)
            reply.raise_for_status()
            await follow(client, reply.json()["run_id"], lags)

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return submits, lags, time.perf_counter() - started


async def sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kb(pid))
        await asyncio.sleep(0.05)


async def one_level(runs: int, concurrency: int, body: dict[str, object], backend: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        server = service.start(
            Path(tmp) / "runs", "--max-concurrent", str(concurrency), "--backend", backend
        )
        try:
            pid = server.proc.pid
            idle = rss_kb(pid)
            peak, stop = [idle], asyncio.Event()
            sampler = asyncio.create_task(sample_rss(pid, peak, stop))
            submits, lags, seconds = await load(server.url, runs, concurrency, body)
            stop.set()
            await sampler
        finally:
            server.stop()
    per_run_mb = (peak[0] - idle) / 1024 / concurrency
    return (
        f"backend={backend} concurrency={concurrency} runs={runs} "
        f"submit_p50={pct(submits, 0.5) * 1000:.1f}ms submit_p99={pct(submits, 0.99) * 1000:.1f}ms "
        f"lag_p50={pct(lags, 0.5) * 1000:.1f}ms lag_p99={pct(lags, 0.99) * 1000:.1f}ms "
        f"events={len(lags)} runs_per_min={runs / seconds * 60:.0f} "
        f"rss_idle={idle / 1024:.0f}MB rss_per_active_run={per_run_mb:.1f}MB "
        f"(mean submit {statistics.mean(submits) * 1000:.1f}ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--scenario", action="store_true", help="Submit the scenario's YAML.")
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    args = parser.parse_args()
    body = {"scenario": SCENARIO} if args.scenario else task_body()
    for concurrency in args.concurrency:
        print(asyncio.run(one_level(args.runs, concurrency, body, args.backend)), flush=True)


if __name__ == "__main__":
    main()
