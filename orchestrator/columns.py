"""Plain aligned columns for terminal listings (`runs`, the scenario summary).

Rich tables squeeze every column when the terminal is narrow, which cuts the one thing a
listing must keep whole (a run id someone will paste into `resume`). Here every column
keeps its full width except one flexible column, which is cut with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console


def print_columns(
    console: Console, title: str, rows: Sequence[Sequence[str]], *, flexible: int
) -> None:
    """Print `rows` (the first is the header) aligned; only column `flexible` gives way."""
    console.print(title, style="bold", highlight=False, markup=False)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    others = sum(widths) - widths[flexible] + 2 * (len(widths) - 1)
    widths[flexible] = min(widths[flexible], max(12, console.width - others - 1))
    for row in rows:
        cells = [_fit(cell, width) for cell, width in zip(row, widths, strict=True)]
        console.print("  ".join(cells).rstrip(), highlight=False, markup=False, soft_wrap=True)


def _fit(text: str, width: int) -> str:
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)
