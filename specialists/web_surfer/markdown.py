"""A page as paged markdown: main content first, links as numbered references.

BeautifulSoup (lxml) picks the main content (`main`, `[role=main]`, `article`, ...; the
whole body if none is substantial), drops scripts, styles and navigation, and replaces
every link by its text and a reference number; markdownify does the rest. Long text is
cut into parts at paragraph boundaries, each with a marker that says what was cut and
how to get the next part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

from bs4 import BeautifulSoup, Tag
from markdownify import markdownify

MAIN_SELECTORS = ("main", "[role=main]", "article", "#main-content", "#content", "#main")
NOISE = (
    "script, style, noscript, template, svg, canvas, iframe, object, embed, nav, "
    "[role=navigation], [aria-hidden=true], [hidden]"
)
# Page furniture that only matters when we had to fall back to the whole body.
FURNITURE = "header, footer, aside, [role=banner], [role=contentinfo], [role=complementary]"
MIN_MAIN_CHARS = 200


@dataclass(frozen=True)
class PageMarkdown:
    title: str
    text: str
    links: tuple[str, ...]
    main_found: bool


def _main_content(soup: BeautifulSoup) -> tuple[Tag, bool]:
    for selector in MAIN_SELECTORS:
        found = soup.select_one(selector)
        if found is not None and len(found.get_text(strip=True)) >= MIN_MAIN_CHARS:
            return found, True
    body = soup.body or soup
    for furniture in body.select(FURNITURE):
        furniture.decompose()
    return body, False


def _number_links(content: Tag, base_url: str) -> list[str]:
    """Replace each link by `text [n]`; return the absolute URLs in order."""
    page, _ = urldefrag(base_url)
    links: list[str] = []
    numbers: dict[str, int] = {}
    for anchor in content.select("a[href]"):
        href = str(anchor.get("href", "")).strip()
        label = anchor.get_text(" ", strip=True)
        target = urljoin(base_url, href)
        if not label or (len(label) == 1 and not label.isalnum()):
            anchor.decompose()  # permalink marks (¶) and empty links add nothing to read
            continue
        if href.startswith(("javascript:", "#")) or urldefrag(target)[0] == page:
            anchor.unwrap()  # in-page anchors and scripts: text only
            continue
        if target not in numbers:
            links.append(target)
            numbers[target] = len(links)
        anchor.replace_with(f"{label} [{numbers[target]}]")
    return links


def html_to_markdown(html: str, base_url: str) -> PageMarkdown:
    soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for noise in soup.select(NOISE):
        noise.decompose()
    content, main_found = _main_content(soup)
    for emphasis in content.select("dt em, dt i, code em, pre em"):
        emphasis.unwrap()  # API signatures: `f(obj, *, key=None)`, not `f(*obj*, ***, ...)`
    links = _number_links(content, base_url)
    text = markdownify(
        str(content),
        heading_style="ATX",
        bullets="-",
        escape_asterisks=False,
        escape_underscores=False,
        strip=["img"],
    )
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if links:
        text += "\n\nLinks:\n" + "\n".join(f"[{i}]: {url}" for i, url in enumerate(links, 1))
    return PageMarkdown(title, text, tuple(links), main_found)


def split_parts(text: str, size: int) -> list[str]:
    """Cut `text` into parts of at most `size` characters, at blank lines where possible."""
    parts: list[str] = []
    current = ""
    for block in re.split(r"(?<=\n\n)", text):
        while len(block) > size:  # a block longer than a part: cut at a line, then hard
            cut = block.rfind("\n", 0, size)
            cut = cut if cut > size // 2 else size
            if current:
                parts.append(current)
                current = ""
            parts.append(block[:cut])
            block = block[cut:]
        if len(current) + len(block) > size and current:
            parts.append(current)
            current = ""
        current += block
    if current or not parts:
        parts.append(current)
    return [p.strip("\n") for p in parts]


def render_part(parts: list[str], number: int, what: str = "page") -> str:
    """Part `number` (1-based) with markers saying what was cut and how to read on."""
    total = len(parts)
    if not 1 <= number <= total:
        raise ValueError(f"part {number} does not exist; the {what} has parts 1 to {total}")
    before = sum(len(p) for p in parts[: number - 1])
    after = sum(len(p) for p in parts[number:])
    overall = before + len(parts[number - 1]) + after
    header = f"[{what}, part {number} of {total}: characters {before + 1:,}-{before + len(parts[number - 1]):,} of {overall:,}]"
    if number == total:
        footer = f"[end of the {what}]"
    else:
        footer = (
            f"[… cut here: {after:,} more characters in parts {number + 1}-{total}; "
            f"call read_page with part={number + 1} for the next part]"
        )
    return f"{header}\n{parts[number - 1]}\n{footer}"
