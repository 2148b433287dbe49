"""Documents for the local index: title, headings and body text from HTML, Markdown, text, PDF.

HTML keeps its main content only (navigation, headers, footers, scripts dropped) and also
yields its links, which the crawler follows. A page that asks not to be indexed
(`<meta name="robots" content="noindex">`, e.g. a site's own search page) gives no document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup, Tag

MAX_BODY_CHARS = 1_000_000  # a huge page is cut: its start says what it is about

# Tag and attribute lookups with find_all, not CSS selectors: soupsieve took over half
# of the build time on the Python docs.
# fmt: off
_DROP_TAGS = [
    "script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside",
    "form", "iframe",
]
_DROP_ROLES = ["navigation", "banner", "contentinfo", "search"]
_MAIN: tuple[dict[str, Any], ...] = (
    {"name": "main"}, {"attrs": {"role": "main"}}, {"name": "article"}, {"id": "content"},
    {"id": "main"},
)
_BLOCKS = [
    "p", "div", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "pre",
    "br", "section", "blockquote", "table", "figcaption", "caption",
]
_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6", "dt"]  # dt: API signatures in reference docs
# fmt: on
_SPACE = re.compile(r"\s+")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"[*_`>#|~]+|<[^>]+>")


@dataclass(frozen=True)
class Document:
    url: str
    title: str
    headings: str
    body: str


@dataclass(frozen=True)
class HtmlPage:
    document: Document | None  # None: the page asked not to be indexed
    links: tuple[str, ...]  # hrefs as written in the page, in order


def flat(text: str, limit: int = MAX_BODY_CHARS) -> str:
    return _SPACE.sub(" ", text.replace("¶", " ")).strip()[:limit]


def name_of(url: str) -> str:
    """A fallback title: the last path segment of a URL, e.g. 'guide.pdf'."""
    path = unquote(urlsplit(url).path).rstrip("/")
    return PurePosixPath(path).name or url


def html_page(html: str | bytes, url: str) -> HtmlPage:
    soup = BeautifulSoup(html, "lxml")
    links = tuple(href for a in soup.find_all("a", href=True) if isinstance(href := a["href"], str))
    if _noindex(soup):
        return HtmlPage(None, links)
    title = flat(soup.title.get_text(" "), 300) if soup.title else ""
    main = _main(soup)
    _drop_chrome(main)
    headings = " | ".join(flat(h.get_text(), 300) for h in main.find_all(_HEADINGS))
    for block in main.find_all(_BLOCKS):
        block.append("\n")  # keep words of adjacent blocks apart; inline text stays joined
    body = flat(main.get_text())
    if not title:
        first = main.find("h1")
        title = flat(first.get_text(" "), 300) if first else name_of(url)
    return HtmlPage(Document(url, title, flat(headings), body), links)


def _noindex(soup: BeautifulSoup) -> bool:
    for meta in soup.find_all("meta"):
        name, content = str(meta.get("name") or ""), str(meta.get("content") or "")
        if name.lower() == "robots" and "noindex" in content.lower():
            return True
    return False


def _main(soup: BeautifulSoup) -> Tag:
    for query in _MAIN:
        found = soup.find(**query)
        if isinstance(found, Tag):
            return found
    return soup.body or soup


def _drop_chrome(main: Tag) -> None:
    """Remove what is not content: scripts, navigation, page header and footer, hidden parts."""
    chrome = [
        *main.find_all(_DROP_TAGS),
        *main.find_all(None, {"role": _DROP_ROLES}),
        *main.find_all(None, {"aria-hidden": "true"}),
    ]
    for element in chrome:
        if not element.decomposed:
            element.decompose()


def markdown_document(text: str, url: str) -> Document:
    headings = _MD_HEADING.findall(text)
    title = flat(headings[0], 300) if headings else name_of(url)
    body = _MD_MARKS.sub(" ", _MD_LINK.sub(r"\1", text))
    return Document(url, title, flat(" | ".join(headings)), flat(body))


def text_document(text: str, url: str) -> Document:
    return Document(url, name_of(url), "", flat(text))


def pdf_document(data: bytes, url: str) -> Document:
    """All pages' text; the PDF's Title metadata, or its file name, as the title.

    Raises ValueError for a PDF that cannot be read (damaged, encrypted).
    """
    import pypdfium2  # type: ignore[import-untyped]

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise ValueError(f"unreadable PDF: {exc}") from exc
    try:
        title = flat(pdf.get_metadata_dict().get("Title", ""), 300)
        parts: list[str] = []
        size = 0
        for page in pdf:
            textpage = page.get_textpage()
            parts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
            size += len(parts[-1])
            if size >= MAX_BODY_CHARS:
                break
    finally:
        pdf.close()
    return Document(url, title or name_of(url), "", flat("\n".join(parts)))
