"""MCP tool calls and the cost of tracing.

1. Tool-call round trip on a stdio MCP server (mcp-server-time's get_current_time, over
   one connection): p50 / p99 / mean of `--calls` calls, and the server's start time.
2. The trace subscriber's cost per round: the offline demo scenario (5 rounds, a
   zero-latency scripted model) run `--repeats` times without tracing, with spans built
   but not exported, and with OTLP/HTTP export to a receiver on 127.0.0.1; per-round time
   and its ratio to the run without tracing, plus the time spent inside the subscriber
   itself per round (building spans, plus the final flush; the export itself runs on the
   SDK's background thread). The last row also records message content (the opt-in
   OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT): every call's messages gathered,
   bounded and put on its span.

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
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from orchestrator.events import Event, Subscriber
from orchestrator.scenarios.runner import run_one
from orchestrator.tracing.setup import provider_from_env
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


class Timed:
    """Wraps the trace subscriber and adds up the time spent inside it."""

    def __init__(self, inner: TraceSubscriber) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.wants_content = inner.wants_content  # read by the bus, as from the subscriber

    def __call__(self, event: Event) -> None:
        started = time.perf_counter()
        self.inner(event)
        self.seconds += time.perf_counter() - started


async def per_round(
    repeats: int,
    traced: Callable[[], TracerProvider] | None = None,
    *,
    content: bool = False,
) -> tuple[float, float]:
    """Median seconds per round of the demo scenario, and of that inside the subscriber."""
    samples, inside = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            timed: list[Timed] = []

            def subscribers(timed: list[Timed] = timed) -> Sequence[Subscriber]:
                if traced is None:
                    return ()
                # The run dir is unknown here; the trace id then is not kept (costs nothing).
                subscriber = TraceSubscriber(
                    traced(), Path(tmp) / "none", capture_content=content, owns_provider=True
                )
                timed.append(Timed(subscriber))
                return timed

            outcome = await run_one(DEMO, Path(tmp), subscribers=subscribers, environ={})
            for t in timed:  # as the session does at the end of a run: flush
                started = time.perf_counter()
                t.inner.close()
                t.seconds += time.perf_counter() - started
            assert outcome.passed, outcome.failures
            assert outcome.result is not None
            rounds = outcome.result.rounds
            samples.append(outcome.seconds / rounds)
            inside.append(sum(t.seconds for t in timed) / rounds)
    return statistics.median(samples), statistics.median(inside)


async def tracing_cost(repeats: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"

    def otlp() -> TracerProvider:
        return provider_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})

    await per_round(2)  # warm up imports and caches
    base, _ = await per_round(repeats)
    built, built_inside = await per_round(repeats, TracerProvider)
    exported, exported_inside = await per_round(repeats, otlp)
    with_content, content_inside = await per_round(repeats, otlp, content=True)
    server.shutdown()
    print(f"\ntrace subscriber cost (demo scenario, 5 rounds, median of {repeats} runs)")
    print(f"  {'':32} {'per round':>12} {'ratio':>7} {'subscriber+flush':>18}")
    print(f"  {'no tracing':32} {base * 1000:9.2f} ms {1:6.2f}x")
    for label, value, inside in (
        ("spans built, not exported", built, built_inside),
        ("OTLP/HTTP export to 127.0.0.1", exported, exported_inside),
        ("  + message content", with_content, content_inside),
    ):
        print(f"  {label:32} {value * 1000:9.2f} ms {value / base:6.2f}x {inside * 1e6:14.0f} µs")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    await round_trips(args.calls)
    await tracing_cost(args.repeats)


if __name__ == "__main__":
    asyncio.run(main())
