"""Hostile files made on the spot (nothing is checked in): the tests of issue 10 and
`bench/hostile_cases_files.py` both build their inputs with these."""

from __future__ import annotations

import os
import socket
import struct
import zipfile
import zlib
from pathlib import Path

MB = 1024 * 1024

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
# The member of each container format that its converter reads.
BOMB_MEMBER = {
    ".docx": "word/document.xml",
    ".pptx": "ppt/slides/slide1.xml",
    ".xlsx": "xl/worksheets/sheet1.xml",
    ".odt": "content.xml",
    ".epub": "OEBPS/chapter1.xhtml",
    ".zip": "inner.txt",
}


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def unix_socket(path: Path) -> socket.socket:
    """A listening Unix socket at `path`; the caller closes it."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    return server


def docx(path: Path, body: str) -> Path:
    """A minimal DOCX whose document body is `body` (WordprocessingML paragraphs)."""
    document = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("[Content_Types].xml", CONTENT_TYPES)
        out.writestr("_rels/.rels", RELS)
        out.writestr("word/document.xml", document)
    return path


def epub(path: Path, chapter: str) -> Path:
    """A minimal EPUB of one XHTML chapter whose body is `chapter`."""
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
        'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:title>Test book</dc:title><dc:identifier id="id">x</dc:identifier></metadata>'
        '<manifest><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/></manifest>'
        '<spine><itemref idref="c1"/></spine></package>'
    )
    xhtml = (
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>c1'
        f"</title></head><body>{chapter}</body></html>"
    )
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("mimetype", "application/epub+zip")
        out.writestr("META-INF/container.xml", container)
        out.writestr("OEBPS/content.opf", opf)
        out.writestr("OEBPS/c1.xhtml", xhtml)
    return path


def inflating_container(path: Path, unpacked: int, member: str | None = None) -> Path:
    """A ZIP container (by `path`'s suffix) whose main member inflates to `unpacked`
    bytes of repeated XML, written as a stream (a 1 GiB member packs to ~1 MB)."""
    name = member or BOMB_MEMBER.get(path.suffix, "inner.xml")
    chunk = b"<a/>" * (MB // 4)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        out.writestr("[Content_Types].xml", CONTENT_TYPES)
        with out.open(name, "w", force_zip64=True) as stream:
            for _ in range(unpacked // len(chunk)):
                stream.write(chunk)
    return path


def fast_bomb(path: Path, unpacked: int, member: str | None = None) -> Path:
    """Like `inflating_container`, in a fraction of the time: one 1 MiB block of XML is
    deflated once and its compressed form repeated (a full flush makes every copy
    independent), and the ZIP's headers are written by hand. `unpacked` < 4 GiB."""
    name = (member or BOMB_MEMBER.get(path.suffix, "inner.xml")).encode()
    chunk = b"<a/>" * (MB // 4)
    copies = unpacked // len(chunk)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    ending = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(copies):
        crc = zlib.crc32(chunk, crc)
    packed, size = len(block) * copies + len(ending), len(chunk) * copies
    header = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, packed, size, len(name), 0
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, packed, size, len(name),
        0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    with path.open("wb") as out:
        out.write(header + name)
        for _ in range(copies):
            out.write(block)
        out.write(ending)
        directory = out.tell()
        out.write(central + name)
        end = struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), directory, 0
        )
        out.write(end)
    return path


def lying_container(path: Path, actual: int, declared: int) -> Path:
    """A container whose main member holds `actual` bytes but whose headers (local and
    central) declare only `declared`."""
    name = BOMB_MEMBER.get(path.suffix, "inner.xml")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(name, b"<a/>" * (actual // 4))
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 22 : local + 26] = declared.to_bytes(4, "little")
    data[central + 24 : central + 28] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def far_workbook(path: Path) -> Path:
    """Two cells, at A1 and XFD1048576: its declared dimension is the whole sheet."""
    import openpyxl  # type: ignore[import-untyped]

    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "first cell"
    sheet["XFD1048576"] = "last cell"
    book.save(path)
    return path


def big_sheet(path: Path, rows: int, columns: int) -> Path:
    """An XLSX of `rows` x `columns` inline-string cells, its XML written directly (openpyxl
    would take a minute for a million cells)."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(c + 1) for c in range(columns)]
    book = (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Big" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    book_rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        out.writestr("[Content_Types].xml", types)
        out.writestr("_rels/.rels", RELS.replace("word/document.xml", "xl/workbook.xml"))
        out.writestr("xl/workbook.xml", book)
        out.writestr("xl/_rels/workbook.xml.rels", book_rels)
        with out.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b"<sheetData>"
            )
            for row in range(1, rows + 1):
                cells = "".join(
                    f'<c r="{letter}{row}" t="inlineStr"><is><t>r{row}{letter}</t></is></c>'
                    for letter in letters
                )
                sheet.write(f'<row r="{row}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


def hidden_workbook(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Shown"
    sheet["A1"] = "visible cell"
    sheet["A2"] = "in a hidden row"
    sheet.row_dimensions[2].hidden = True
    sheet["C1"] = "in a hidden column"
    sheet.column_dimensions["C"].hidden = True
    secret = book.create_sheet("Secret")
    secret["A1"] = "on a hidden sheet"
    secret.sheet_state = "hidden"
    book.save(path)
    return path


def pdf(path: Path, pages: list[list[tuple[str, int]]]) -> Path:
    """A PDF whose pages hold lines of (text, render mode): mode 0 is ordinary text,
    mode 3 is invisible (drawn but never shown)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for lines in pages:
        ops = []
        for i, (text, mode) in enumerate(lines):
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"BT /F1 12 Tf {mode} Tr 72 {720 - 20 * i} Td ({escaped}) Tj ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content
        )
        kids.append(len(objects))
    refs = " ".join(f"{k} 0 R" for k in kids).encode()
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def encrypted_pdf(path: Path, text: str, password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = pdf(path.with_suffix(".plain.pdf"), [[(text, 0)]])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(password, algorithm="RC4-128")
    with path.open("wb") as out:
        writer.write(out)
    plain.unlink()
    return path


def deep_tree(root: Path, depth: int, width: int, name_chars: int) -> Path:
    """`width` files of long names in each of `depth` nested folders of long names."""
    folder = root
    for level in range(depth):
        folder = folder / (f"level{level:02d}-" + "d" * name_chars)[:name_chars]
        folder.mkdir()
        for i in range(width):
            (folder / (f"match-{i:03d}-" + "f" * name_chars)[:name_chars]).write_text("x")
    return root
