"""Spreadsheets and CSV as markdown tables with row numbers and column letters.

openpyxl (XLSX) and xlrd (XLS) are used directly rather than through markitdown, whose
pandas path turns the first row into a header ("Unnamed: 0"), shows empty cells as NaN
and loses the row and column a value sits in. Here every cell keeps its address.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from specialists.file_surfer.document import Table

MAX_ROWS = 50_000  # per sheet; a bigger sheet is cut with a note


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


def make_table(title: str, rows: Iterable[Sequence[Any]]) -> Table:
    """Keep the non-empty rows (with their numbers) and drop empty trailing cells."""
    kept: list[tuple[int, tuple[str, ...]]] = []
    note = ""
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS:
            note = f"only the first {MAX_ROWS} rows are shown"
            break
        cells = [format_cell(v) for v in row]
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            kept.append((number, tuple(cells)))
    return Table(title, tuple(kept), note)


def xlsx_tables(source: Path | bytes) -> list[Table]:
    import openpyxl  # type: ignore[import-untyped]

    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    with warnings.catch_warnings():
        # openpyxl warns about extensions it drops (data validation, ...): not our concern.
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        try:
            return [
                make_table(f"Sheet {sheet.title}", sheet.iter_rows(values_only=True))
                for sheet in book.worksheets
            ]
        finally:
            book.close()


def xls_tables(source: Path | bytes) -> list[Table]:
    import xlrd  # type: ignore[import-untyped]

    if isinstance(source, bytes):
        book = xlrd.open_workbook(file_contents=source, on_demand=True)
    else:
        book = xlrd.open_workbook(str(source), on_demand=True)
    try:
        tables = []
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            rows = (
                [_xls_value(sheet.cell(r, c), book.datemode) for c in range(sheet.ncols)]
                for r in range(sheet.nrows)
            )
            tables.append(make_table(f"Sheet {sheet.name}", rows))
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
