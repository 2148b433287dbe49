"""Build a local search index from a folder of HTML, Markdown, text and PDF files.

The index is written to a temporary file next to the target and renamed over it only
when complete, so a reader never sees half an index and a failed build keeps the old one.
Pages with the same body (a site's `/` and `/index.html`) are stored once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import functools
import hashlib
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from specialists.web_surfer.search.extract import (
    Document,
    html_page,
    markdown_document,
    pdf_document,
    text_document,
)
from specialists.web_surfer.search.local_index import SCHEMA, SCHEMA_VERSION

Progress = Callable[[int, str], None]  # (pages indexed so far, the URL just handled)

KINDS = {
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".rst": "text",
    ".pdf": "pdf",
}
# Folders that hold copies or build artefacts rather than pages (Sphinx keeps each page's
# source in _sources/, which would compete with the page itself).
DEFAULT_EXCLUDES = (".*", "_sources", "_static", "node_modules", "__pycache__")


MIN_FILES_PER_JOB = 25  # below this, starting a process costs more than it saves


class BuildError(Exception):
    """An index that cannot be built. `str()` is one line: what failed and what to do."""


@dataclass(frozen=True)
class BuildReport:
    source: str
    out: Path
    pages: int
    duplicates: int
    skipped: tuple[tuple[str, str], ...]  # (where, why)
    seconds: float
    size_bytes: int


class IndexWriter:
    """Collects documents into a fresh index; `finish()` puts it in place atomically."""

    def __init__(self, out: Path, source: str) -> None:
        self._out = out
        self._source = source
        self._tmp = out.with_name(out.name + ".building")
        self.pages = 0
        self._duplicates = 0
        self._skipped: list[tuple[str, str]] = []
        self._seen: set[str] = set()
        self._started = time.perf_counter()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            self._tmp.unlink(missing_ok=True)
            self._db = sqlite3.connect(self._tmp)
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise BuildError(f"cannot write the index {out}: {exc}") from exc

    def add(self, doc: Document) -> bool:
        """Store one document; False for an empty or duplicate one."""
        if not doc.body:
            self.skip(doc.url, "no text (for a PDF: scanned pages?)")
            return False
        digest = hashlib.blake2b(doc.body.encode(), digest_size=16).hexdigest()
        if digest in self._seen:
            self._duplicates += 1
            return False
        self._seen.add(digest)
        self._db.execute(
            "INSERT INTO pages (url, title, headings, body) VALUES (?, ?, ?, ?)",
            (doc.url, doc.title, doc.headings, doc.body),
        )
        self.pages += 1
        return True

    def skip(self, where: str, why: str) -> None:
        self._skipped.append((where, why))

    def finish(self) -> BuildReport:
        meta = {
            "schema_version": str(SCHEMA_VERSION),
            "source": self._source,
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "pages": str(self.pages),
        }
        self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
        self._db.execute("INSERT INTO pages (pages) VALUES ('optimize')")  # merge FTS segments
        self._db.commit()
        self._db.close()
        os.replace(self._tmp, self._out)  # atomic: readers see the old index or the new one
        return BuildReport(
            source=self._source,
            out=self._out,
            pages=self.pages,
            duplicates=self._duplicates,
            skipped=tuple(self._skipped),
            seconds=time.perf_counter() - self._started,
            size_bytes=self._out.stat().st_size,
        )

    def abandon(self) -> None:
        self._db.close()
        self._tmp.unlink(missing_ok=True)


def build_from_folder(
    root: Path,
    out: Path,
    *,
    exclude: Sequence[str] = DEFAULT_EXCLUDES,
    jobs: int = 1,
    progress: Progress | None = None,
) -> BuildReport:
    """Index every HTML, Markdown, text and PDF file under `root` (file:// URLs).

    With `jobs` > 1 and enough files to be worth starting processes for, the files are
    read and parsed in up to `jobs` worker processes (parsing is nearly all of the time);
    the index itself is written here, in file order.
    """
    if not root.is_dir():
        raise BuildError(
            f"{root} is not a folder: give a folder of HTML, Markdown, text or PDF files, or an http(s) URL"
        )
    root = root.absolute()
    paths = list(iter_files(root, exclude))
    writer = IndexWriter(out, root.as_uri())
    try:
        with _mapper(min(jobs, len(paths) // MIN_FILES_PER_JOB)) as read_all:
            for path, outcome in zip(paths, read_all(read_outcome, paths), strict=True):
                if isinstance(outcome, str):
                    writer.skip(path.as_uri(), outcome)
                elif writer.add(outcome) and progress is not None:
                    progress(writer.pages, outcome.url)
    except BaseException:
        writer.abandon()
        raise
    return writer.finish()


Mapper = Callable[[Callable[[Path], Document | str], Sequence[Path]], Iterable[Document | str]]


@contextlib.contextmanager
def _mapper(jobs: int) -> Iterator[Mapper]:
    if jobs <= 1:
        yield map
        return
    # spawn, not fork: the caller may have threads (an event loop, a server)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        yield functools.partial(pool.map, chunksize=4)


def read_outcome(path: Path) -> Document | str:
    """The document in a file, or why it was skipped."""
    try:
        doc = read_document(path, path.as_uri())
    except (OSError, ValueError) as exc:
        return str(exc)
    return doc if doc is not None else "asks not to be indexed (robots noindex)"


def iter_files(root: Path, exclude: Sequence[str]) -> Iterator[Path]:
    """Indexable files under root in a stable order, skipping excluded folders and files.

    A pattern matches a file or folder name (`_static`) or a path relative to root
    (`whatsnew/*`). Symlinked folders are not followed (no loops, no escape from root).
    """
    for folder, dirs, files in os.walk(root):
        rel_folder = Path(folder).relative_to(root)
        dirs[:] = sorted(d for d in dirs if not _excluded(rel_folder / d, exclude))
        for name in sorted(files):
            rel = rel_folder / name
            if Path(name).suffix.lower() in KINDS and not _excluded(rel, exclude):
                yield root / rel


def _excluded(rel: Path, patterns: Sequence[str]) -> bool:
    text = rel.as_posix()
    return any(fnmatch.fnmatch(rel.name, p) or fnmatch.fnmatch(text, p) for p in patterns)


def read_document(path: Path, url: str) -> Document | None:
    """The document in one file, by its suffix; None if the page asks not to be indexed."""
    kind = KINDS[path.suffix.lower()]
    if kind == "pdf":
        return pdf_document(path.read_bytes(), url)
    if kind == "html":
        return html_page(path.read_bytes(), url).document
    text = path.read_text(encoding="utf-8", errors="replace")
    return markdown_document(text, url) if kind == "markdown" else text_document(text, url)
