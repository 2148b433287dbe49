"""What durability costs: the same scripted trajectory on disk and in memory.

A zero-latency scripted model and a scripted person drive runs of 10, 20 and 40 rounds
through the real session (the trajectory of `bench/loop_overhead.py`), with the run store
on disk under `durability: round` (the default: one group commit per round), `event`
(every event fsynced too) and `none`, and with an in-memory store that keeps the events
and checkpoints as objects and strings (what a framework without durability pays).
Printed: ms per round for each (median of --repeats runs), fsyncs per round, and the ratio
round/in-memory; the last line is that ratio at R=40.

    .venv/bin/python bench/durability.py [--repeats 5] [--dir /path/on/the/disk/to/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from loop_overhead import trajectory  # type: ignore[import-not-found]

from orchestrator import session
from orchestrator.config import Durability
from orchestrator.events import AnyEvent, Event
from orchestrator.state import FinalResult
from orchestrator.store import RunStore

LENGTHS = (10, 20, 40)
MODES: tuple[str, ...] = ("round", "event", "none", "in-memory")
REPLY_CHARS = 1500  # each person's reply, as bench/loop_overhead.py's default


class MemoryStore(RunStore):
    """The run store with nothing written after the run dir is made: events are kept as
    objects, checkpoints as the strings the session serialises anyway."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, durability="none")
        self.kept: list[Event] = []
        self.checkpoint: str | None = None

    def append_event(self, event: Event) -> None:
        self.kept.append(event)

    def log_length(self) -> int:
        return len(self.kept)

    def write_checkpoint(self, serialised: str) -> None:
        self.checkpoint = serialised

    def sync(self) -> None:
        pass

    def write_inflight(self, serialised: str) -> None:
        self.inflight = serialised

    def has_checkpoint(self) -> bool:
        return self.checkpoint is not None

    def set_aside(self, committed: int) -> list[AnyEvent]:
        return []

    def events(self) -> Iterator[AnyEvent]:
        return iter(())

    def save_result(self, result: FinalResult) -> None:
        self.result = result


class CountingFsync:
    """Counts os.fsync calls (the store's and write_atomic's) while it is installed."""

    def __init__(self) -> None:
        self.calls = 0
        self._real = os.fsync

    def __enter__(self) -> CountingFsync:
        def counted(fd: int) -> None:
            self.calls += 1
            self._real(fd)

        os.fsync = counted
        return self

    def __exit__(self, *_: object) -> None:
        os.fsync = self._real


async def one_run(rounds: int, mode: str, runs_dir: Path) -> tuple[float, int]:
    durability: Durability = "none" if mode == "in-memory" else mode  # type: ignore[assignment]
    config = trajectory(rounds, REPLY_CHARS, runs_dir, durability=durability)
    store = session.start(config)
    if mode == "in-memory":
        store = MemoryStore(store.root)
    with CountingFsync() as fsyncs:
        started = time.perf_counter()
        result = await session.execute(store)
        took = time.perf_counter() - started
    if result.rounds != rounds or result.status.value != "solved":
        raise SystemExit(f"the benchmark run did not go as scripted: {result}")
    return took / rounds, fsyncs.calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="Runs per cell (median).")
    parser.add_argument("--dir", type=Path, default=None, help="Where the run dirs go.")
    args = parser.parse_args()
    print(f"zero-latency scripted model; median of {args.repeats} runs per cell\n")
    header = " | ".join(f"{m:>16}" for m in MODES)
    print(f"{'rounds':>6} | {header} | {'round/in-memory':>15}")
    print("-" * (27 + 19 * len(MODES)))
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        ratio = ms = 0.0
        for rounds in LENGTHS:
            times: dict[str, list[float]] = {mode: [] for mode in MODES}
            fsyncs: dict[str, int] = {}
            for i in range(args.repeats):
                for mode in MODES:  # interleaved, so drift in the machine hits all alike
                    folder = Path(tmp) / f"{rounds}-{mode}-{i}"
                    took, fsyncs[mode] = asyncio.run(one_run(rounds, mode, folder))
                    times[mode].append(took)
            cells = {mode: statistics.median(times[mode]) * 1000 for mode in MODES}
            shown = [f"{cells[m]:7.2f} ms {fsyncs[m] / rounds:4.1f}fs" for m in MODES]
            ratio, ms = cells["round"] / cells["in-memory"], cells["round"]
            print(f"{rounds:>6} | " + " | ".join(f"{c:>16}" for c in shown) + f" | {ratio:>15.2f}")
    print("\n(fs: fsyncs per round, planning and the final answer included)")
    print(f"durability overhead: round/in-memory={ratio:.2f} ms_per_round={ms:.2f}")


if __name__ == "__main__":
    main()
