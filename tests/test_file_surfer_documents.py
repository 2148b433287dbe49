"""The file surfer's converters on real files from Debian packages (installed by
`scripts/setup.sh --dev`): PDF, DOCX, ODT, XLSX (checked cell by cell against the CSVs
xlsx2csv ships with them), XLS, CSV, HTML, EPUB (a good one and a malformed one), images
with EXIF; and the edges: empty, binary, huge, unsupported files."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from specialists.file_surfer.convert import open_document
from specialists.file_surfer.document import Document, FileProblem, paginate, table_pages
from specialists.file_surfer.pdf import NO_TEXT
from specialists.file_surfer.sheets import make_table

FORENSICS = Path("/usr/share/forensics-samples/original-files")
XLSX2CSV = Path("/usr/share/doc/xlsx2csv/examples/test")
REFERENCE_PDF = Path("/usr/share/debian-reference/debian-reference.en.pdf")
XLS_SAMPLES = Path("/usr/share/doc/libspreadsheet-parseexcel-perl/examples/sample/Excel")
CXXTEST_EPUB = Path("/usr/share/doc/cxxtest/guide.epub")
MALFORMED_EPUB = Path("/usr/share/doc/debian-edu-doc-en/debian-edu-bullseye-manual.epub")
MB = 1024 * 1024


def real(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: install the test packages with scripts/setup.sh --dev")
    return path


def opened(path: Path, page_chars: int = 6000, max_mb: int = 100) -> Document:
    return open_document(real(path), path.name, page_chars, max_mb * MB)


def everything(doc: Document) -> str:
    return "\n".join(doc.page(n) for n in range(1, doc.page_count + 1))


def pdfium_text(path: Path, page: int) -> str:
    pdf = pdfium.PdfDocument(path)
    try:
        textpage = pdf[page - 1].get_textpage()
        raw: str = textpage.get_text_bounded()
    finally:
        pdf.close()
    return raw.replace("\r\n", "\n").replace("\ufffe", "").strip()


# --- PDF ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", [2, 27, 200, 261])
def test_a_pdf_page_is_the_text_pypdfium2_gives_for_that_page(page: int) -> None:
    doc = opened(REFERENCE_PDF)
    try:
        assert doc.kind == "PDF"
        assert doc.page_count == 261
        assert doc.page(page) == pdfium_text(REFERENCE_PDF, page)
    finally:
        doc.close()


def test_pdf_pages_are_converted_only_when_asked_for() -> None:
    doc = opened(REFERENCE_PDF)
    try:
        assert doc._cache == {}  # type: ignore[attr-defined]
        assert "208164 reports" in doc.page(27)
        assert list(doc._cache) == [27]  # type: ignore[attr-defined]
        assert doc.page(1) == NO_TEXT  # the cover is a picture
    finally:
        doc.close()


def test_pdf_pages_have_their_words_rejoined() -> None:
    doc = opened(REFERENCE_PDF)
    try:
        text = everything(doc)
    finally:
        doc.close()
    assert "\ufffe" not in text
    assert "distribution" in text


def test_a_very_long_pdf_page_is_cut_with_a_marker() -> None:
    doc = opened(REFERENCE_PDF, page_chars=1000)  # a page shows at most 4 x page_chars
    try:
        full = pdfium_text(REFERENCE_PDF, 15)
        shown = doc.page(15)
    finally:
        doc.close()
    assert len(full) > 4000
    assert shown == full[:4000] + f"\n[… {len(full) - 4000} more characters on this page not shown]"


def test_a_small_pdf_has_its_two_pages() -> None:
    doc = opened(FORENSICS / "text1/a-text.pdf")
    assert doc.page_count == 2
    assert doc.page(1).startswith("This is a text from LibreOffice Writer...")
    assert "This is the second page." in doc.page(2)
    doc.close()


@pytest.mark.parametrize("name", ["a-text-pass-A5d.pdf", "a-text-pass-peanuts.pdf"])
def test_a_password_protected_pdf_is_refused_clearly(name: str) -> None:
    with pytest.raises(FileProblem, match=rf"^{re.escape(name)} is password-protected"):
        opened(FORENSICS / "text1" / name)


def test_a_file_named_pdf_that_is_not_one_is_malformed(tmp_path: Path) -> None:
    fake = tmp_path / "report.pdf"
    fake.write_bytes(real(CXXTEST_EPUB).read_bytes())
    with pytest.raises(FileProblem, match=r"^report.pdf is not a valid PDF \(malformed"):
        opened(fake)


# --- word processing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"), [("a-text.docx", "Word document"), ("a-text.odt", "OpenDocument text")]
)
def test_word_documents_read_as_their_text(name: str, kind: str) -> None:
    doc = opened(FORENSICS / "text1" / name)
    assert doc.kind == kind
    paragraphs = [line.strip("* ") for line in doc.page(1).splitlines() if line.strip()]
    assert paragraphs == [
        "This is a text from LibreOffice Writer...",
        "A test only.",
        "There are 2 pages.",
        "This is the second page.",
        "Bye",
    ]


def test_a_presentation_reads_slide_by_slide(tmp_path: Path) -> None:
    # No Debian package ships a PPTX; python-pptx (markitdown's own dependency) writes one.
    from pptx import Presentation

    deck = Presentation()
    for number, (title, body) in enumerate([("Budget", "Total: 48,200 EUR"), ("Plan", "Q3")]):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"{number + 1}. {title}"
        slide.placeholders[1].text = body
    path = tmp_path / "deck.pptx"
    deck.save(str(path))
    text = everything(opened(path))
    assert text.index("1. Budget") < text.index("Total: 48,200 EUR") < text.index("2. Plan")
    assert "Slide number: 2" in text


# --- spreadsheets -------------------------------------------------------------------------------

CELL = re.compile(r"(?<!\\)\|")


def rendered_cells(doc: Document) -> dict[str, dict[int, list[str]]]:
    """Sheet title → row number → cells, read back from the markdown the model sees."""
    sheets: dict[str, dict[int, list[str]]] = {}
    title = ""
    for line in everything(doc).splitlines():
        if line.startswith("## "):
            title = line[3:].removesuffix(" (continued)")
            sheets.setdefault(title, {})
        elif line.startswith("| ") and not line.startswith(("| row |", "| --- |")):
            # Cells are written as "| a | b |": one space each side, the rest is the value.
            number, *cells = [c[1:-1].replace("\\|", "|") for c in CELL.split(line)[1:-1]]
            sheets[title][int(number)] = cells
    return sheets


def same_value(expected: str, shown: str) -> bool:
    if expected == shown:
        return True
    try:  # xlsx2csv applies number formats ("0.10300"); compare numbers as numbers
        return abs(float(expected) - float(shown)) < 1e-9
    except ValueError:
        return False


def csv_sections(path: Path) -> list[list[list[str]]]:
    """The CSV's rows, split into sheets where xlsx2csv wrote '-------- N - name' lines."""
    sections: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
        if row and re.match(r"^-------- \d+ - ", row[0]):
            if sections[-1]:
                sections.append([])
            continue
        sections[-1].append(row)
    return sections


