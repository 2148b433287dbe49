"""Spreadsheets and CSV as markdown tables with row numbers and column letters.

openpyxl (XLSX) and xlrd (XLS) are used directly rather than through markitdown, whose
pandas path turns the first row into a header ("Unnamed: 0"), shows empty cells as NaN
and loses the row and column a value sits in. Here every cell keeps its address.

A sheet's declared dimension (`A1:XFD1048576`) is never trusted: XLSX rows are read as
the sparse cells the file holds, and at most MAX_ROWS rows, MAX_COLUMNS columns and
MAX_CELLS cells per workbook are kept; the table's note says what was cut. Hidden sheets,
rows and columns are shown, marked as hidden.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from specialists.file_surfer.confine import read_regular
from specialists.file_surfer.document import Table, column_letters

MAX_ROWS = 50_000  # per sheet; a bigger sheet is cut with a note
MAX_COLUMNS = 256  # columns A..IV; cells further right are cut with a note
# Per workbook, counting the cells the file holds: openpyxl parses ~40,000 a second, and
# a model pages through ~500 cells a page; past this the coder is the better reader.
MAX_CELLS = 100_000
TRUE = ("1", "true")


def format_cell(value: Any) -> str:
    """A cell as text: whole floats without '.0', dates in ISO form, booleans as Excel does."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def make_table(
    title: str,
    rows: Iterable[Sequence[Any]],
    hidden_rows: frozenset[int] = frozenset(),
    hidden_columns: frozenset[int] = frozenset(),
) -> Table:
    """Keep the non-empty rows (with their numbers) and drop empty trailing cells."""
    return _Kept(title).add_rows(enumerate(rows, start=1)).table(hidden_rows, hidden_columns)


class _Kept:
    """The rows kept from one sheet, and what was cut from it."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[int, tuple[str, ...]]] = []
        self.rows_cut = self.cells_cut = 0
        self.out_of_cells = False
        self.cells_read = 0

    def add_rows(self, rows: Iterable[tuple[int, Sequence[Any]]]) -> _Kept:
        for number, row in rows:
            if not self.add(number, row):
                break
        return self

    def add(self, number: int, row: Sequence[Any], cut: int = 0) -> bool:
        """Keep one row (`cut`: its cells with values beyond MAX_COLUMNS, already dropped);
        False once MAX_ROWS rows or MAX_CELLS cells are kept (the caller stops reading)."""
        if len(row) > MAX_COLUMNS:
            cut += sum(1 for v in row[MAX_COLUMNS:] if v not in (None, ""))
            row = row[:MAX_COLUMNS]
        self.cells_read += len(row)
        if self.cells_read > MAX_CELLS:
            self.out_of_cells = True
            return False
        cells = [format_cell(v) for v in row]
        while cells and not cells[-1].strip():
            cells.pop()
        if not cells and not cut:
            return True
        if len(self.rows) >= MAX_ROWS:
            self.rows_cut += 1
            return False
        self.cells_cut += cut
        if cells:
            self.rows.append((number, tuple(cells)))
        return True

    def table(
        self,
        hidden_rows: frozenset[int] = frozenset(),
        hidden_columns: frozenset[int] = frozenset(),
    ) -> Table:
        notes = []
        if self.out_of_cells:
            notes.append(
                f"reading stopped after the first {MAX_CELLS} cells: the rest of this sheet "
                "is cut (the coder can process the whole file)"
            )
        elif self.rows_cut:
            notes.append(f"only the first {MAX_ROWS} rows with values are shown; the rest is cut")
        if self.cells_cut:
            notes.append(
                f"only columns A to {column_letters(MAX_COLUMNS - 1)} are shown; "
                f"{self.cells_cut} cells with values further right are cut"
            )
        return Table(self.title, tuple(self.rows), "; ".join(notes), hidden_rows, hidden_columns)


def xlsx_tables(source: Path | bytes) -> list[Table]:
    import openpyxl  # type: ignore[import-untyped]

    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    with warnings.catch_warnings():
        # openpyxl warns about extensions it drops (data validation, ...): not our concern.
        warnings.simplefilter("ignore")
        with _without_declared_dimension():
            book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        try:
            budget = [MAX_CELLS]
            return [_xlsx_table(book, sheet, budget) for sheet in book.worksheets]
        finally:
            book.close()


_PATCH = threading.Lock()


@contextmanager
def _without_declared_dimension() -> Iterator[None]:
    """While a workbook loads, skip openpyxl's look for each sheet's declared dimension:
    it is never used here, and a sheet without one is parsed whole to find that out."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet  # type: ignore[import-untyped]

    with _PATCH:
        original = ReadOnlyWorksheet._get_size
        ReadOnlyWorksheet._get_size = lambda self: None
        try:
            yield
        finally:
            ReadOnlyWorksheet._get_size = original


def _xlsx_table(book: Any, sheet: Any, budget: list[int]) -> Table:
    """One sheet read from the cells the file holds (openpyxl's own iter_rows pads every
    row to the declared dimension, so two cells at A1 and XFD1048576 cost minutes)."""
    from openpyxl.worksheet._reader import WorkSheetParser  # type: ignore[import-untyped]

    hidden_sheet = sheet.sheet_state in ("hidden", "veryHidden")
    kept = _Kept(f"Sheet {sheet.title}" + (" (hidden sheet)" if hidden_sheet else ""))
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, cells in parser.parse():
            if budget[0] <= 0:
                kept.out_of_cells = True
                break
            budget[0] -= len(cells)
            width = min(max((c["column"] for c in cells), default=0), MAX_COLUMNS)
            row: list[Any] = [None] * width
            cut = 0
            for cell in cells:
                if cell["column"] <= MAX_COLUMNS:
                    row[cell["column"] - 1] = cell["value"]
                elif cell["value"] not in (None, ""):
                    cut += 1
            if not kept.add(number, row, cut):
                break
        hidden_rows = frozenset(
            int(r) for r, attrs in parser.row_dimensions.items() if attrs.get("hidden") in TRUE
        )
        hidden_columns = frozenset(
            index - 1
            for attrs in parser.column_dimensions.values()
            if attrs.get("hidden") in TRUE
            for index in range(
                int(attrs.get("min", 1)),
                min(int(attrs.get("max", attrs.get("min", 1))), MAX_COLUMNS) + 1,
            )
        )
    return kept.table(hidden_rows, hidden_columns)


def xls_tables(source: Path | bytes) -> list[Table]:
    import xlrd  # type: ignore[import-untyped]

    data = read_regular(source)
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, formatting_info=True)
    except (NotImplementedError, xlrd.XLRDError):
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    try:
        tables = []
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            columns = min(sheet.ncols, MAX_COLUMNS + 1)
            rows = (
                (r + 1, [_xls_value(sheet.cell(r, c), book.datemode) for c in range(columns)])
                for r in range(sheet.nrows)
            )
            hidden = " (hidden sheet)" if sheet.visibility else ""
            kept = _Kept(f"Sheet {sheet.name}{hidden}").add_rows(rows)
            hidden_rows = frozenset(r + 1 for r, info in sheet.rowinfo_map.items() if info.hidden)
            hidden_columns = frozenset(c for c, info in sheet.colinfo_map.items() if info.hidden)
            tables.append(kept.table(hidden_rows, hidden_columns))
        return tables
    finally:
        book.release_resources()


def _xls_value(cell: Any, datemode: int) -> Any:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERROR")
    return cell.value


def csv_tables(text: str, name: str) -> list[Table]:
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if name.lower().endswith(".tsv") else csv.excel
    return [make_table(name, csv.reader(io.StringIO(text), dialect))]  # csv.Error: not CSV
