"""The shape of one hostile-input case for `bench/hostile_inputs.py`.

Each `bench/hostile_cases_*.py` module defines `CASES: list[Case]`. A case's `run` is
given a fresh scratch folder, builds its hostile input there (generated, never checked
in), performs one step through a specialist's own tool interface (or the function just
under it) and returns the length in characters of the largest tool result or observation
that step produced. The harness times each call and tracks the process's peak RSS.

`prepare(scratch_dir)`, optional, builds the input before the clock starts, so a case
whose input is slow to make (a 1 GiB ZIP bomb) is timed on the step alone; `run` then
only performs the step. Cases made with three arguments work as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    klass: str  # the class of hostile input, e.g. "zip bomb in an Office file"
    name: str  # this instance of it, e.g. "docx member inflating to 1 GiB"
    run: Callable[[Path], Awaitable[int]]  # run(scratch_dir) -> largest result in chars
    prepare: Callable[[Path], Awaitable[None]] | None = None  # untimed, before run