@pytest.mark.parametrize(
    "name", ["float", "last-column-empty", "utf8", "twolettercolumns", "sheets_order", "sheets"]
)
def test_xlsx_cells_match_the_csv_xlsx2csv_made_of_them(name: str) -> None:
    doc = opened(XLSX2CSV / f"{name}.xlsx")
    assert doc.kind == "Excel workbook"
    shown = list(rendered_cells(doc).values())
    expected_sheets = csv_sections(real(XLSX2CSV / f"{name}.csv"))
    assert len(shown) >= len(expected_sheets)  # xlsx2csv may have exported fewer sheets
    checked = 0
    for sheet, expected in zip(shown, expected_sheets, strict=False):
        for number, expected_row in enumerate(expected, start=1):
            cells = sheet.get(number, [])
            for column, value in enumerate(expected_row):
                got = cells[column] if column < len(cells) else ""
                assert same_value(value, got), f"{name} row {number} col {column}: {got!r}"
                checked += bool(value)
    assert checked >= 4


def test_xlsx_sheets_come_in_workbook_order_with_addresses() -> None:
    cells = rendered_cells(opened(XLSX2CSV / "sheets_order.xlsx"))
    assert list(cells) == ["Sheet b", "Sheet e", "Sheet d", "Sheet a"]
    assert cells["Sheet b"][1] == ["x", "y"]
    assert cells["Sheet b"][26] == ["14", "2744"]


def test_xls_reads_values_dates_and_sheets() -> None:
    doc = opened(XLS_SAMPLES / "Test97.xls")
    assert doc.kind == "Excel 97-2003 workbook"
    cells = rendered_cells(doc)
    first = cells["Sheet Sheet1-ASC"]
    assert first[1] == ["ASC", "This Data is 'ASC Only'"]
    assert first[2] == ["Date", "1964-03-23"]
    assert first[3] == ["INTEGER", "12345"]
    assert first[8] == ["BIG INTEGER", "123456789012"]
    assert cells["Sheet Sheet2"][1] == ["This is Sheet2"]


def test_csv_is_a_table_with_addresses() -> None:
    doc = opened(XLSX2CSV / "utf8.csv")
    assert doc.kind == "CSV table"
    assert rendered_cells(doc)["utf8.csv"][3] == ["Здравствуйте", "Russian language"]


def test_a_long_table_repeats_its_header_on_every_page() -> None:
    rows = [[f"item {n}", str(n * 10)] for n in range(1, 400)]
    pages = table_pages([make_table("Sheet long", rows)], 1000)
    assert len(pages) > 5
    for page in pages[1:]:
        assert page.startswith("## Sheet long (continued)\n\n| row | A | B |\n| --- |")
    assert all(len(p) <= 1000 for p in pages)
    assert "| 399 | item 399 | 3990 |" in pages[-1]


# --- web, e-books, images, text ----------------------------------------------------------------


def test_html_becomes_markdown() -> None:
    doc = opened(Path("/usr/share/debian-reference/ch01.en.html"))
    assert doc.kind == "web page"
    text = everything(doc)
    assert re.search(r"^# Chapter\s1\.\sGNU/Linux tutorials$", text, re.MULTILINE)  # NBSPs
    assert "<div" not in text


