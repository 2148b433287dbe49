"""Opening any supported file as a paged Document: pick the converter, guard the edges.

The converter is chosen from the name's suffix and the first bytes (a PDF named `.txt`
is still a PDF). Empty, too large, binary, encrypted, malformed and unsupported files
become a FileProblem whose message says what the file is and what can be done instead.

Only regular files are opened (a FIFO would block forever). Office, e-book, HTML, JSON
and legacy files convert in a bounded child process (`bounded`): their libraries can be
driven to gigabytes and minutes by a small file, and ZIP containers are checked against
bombs first (`archive.check_container`). A text file is text when few of its first bytes
are control bytes: a stray NUL does not make it binary.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import mimetypes
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from specialists.file_surfer import archive, office, sheets
from specialists.file_surfer.bounded import run_bounded
from specialists.file_surfer.confine import open_regular, read_regular, regular_file, stream_of
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
ZIP_CONTAINERS = {".docx", ".pptx", ".epub", ".odt", ".xlsx", ".xlsm"}
IN_CHILD = ZIP_CONTAINERS | set(office.MARKITDOWN_KINDS) | {".xls", ".json"}
MAX_TEXT_CHARS = 20_000_000  # a converted text longer than this is cut, with a note
# Text bytes besides the printable ones: tab, newline, form feed, CR, backspace, escape.
TEXT_CONTROLS = frozenset(b"\t\n\f\r\x08\x1b")
MAX_CONTROL_SHARE = 0.02  # more control bytes than this in the head: not plain text


@dataclass(frozen=True)
class Limits:
    """Bounds on converting one file (settings `convert_seconds`, `convert_memory_mb`,
    `max_unpacked_mb`)."""

    seconds: float = 8
    memory_mb: int = 1536
    max_unpacked_bytes: int = 512 * 1024 * 1024


def open_document(
    source: Source,
    name: str,
    page_chars: int,
    max_bytes: int,
    *,
    password: str | None = None,
    limits: Limits = Limits(),
) -> Document:
    """`source` as a Document named `name` (the path, or archive and member, shown to the
    model). Raises FileProblem for anything that cannot be shown."""
    size = regular_file(source, name).st_size if isinstance(source, Path) else len(source)
    if size == 0:
        raise FileProblem(f"{name} is empty (0 bytes)")
    if size > max_bytes:
        raise FileProblem(
            f"{name} is too large to open ({_mb(size)}; the limit is {_mb(max_bytes)}, "
            "set by specialists.file_surfer.max_file_mb); file_info still works on it"
        )
    head = _head(source)
    if head.startswith(GZIP_MAGIC):  # e.g. Debian's README.gz: read what is inside
        unpacked = _gunzip(source, name, max_bytes)
        return open_document(
            unpacked, name, page_chars, max_bytes, password=password, limits=limits
        )
    suffix = Path(member_name(name).removesuffix(".gz")).suffix.lower()
    if head.startswith(b"%PDF-") or suffix == ".pdf":
        return PdfPages(name, source, page_chars, password)
    if suffix in IN_CHILD or head.startswith(OLE_MAGIC):
        args = (source, name, suffix, head, limits.max_unpacked_bytes)
        seconds, memory = limits.seconds, limits.memory_mb
        content, kind = run_bounded(_convert, args, name=name, seconds=seconds, memory_mb=memory)
    else:
        content, kind = _convert(source, name, suffix, head, limits.max_unpacked_bytes)
    if isinstance(content, list):
        return PagedText(name, kind, table_pages(content, page_chars))
    if len(content) > MAX_TEXT_CHARS:
        cut = len(content) - MAX_TEXT_CHARS
        content = content[:MAX_TEXT_CHARS] + f"\n\n[… the last {cut} characters are not shown]"
    if not content.strip():
        content = f"(the {kind} {name} contains no text)"
    return PagedText(name, kind, paginate(content, page_chars))


def _convert(
    source: Source, name: str, suffix: str, head: bytes, max_unpacked: int
) -> tuple[Content, str]:
    if suffix in ZIP_CONTAINERS and head.startswith(b"PK"):
        archive.check_container(source, name, max_unpacked)
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
    text = decode_text(read_regular(source), name)
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
    """Text in UTF-8, UTF-16 (with a BOM) or a detected legacy encoding, with any control
    characters shown as escapes; anything else is binary and refused with a description
    of what it seems to be. A few NULs or other controls do not make a file binary: only a
    share above MAX_CONTROL_SHARE of the first bytes does, and even then the encoding
    detector may find it is text (UTF-16 without a BOM)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _visible_controls(data.decode("utf-16"))
        except UnicodeDecodeError:
            pass
    if control_share(data[:HEAD_BYTES]) <= MAX_CONTROL_SHARE:
        try:
            return _visible_controls(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 4 * 1024 * 1024]).best()
    if best is not None:
        text = data.decode(best.encoding, errors="replace")
        if _mostly_printable(text[:HEAD_BYTES]):
            return _visible_controls(text)
    mime, compression = mimetypes.guess_type(member_name(name))
    guessed = f"{compression}-compressed" if compression else mime or "unknown type"
    raise FileProblem(
        f"{name} is a binary file ({guessed}) with no readable text; "
        f"the file surfer reads {SUPPORTED} (file_info describes any file)"
    )


def control_share(head: bytes) -> float:
    """The share of `head` that is control bytes other than the usual text ones."""
    if not head:
        return 0.0
    controls = sum(
        1 for byte in head if (byte < 0x20 or byte == 0x7F) and byte not in TEXT_CONTROLS
    )
    return controls / len(head)


def _mostly_printable(sample: str) -> bool:
    controls = sum(1 for ch in sample if not ch.isprintable() and ch not in "\n\r\t\f")
    return controls <= len(sample) * MAX_CONTROL_SHARE


_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F) if c not in (9, 10, 12, 13)}
_ANY_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _visible_controls(text: str) -> str:
    """Control characters (a NUL, a bell) as `\\x00` escapes: visible, and safe in a request."""
    return text.translate(_CONTROLS) if _ANY_CONTROL.search(text) else text


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
        with stream_of(source) as packed, gzip.open(packed) as stream:
            data = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileProblem(f"{name} is a damaged gzip file: {exc}") from None
    if len(data) > max_bytes:
        raise FileProblem(f"{name} uncompresses to more than {_mb(max_bytes)}: too large to open")
    return data


def _head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:HEAD_BYTES]
    with open_regular(source) as stream:
        return stream.read(HEAD_BYTES)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
