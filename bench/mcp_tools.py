"""MCP tool calls and the cost of tracing.

1. Tool-call round trip on a stdio MCP server (mcp-server-time's get_current_time, over
   one connection): p50 / p99 / mean of `--calls` calls, and the server's start time.
2. The trace subscriber's cost per round: the offline demo scenario (5 rounds, a
   zero-latency scripted model) run `--repeats` times without tracing, with spans built
   but not exported, and with OTLP/HTTP export to a receiver on 127.0.0.1; per-round time
   and its ratio to the run without tracing.

    .venv/bin/python bench/mcp_tools.py [--calls 300] [--repeats 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from orchestrator.events import Subscriber
from orchestrator.scenarios.runner import run_one
from orchestrator.tracing.spans import TraceSubscriber
from specialists.mcp_tools import Connection
from specialists.mcp_tools.settings import ServerSettings

DEMO = Path(__file__).resolve().parent.parent / "scenarios" / "demo.yaml"
TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def round_trips(calls: int) -> None:
    connection = Connection(
        "time", ServerSettings(command=TIME_SERVER, args=("--local-timezone", "UTC"))
    )
    started = time.perf_counter()
    await connection.tools()
    start_ms = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        await connection.call("get_current_time", {"timezone": "Europe/Berlin"})
        times.append((time.perf_counter() - t) * 1000)
    await connection.close()
    print(f"stdio MCP tool call (mcp-server-time get_current_time, {calls} calls, one connection)")
    print(f"  server start + list_tools: {start_ms:8.1f} ms")
    print(
        f"  round trip: p50 {percentile(times, 0.5):6.2f} ms   p99 {percentile(times, 0.99):6.2f} ms"
        f"   mean {statistics.mean(times):6.2f} ms"
    )


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def per_round(
    repeats: int,
    subscribers: Callable[[], Sequence[Subscriber]] = tuple,
    environ: Mapping[str, str] | None = None,
) -> float:
    """Median seconds per round of the demo scenario."""
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            outcome = await run_one(DEMO, Path(tmp), subscribers=subscribers, environ=environ or {})
            assert outcome.passed, outcome.failures
            assert outcome.result is not None
            samples.append(outcome.seconds / outcome.result.rounds)
    return statistics.median(samples)


async def tracing_cost(repeats: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"

    def built_not_exported() -> Sequence[Subscriber]:
        # The run dir is not known here; the trace id then goes nowhere, which costs nothing.
        return [TraceSubscriber(TracerProvider(), Path(tempfile.gettempdir()) / "no-such-run")]

    await per_round(2)  # warm up imports and caches
    base = await per_round(repeats)
    built = await per_round(repeats, built_not_exported)
    exported = await per_round(repeats, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    server.shutdown()
    print(f"\ntrace subscriber cost (demo scenario, 5 rounds, median of {repeats} runs)")
    print(f"  {'no tracing':36} {base * 1000:7.2f} ms/round   1.00x")
    print(f"  {'spans built, not exported':36} {built * 1000:7.2f} ms/round   {built / base:.2f}x")
    print(
        f"  {'OTLP/HTTP export to 127.0.0.1':36} {exported * 1000:7.2f} ms/round   {exported / base:.2f}x"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    await round_trips(args.calls)
    await tracing_cost(args.repeats)


if __name__ == "__main__":
    asyncio.run(main())
