"""PDF pages with pypdfium2: only the pages asked for are converted.

pypdfium2 reads a 261-page PDF's text in well under a second, where markitdown (pdfminer)
needs tens of seconds for the whole file; and opening is instant because no page is read
until it is shown or searched. PDFium is not thread-safe, so every call holds one lock.
Text drawn invisibly (render mode 3: an OCR layer over a scan, or text hidden from
readers) is quoted in a note under the page, so the model knows no reader sees it.
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

from specialists.file_surfer.document import FileProblem

PDFIUM = threading.Lock()
CACHED_PAGES = 64
NO_TEXT = "(no text on this page: it may be an image or a scan)"
MAX_INVISIBLE_QUOTE = 2000


class PdfPages:
    """A PDF as a Document whose pages are PDF pages."""

    kind = "PDF"

    def __init__(
        self, name: str, source: Path | bytes, page_chars: int, password: str | None = None
    ) -> None:
        self.name = name
        self._limit = 4 * page_chars  # a PDF page is kept whole unless it is huge
        self._cache: OrderedDict[int, str] = OrderedDict()
        with PDFIUM:
            try:
                self._pdf = pdfium.PdfDocument(source, password=password)
            except pdfium.PdfiumError as exc:
                raise FileProblem(_open_error(name, exc, password is not None)) from None
            self._count: int = len(self._pdf)
        if self._count == 0:
            self.close()
            raise FileProblem(f"{name} is a PDF with no pages")

    @property
    def page_count(self) -> int:
        return self._count

    def page(self, number: int) -> str:
        if number in self._cache:
            self._cache.move_to_end(number)
            return self._cache[number]
        text = self._read(number)
        self._cache[number] = text
        if len(self._cache) > CACHED_PAGES:
            self._cache.popitem(last=False)
        return text

    def _read(self, number: int) -> str:
        with PDFIUM:
            try:
                page = self._pdf[number - 1]
                try:
                    textpage = page.get_textpage()
                    raw: str = textpage.get_text_bounded()
                    invisible = _invisible_text(page, textpage)
                    textpage.close()
                finally:
                    page.close()
            except pdfium.PdfiumError as exc:
                return f"(page {number} could not be read: {exc})"
        # PDFium marks a word hyphenated across lines with U+FFFE and joins its halves.
        text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "").strip()
        if not text:
            return NO_TEXT
        if len(text) > self._limit:
            hidden = len(text) - self._limit
            text = text[: self._limit] + f"\n[… {hidden} more characters on this page not shown]"
        return text + _invisible_note(invisible, text)

    def close(self) -> None:
        with PDFIUM:
            self._pdf.close()


def _invisible_text(page: object, textpage: object) -> str:
    """The text of the page's text objects drawn in PDFium's invisible render mode."""
    parts = []
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_TEXT,), max_depth=4):  # type: ignore[attr-defined]
        if (
            pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
            != pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
        ):
            continue
        size = pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, None, 0)  # type: ignore[attr-defined]
        if size <= 2:
            continue
        buffer = ctypes.create_string_buffer(size)
        pointer = ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR))
        pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, pointer, size)  # type: ignore[attr-defined]
        parts.append(buffer.raw[: size - 2].decode("utf-16-le", errors="replace"))
    return " ".join(" ".join(parts).split())


def _invisible_note(invisible: str, text: str) -> str:
    if not invisible:
        return ""
    if len(invisible) >= 0.9 * len(" ".join(text.split())):
        return (
            "\n[hidden: all the text on this page is drawn invisibly (no reader sees it): "
            "typical of a scanned page with an OCR text layer, or of hidden text]"
        )
    quote = invisible[:MAX_INVISIBLE_QUOTE] + ("…" if len(invisible) > MAX_INVISIBLE_QUOTE else "")
    return (
        "\n[hidden: some text on this page is drawn invisibly, so no reader of the PDF sees "
        f"it; it is included above. The invisible text: «{quote}» :hidden]"
    )


def _open_error(name: str, exc: Exception, password_given: bool) -> str:
    code = getattr(exc, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD and password_given:
        return f"{name} is password-protected and the password given is not right"
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return (
            f"{name} is password-protected: if the person gave its password, open it with "
            "open_file(path, password=...); otherwise ask for the password or an unprotected copy"
        )
    if code == pdfium_c.FPDF_ERR_FORMAT:
        return f"{name} is not a valid PDF (malformed or damaged): {exc}"
    return f"{name} could not be opened as a PDF: {exc}"
