"""Office documents, HTML and EPUB to markdown.

markitdown's own converters do DOCX (mammoth), PPTX (python-pptx), HTML and EPUB well;
they are called directly, skipping markitdown's file-type guessing (an ONNX model). ODT,
which markitdown 0.1.x does not read, gets a small reader of its own here.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path
from typing import Any

from specialists.file_surfer.confine import read_regular
from specialists.file_surfer.document import FileProblem
from specialists.file_surfer.hidden import (
    HIDDEN_CLOSE,
    HIDDEN_OPEN,
    mark_hidden_docx,
    mark_hidden_html,
)

MARKITDOWN_KINDS = {
    ".docx": "Word document",
    ".pptx": "PowerPoint presentation",
    ".html": "web page",
    ".htm": "web page",
    ".xhtml": "web page",
    ".epub": "e-book (EPUB)",
}


def markitdown_text(source: Path | bytes, suffix: str, name: str) -> str:
    """Convert with the markitdown converter for `suffix`; failures become FileProblem."""
    from markitdown import MissingDependencyException, StreamInfo
    from markitdown.converters import DocxConverter, EpubConverter, HtmlConverter, PptxConverter

    converters: dict[str, Any] = {
        ".docx": DocxConverter,
        ".pptx": PptxConverter,
        ".epub": EpubConverter,
    }
    converter = converters.get(suffix, HtmlConverter)()
    data = read_regular(source)
    info = StreamInfo(extension=suffix, filename=name)
    hidden = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. bs4's XMLParsedAsHTMLWarning on XHTML
            if suffix == ".docx":
                data, hidden = mark_hidden_docx(data)
            elif suffix == ".epub":
                converter._html_converter = _marked_html_converter()
            elif suffix != ".pptx":
                data, hidden = mark_hidden_html(data)
            result = converter.convert(io.BytesIO(data), info)
    except MissingDependencyException as exc:
        raise FileProblem(f"{name}: a converter library is missing ({exc})") from None
    except Exception as exc:  # a broken file can fail anywhere inside the converter
        raise FileProblem(_failure(name, suffix, data, exc)) from None
    text: str = result.markdown
    if hidden or HIDDEN_OPEN in text:
        text = HIDDEN_NOTE + text
    return text


HIDDEN_NOTE = (
    f"(This document has content a reader would not see; it is shown between "
    f"'{HIDDEN_OPEN.strip()}' and '{HIDDEN_CLOSE.strip()}'.)\n\n"
)


def _marked_html_converter() -> Any:
    """markitdown's HTML converter, marking hidden elements first (EPUB chapters)."""
    from markitdown.converters import HtmlConverter

    class MarkedHtmlConverter(HtmlConverter):
        def convert(self, file_stream: Any, stream_info: Any, **kwargs: Any) -> Any:
            data, _ = mark_hidden_html(file_stream.read())
            return super().convert(io.BytesIO(data), stream_info, **kwargs)

    return MarkedHtmlConverter()


def _failure(name: str, suffix: str, data: bytes, exc: Exception) -> str:
    kind = MARKITDOWN_KINDS.get(suffix, "document")
    message = f"{name} could not be read ({kind}, malformed?): {type(exc).__name__}: {exc}"
    if suffix == ".epub" and zipfile.is_zipfile(io.BytesIO(data)):
        members = zipfile.ZipFile(io.BytesIO(data)).namelist()
        listed = ", ".join(members[:12]) + (", …" if len(members) > 12 else "")
        message += (
            f". It is a ZIP archive of {len(members)} members; open one with "
            f"open_file(path, member=...). Members: {listed}"
        )
    return message


# --- ODT (OpenDocument text) ------------------------------------------------------------

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
}
MAX_CONTENT_XML = 64 * 1024 * 1024


def odt_text(source: Path | bytes, name: str) -> str:
    from defusedxml import ElementTree  # type: ignore[import-untyped]

    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with zipfile.ZipFile(stream) as odt:
            info = odt.getinfo("content.xml")
            if info.file_size > MAX_CONTENT_XML:
                raise FileProblem(f"{name}: its text (content.xml) is too large to read")
            root = ElementTree.fromstring(odt.read(info))
    except (zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError) as exc:
        raise FileProblem(f"{name} could not be read as an OpenDocument text: {exc}") from None
    body = root.find("office:body/office:text", _NS)
    if body is None:
        raise FileProblem(f"{name} has no text body (is it an OpenDocument text?)")
    return "\n\n".join(block for block in _blocks(body) if block.strip())


def _tag(element: Any, prefix: str, local: str) -> bool:
    return bool(element.tag == f"{{{_NS[prefix]}}}{local}")


def _blocks(parent: Any) -> list[str]:
    blocks: list[str] = []
    for child in parent:
        if _tag(child, "text", "h"):
            level = int(child.get(f"{{{_NS['text']}}}outline-level", "1"))
            blocks.append("#" * min(level, 6) + " " + _inline(child))
        elif _tag(child, "text", "p"):
            blocks.append(_inline(child))
        elif _tag(child, "text", "list"):
            items = child.findall("text:list-item", _NS)
            blocks.append("\n".join("- " + " ".join(_blocks(item)) for item in items))
        elif _tag(child, "table", "table"):
            blocks.append(_table(child))
        elif _tag(child, "text", "section"):
            blocks.extend(_blocks(child))
    return blocks


def _inline(element: Any) -> str:
    """A paragraph's text, with ODF's encoded spaces, tabs and line breaks restored."""
    parts = [element.text or ""]
    for child in element:
        if _tag(child, "text", "s"):
            parts.append(" " * int(child.get(f"{{{_NS['text']}}}c", "1")))
        elif _tag(child, "text", "tab"):
            parts.append("\t")
        elif _tag(child, "text", "line-break"):
            parts.append("\n")
        else:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _table(table: Any) -> str:
    rows = []
    for row in table.iter(f"{{{_NS['table']}}}table-row"):
        cells = [" ".join(_blocks(cell)) for cell in row.findall("table:table-cell", _NS)]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if rows:
        width = rows[0].count(" | ") + 1
        rows.insert(1, "| " + " | ".join(["---"] * width) + " |")
    return "\n".join(rows)
