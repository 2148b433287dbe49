"""Bounded capture: what is kept of a long stream, whatever the chunking, and why it
matters (the traceback at the end of a flood of output reaches the model); and how a
run's own words about limits are read."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from specialists.coder.executors import CodeBlock, ExecLimits, SandboxExecutor
from specialists.coder.executors.capture import CappedOutput, marker


def expected(stream: bytes, keep: int) -> str:
    head_size, tail_size = keep - keep // 3, keep // 3
    if len(stream) <= keep:
        return stream.decode()
    head, tail = stream[:head_size], stream[len(stream) - tail_size :] if tail_size else b""
    return head.decode() + marker(len(stream) - len(head) - len(tail)) + tail.decode()


@given(
    stream=st.binary(max_size=3000).map(lambda b: bytes(c % 26 + 97 for c in b)),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=12),
    keep=st.integers(min_value=1, max_value=400),
)
def test_head_and_tail_are_kept_whatever_the_chunks(
    stream: bytes, cuts: list[int], keep: int
) -> None:
    sink = CappedOutput(keep, ceiling=10**9)
    edges = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    for start, end in itertools.pairwise(edges):
        sink.feed(stream[start:end])
    assert sink.total == len(stream)
    assert sink.text() == expected(stream, keep)
    assert sink.truncated == (len(stream) > keep)
    assert not sink.runaway


def test_runaway_is_reported_past_the_ceiling() -> None:
    sink = CappedOutput(10, ceiling=100)
    sink.feed(b"x" * 100)
    assert not sink.runaway
    sink.feed(b"x")
    assert sink.runaway


async def test_the_traceback_after_a_flood_of_output_survives(tmp_path: Path) -> None:
    executor = SandboxExecutor()
    block = CodeBlock(
        "python",
        "import sys\nfor i in range(50_000):\n    print('noise', i, file=sys.stderr)\n"
        "raise ValueError('the real problem')\n",
    )
    try:
        result = await executor.run(block, tmp_path, ExecLimits(output_bytes=3_000))
    finally:
        await executor.close()
    assert result.exit_code == 1
    assert result.truncated
    assert result.stderr.startswith("noise 0\nnoise 1\n")
    assert "bytes of output truncated ...]" in result.stderr
    assert result.stderr.rstrip().endswith("ValueError: the real problem")


async def test_a_successful_run_that_mentions_memory_errors_is_still_a_success(
    tmp_path: Path,
) -> None:
    executor = SandboxExecutor()
    block = CodeBlock(
        "python",
        "import sys\ntry:\n    bytearray(10**13)\nexcept MemoryError:\n"
        "    print('MemoryError caught, using less', file=sys.stderr)\nprint('done')\n",
    )
    try:
        result = await executor.run(block, tmp_path, ExecLimits(memory_mb=256))
    finally:
        await executor.close()
    assert (result.exit_code, result.stdout, result.limit, result.ok) == (0, "done\n", None, True)
