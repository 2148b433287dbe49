"""Content a reader of the file would not see, marked so the model can weigh it.

A DOCX run with `<w:vanish/>` and an HTML element with `display: none`, `visibility:
hidden` or the `hidden` attribute are still converted (the text is real and may be what
is asked about, or an injected instruction), but between HIDDEN_OPEN and HIDDEN_CLOSE.
Both rewrite the source before the converter reads it, so the markers survive into
the markdown.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

HIDDEN_OPEN = "[hidden: "
HIDDEN_CLOSE = " :hidden]"
_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_OFF = ("0", "false", "off")
DOCX_PARTS = ("word/document.xml", "word/footnotes.xml", "word/endnotes.xml")


def mark_hidden_html(data: bytes) -> tuple[bytes, int]:
    """The page with each hidden element's text between the markers, and how many."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    found = 0
    for element in soup.find_all(_hides):
        if any(_hides(parent) for parent in element.parents):
            continue  # inside a hidden element already marked
        element.insert(0, HIDDEN_OPEN)
        element.append(HIDDEN_CLOSE)
        found += 1
    return (str(soup).encode("utf-8") if found else data), found


def _hides(element: Any) -> bool:
    attrs = getattr(element, "attrs", None)
    if not attrs:
        return False
    if "hidden" in attrs:
        return True
    return bool(_HIDING_STYLE.search(str(attrs.get("style", ""))))


def mark_hidden_docx(data: bytes) -> tuple[bytes, int]:
    """The DOCX with the text of hidden (`w:vanish`) runs between the markers."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {name: source.read(name) for name in DOCX_PARTS if name in source.namelist()}
        marked = {name: _mark_runs(xml) for name, xml in parts.items() if b"vanish" in xml}
        found = sum(count for _, count in marked.values())
        if not found:
            return data, 0
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename in marked:
                    target.writestr(info.filename, marked[info.filename][0])
                else:
                    target.writestr(info, source.read(info))
    return out.getvalue(), found


def _mark_runs(xml: bytes) -> tuple[bytes, int]:
    from lxml import etree  # type: ignore[import-untyped]

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(xml, parser)
    found = 0
    for run in root.iter(f"{{{_W}}}r"):
        if not _vanished(run):
            continue
        texts = run.findall(f"{{{_W}}}t")
        if not texts:
            continue
        before, after = run.getprevious(), run.getnext()
        if before is None or not _vanished(before):
            texts[0].text = HIDDEN_OPEN + (texts[0].text or "")
            found += 1
        if after is None or not _vanished(after):
            texts[-1].text = (texts[-1].text or "") + HIDDEN_CLOSE
        for text in texts:  # keep the markers' spaces
            text.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True), found


def _vanished(run: Any) -> bool:
    if run.tag != f"{{{_W}}}r":
        return False
    vanish = run.find(f"{{{_W}}}rPr/{{{_W}}}vanish")
    return vanish is not None and vanish.get(f"{{{_W}}}val", "1").lower() not in _OFF