def test_an_epub_reads_as_its_chapters() -> None:
    doc = opened(CXXTEST_EPUB)
    assert doc.kind == "e-book (EPUB)"
    assert doc.page_count > 3
    text = everything(doc)
    assert "**Title:** CxxTest User Guide" in text
    assert "CxxTest is a unit testing framework for C++" in text


def test_a_malformed_epub_says_why_and_how_to_read_it_anyway() -> None:
    with pytest.raises(FileProblem) as caught:
        opened(MALFORMED_EPUB)
    message = str(caught.value)
    assert message.startswith("debian-edu-bullseye-manual.epub could not be read")
    assert "META-INF/container.xml" in message
    assert "open_file(path, member=...)" in message
    assert "epub/OEBPS/ar01s02.html" in message


def test_a_photo_is_described_by_its_exif_and_never_shown() -> None:
    text = opened(FORENSICS / "pic1/IMG_20200827_231612.jpg").page(1)
    assert "- Format: JPEG" in text
    assert "- Size: 4000 x 3000 pixels" in text
    assert "Camera make: Xiaomi" in text
    assert "Taken: 2020:08:27 23:16:12" in text
    assert "GPS position: -15.8" in text
    assert "not shown" in text


def test_an_image_without_exif_says_so() -> None:
    text = opened(FORENSICS / "pic1/debian.png").page(1)
    assert "- Size: 800 x 600 pixels" in text
    assert "- EXIF: none" in text


def test_text_json_and_encodings(tmp_path: Path) -> None:
    assert (
        opened(FORENSICS.parent / "original-multiple/test.txt")
        .page(1)
        .startswith("This is a text file only.")
    )
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"total": 208164, "items": [1, 2]}))
    assert opened(data).page(1).startswith('{\n  "total": 208164,')
    broken = tmp_path / "broken.json"
    broken.write_text('{"total": ')
    assert opened(broken).page(1).startswith("(not valid JSON: Expecting value at line 1")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Grüße aus Köln, déjà vu, façade, naïve café.\n".encode("latin-1") * 20)
    assert "Grüße aus Köln" in opened(latin).page(1)


def test_text_is_paged_between_lines() -> None:
    text = "".join(f"line {n}: " + "x" * 50 + "\n" for n in range(200))
    pages = paginate(text, 1000)
    assert "".join(pages) == text
    assert all(len(p) <= 1000 and p.endswith("\n") for p in pages)
    assert paginate("y" * 2500, 1000) == ("y" * 1000, "y" * 1000, "y" * 500)


def test_a_gzip_file_reads_as_what_it_contains(tmp_path: Path) -> None:
    doc = opened(Path("/usr/share/doc/forensics-samples-files/README.md.gz"))
    assert doc.kind == "text"
    assert doc.page(1).startswith("# forensics-samples\n\n## About\n")
    bomb = tmp_path / "zeros.txt.gz"
    with gzip.open(bomb, "wb") as stream:
        stream.write(bytes(3 * MB))
    with pytest.raises(FileProblem, match=r"^zeros.txt.gz uncompresses to more than 1.0 MB"):
        opened(bomb, max_mb=1)


# --- the edges ------------------------------------------------------------------------------


def test_an_empty_file_is_reported_as_empty(tmp_path: Path) -> None:
    empty = tmp_path / "notes.txt"
    empty.touch()
    with pytest.raises(FileProblem, match=r"^notes.txt is empty \(0 bytes\)$"):
        opened(empty)


@pytest.mark.parametrize(
    "path", [FORENSICS / "audio1/debian.mp3", FORENSICS / "pic1/debian.xcf", Path("/usr/bin/true")]
)
def test_a_binary_file_is_refused_with_what_it_seems_to_be(path: Path) -> None:
    with pytest.raises(FileProblem, match=rf"^{re.escape(path.name)} is a binary file"):
        opened(path)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.log"
    with huge.open("wb") as stream:
        stream.truncate(5 * 1024 * MB)  # sparse: 5 GB that take no disk space
    with pytest.raises(FileProblem, match=r"^huge.log is too large to open \(5120.0 MB; the limit"):
        opened(huge)
    with pytest.raises(FileProblem, match=r"limit is 1.0 MB, set by specialists.file_surfer"):
        opened(real(REFERENCE_PDF), max_mb=1)


@pytest.mark.parametrize("suffix", [".doc", ".rtf"])
def test_unsupported_formats_are_named(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"old{suffix}"
    path.write_text("{\\rtf1 hello}")
    with pytest.raises(FileProblem, match=r"files are not supported \(PDF, DOCX"):
        opened(path)


def test_an_encrypted_office_file_is_password_protected(tmp_path: Path) -> None:
    # Encrypted DOCX/XLSX files are OLE containers; a legacy XLS is one too, renamed here.
    renamed = tmp_path / "budget.xlsx"
    renamed.write_bytes(real(XLS_SAMPLES / "Test97.xls").read_bytes())
    with pytest.raises(FileProblem, match=r"^budget.xlsx is password-protected"):
        opened(renamed)
