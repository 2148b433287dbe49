"""Opening any supported file as a paged Document: pick the converter, guard the edges.

The converter is chosen from the name's suffix and the first bytes (a PDF named `.txt`
is still a PDF). Empty, too large, binary, encrypted, malformed and unsupported files
become a FileProblem whose message says what the file is and what can be done instead.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import mimetypes
import zlib
from collections.abc import Callable
from pathlib import Path

from specialists.file_surfer import archive, office, sheets
from specialists.file_surfer.document import (
    Document,
    FileProblem,
    PagedText,
    Table,
    member_name,
    paginate,
    table_pages,
)
from specialists.file_surfer.images import IMAGE_SUFFIXES, image_summary
from specialists.file_surfer.pdf import PdfPages

Source = Path | bytes  # a file on disk, or a ZIP member read into memory
Content = str | list[Table]
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office, and encrypted OOXML
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")
UNSUPPORTED = {".doc": "Word 97-2003", ".ppt": "PowerPoint 97-2003", ".rtf": "RTF"}
UNSUPPORTED |= {".ods": "OpenDocument spreadsheet", ".odp": "OpenDocument presentation"}
SUPPORTED = (
    "PDF, DOCX, ODT, PPTX, XLSX, XLS, CSV, JSON, HTML, EPUB, ZIP, text/code, images, "
    "and any of these gzip-compressed"
)
HEAD_BYTES = 8192
GZIP_MAGIC = b"\x1f\x8b"


def open_document(source: Source, name: str, page_chars: int, max_bytes: int) -> Document:
    """`source` as a Document named `name` (the path, or archive and member, shown to the
    model). Raises FileProblem for anything that cannot be shown."""
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size == 0:
        raise FileProblem(f"{name} is empty (0 bytes)")
    if size > max_bytes:
        raise FileProblem(
            f"{name} is too large to open ({_mb(size)}; the limit is {_mb(max_bytes)}, "
            "set by specialists.file_surfer.max_file_mb); file_info still works on it"
        )
    head = _head(source)
    if head.startswith(GZIP_MAGIC):  # e.g. Debian's README.gz: read what is inside
        return open_document(_gunzip(source, name, max_bytes), name, page_chars, max_bytes)
    suffix = Path(member_name(name).removesuffix(".gz")).suffix.lower()
    if head.startswith(b"%PDF-") or suffix == ".pdf":
        return PdfPages(name, source, page_chars)
    content, kind = _convert(source, name, suffix, head)
    if isinstance(content, list):
        return PagedText(name, kind, table_pages(content, page_chars))
    if not content.strip():
        content = f"(the {kind} {name} contains no text)"
    return PagedText(name, kind, paginate(content, page_chars))


def _convert(source: Source, name: str, suffix: str, head: bytes) -> tuple[Content, str]:
    if head.startswith(OLE_MAGIC):
        return _legacy_office(source, name, suffix)
    if suffix in UNSUPPORTED:
        raise FileProblem(f"{name}: {UNSUPPORTED[suffix]} files are not supported ({SUPPORTED})")
    if suffix in office.MARKITDOWN_KINDS:
        return office.markitdown_text(source, suffix, name), office.MARKITDOWN_KINDS[suffix]
    if suffix == ".odt":
        return office.odt_text(source, name), "OpenDocument text"
    if suffix in (".xlsx", ".xlsm"):
        return _tables(sheets.xlsx_tables, source, name), "Excel workbook"
    if suffix == ".zip" or head.startswith(b"PK\x03\x04"):
        return archive.listing(source, name), "ZIP archive"
    if suffix in IMAGE_SUFFIXES or head.startswith(IMAGE_MAGIC):
        return image_summary(source, name), "image"
    text = decode_text(source if isinstance(source, bytes) else source.read_bytes(), name)
    if suffix in (".csv", ".tsv"):
        try:
            return sheets.csv_tables(text, name), "CSV table"
        except csv.Error:
            return text, "text (not valid CSV)"
    if suffix == ".json":
        return _pretty_json(text), "JSON"
    return text, "text"


def _legacy_office(source: Source, name: str, suffix: str) -> tuple[Content, str]:
    if suffix == ".xls":
        return _tables(sheets.xls_tables, source, name), "Excel 97-2003 workbook"
    if suffix in (".docx", ".xlsx", ".xlsm", ".pptx"):
        raise FileProblem(
            f"{name} is password-protected (an encrypted Office file): ask for an unprotected copy"
        )
    raise FileProblem(f"{name} is a legacy Office file, which is not supported ({SUPPORTED})")


def _tables(read: Callable[[Source], list[Table]], source: Source, name: str) -> list[Table]:
    try:
        return read(source)
    except Exception as exc:  # openpyxl and xlrd fail on broken files in many ways
        raise FileProblem(
            f"{name} could not be read as a spreadsheet (malformed?): {type(exc).__name__}: {exc}"
        ) from None


def decode_text(data: bytes, name: str) -> str:
    """Text in UTF-8, UTF-16 (with a BOM) or a detected legacy encoding; anything else is
    binary and refused with a description of what it seems to be."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" not in data[:HEAD_BYTES]:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        from charset_normalizer import from_bytes

        best = from_bytes(data[: 4 * 1024 * 1024]).best()
        if best is not None:
            text = data.decode(best.encoding, errors="replace")
            if _mostly_printable(text[:HEAD_BYTES]):
                return text
    mime, compression = mimetypes.guess_type(member_name(name))
    guessed = f"{compression}-compressed" if compression else mime or "unknown type"
    raise FileProblem(
        f"{name} is a binary file ({guessed}) with no readable text; "
        f"the file surfer reads {SUPPORTED} (file_info describes any file)"
    )


def _mostly_printable(sample: str) -> bool:
    controls = sum(1 for ch in sample if not ch.isprintable() and ch not in "\n\r\t\f")
    return controls <= len(sample) // 50


def _pretty_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except json.JSONDecodeError as exc:
        note = f"(not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; shown as text)"
        return f"{note}\n\n{text}"
    except RecursionError:
        return "(JSON nested too deeply to re-indent; shown as text)\n\n" + text


def _gunzip(source: Source, name: str, max_bytes: int) -> bytes:
    """The uncompressed bytes, refused past `max_bytes` (a gzip bomb stops there)."""
    try:
        with gzip.open(io.BytesIO(source) if isinstance(source, bytes) else source) as stream:
            data = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileProblem(f"{name} is a damaged gzip file: {exc}") from None
    if len(data) > max_bytes:
        raise FileProblem(f"{name} uncompresses to more than {_mb(max_bytes)}: too large to open")
    return data


def _head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:HEAD_BYTES]
    with source.open("rb") as stream:
        return stream.read(HEAD_BYTES)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
