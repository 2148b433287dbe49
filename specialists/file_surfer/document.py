"""Paged documents: what every converter produces and the viewer reads.

A document has a name, a kind ("PDF", "Word document", ...) and numbered pages of text
(markdown). PDFs convert one page when it is asked for; everything else is converted once
on opening and cut into pages of about `page_chars` characters at line boundaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

# Between an archive's name and a member's, as in "bundle.zip > docs/report.pdf".
MEMBER_SEP = " > "


def member_name(name: str) -> str:
    """The file part of a document name: the member for an archive member, else the name."""
    return name.rsplit(MEMBER_SEP, 1)[-1]


class FileProblem(Exception):
    """A file that cannot be shown. The message is one line for the model: what is wrong
    with which file, and what it can do instead."""


class Document(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def page_count(self) -> int: ...

    def page(self, number: int) -> str:
        """The text of page `number` (1-based)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PagedText:
    """A document whose text is already converted and cut into pages."""

    name: str
    kind: str
    pages: tuple[str, ...]

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def page(self, number: int) -> str:
        return self.pages[number - 1]

    def close(self) -> None:
        return None


def paginate(text: str, page_chars: int) -> tuple[str, ...]:
    """`text` cut into pages of at most `page_chars` characters, between lines where
    possible (a line longer than a page is cut too). Always at least one page."""
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for line in _pieces(text.splitlines(keepends=True), page_chars):
        if size + len(line) > page_chars and current:
            pages.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        pages.append("".join(current))
    return tuple(pages) or ("",)


def _pieces(lines: Iterable[str], limit: int) -> Iterable[str]:
    for line in lines:
        # Sliced by offset: cutting the rest off again and again is quadratic on one
        # line of 50 MB.
        for start in range(0, max(len(line), 1), limit):
            yield line[start : start + limit]


# --- tables (spreadsheets, CSV) ---------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One sheet: its title and its non-empty rows as (row number, cells)."""

    title: str
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    note: str = ""  # e.g. "only the first 50000 rows are shown"
    hidden_rows: frozenset[int] = frozenset()  # row numbers
    hidden_columns: frozenset[int] = frozenset()  # 0-based column indexes


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: spreadsheet column names, so cells can be cited."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def table_pages(tables: Sequence[Table], page_chars: int) -> tuple[str, ...]:
    """Markdown tables with row numbers and column letters; a table continued on the next
    page repeats its title and header there. Rows are never cut across pages."""
    pages: list[str] = []
    current = ""
    for table in tables:
        width = max((len(cells) for _, cells in table.rows), default=0)
        letters = [
            column_letters(i) + (" (hidden)" if i in table.hidden_columns else "")
            for i in range(width)
        ]
        header = _row("row", letters) + _row("---", ["---"] * width)
        title = f"## {table.title}\n\n" + (f"({table.note})\n\n" if table.note else "")
        if table.hidden_rows or table.hidden_columns or "(hidden sheet)" in table.title:
            title += HIDDEN_NOTE
        if not table.rows:
            current += f"{title}(empty)\n\n"
            continue
        if current and len(current) + len(title) + len(header) > page_chars:
            pages.append(current)
            current = ""
        current += title + header
        rows_here = 0
        for number, cells in table.rows:
            label = f"{number} (hidden)" if number in table.hidden_rows else str(number)
            line = _row(label, [*cells, *[""] * (width - len(cells))])
            if rows_here and len(current) + len(line) > page_chars:
                pages.append(current)
                current = f"## {table.title} (continued)\n\n" + header
                rows_here = 0
            current += line
            rows_here += 1
        current += "\n"
    if current:
        pages.append(current)
    return tuple(pages) or ("",)


MAX_CELL_CHARS = 500
HIDDEN_NOTE = (
    "(this sheet has content hidden in the spreadsheet: it is shown here, marked hidden; "
    "a reader of the file would not see it)\n\n"
)


def _row(first: str, cells: Sequence[str]) -> str:
    shown = (c if len(c) <= MAX_CELL_CHARS else c[:MAX_CELL_CHARS] + "…" for c in cells)
    escaped = (c.replace("|", "\\|").replace("\r", "").replace("\n", "<br>") for c in shown)
    return "| " + " | ".join((first, *escaped)) + " |\n"
