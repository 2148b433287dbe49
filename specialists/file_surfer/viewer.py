"""The reader's state and every tool's behaviour: open, page, find, look around.

One Viewer per file surfer: the open document, the current page and the last search.
Every result begins with where the reader is (`report.pdf — page 3 of 40`); a refused
or failed action leaves the state as it was and says so. File content is wrapped in
<untrusted_file_content> tags so the model treats it as data, not instructions.
Every result is cut at `max_result_chars` with a note saying so, and any lone surrogate
left in it is escaped, so no file can make a model request unsendable.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from specialists.file_surfer import archive, folders
from specialists.file_surfer.bounded import WORKER
from specialists.file_surfer.confine import PathRefused, Roots, regular_file
from specialists.file_surfer.convert import Limits, open_document
from specialists.file_surfer.document import MEMBER_SEP, Document, FileProblem
from specialists.file_surfer.names import encodable, shown
from specialists.file_surfer.settings import FileSurferSettings

MAX_HITS = 1000
SNIPPET = 80  # characters of context on each side of a match
TAG = "untrusted_file_content"


@dataclass(frozen=True)
class Opened:
    """Where the open document came from, so a resumed run can open it again."""

    path: str  # real path
    member: str | None
    password: bool  # it needed one (never kept)
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Search:
    query: str
    hits: tuple[tuple[int, int], ...]  # (page, offset in the page's whitespace-collapsed text)
    current: int  # index into hits


def untrusted(source: str, body: str, page: int | None = None) -> str:
    """File content fenced off for the model; a closing tag inside it is defused."""
    body = body.replace(f"</{TAG}", f"<\\/{TAG}")
    where = f' page="{page}"' if page is not None else ""
    source = source.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'<{TAG} source="{source}"{where}>\n{body}\n</{TAG}>'


def capped(result: str, limit: int) -> str:
    """`result` cut at `limit` characters with a note saying how much was cut; a fence the
    cut leaves open is closed first, so the note is not taken for file content."""
    result = encodable(result)
    if len(result) <= limit:
        return result
    kept = result[:limit]
    if kept.rfind(f"<{TAG}") > kept.rfind(f"</{TAG}>"):
        kept += f"\n</{TAG}>"
    return (
        f"{kept}\n[… {len(result) - limit} more characters of this result are not shown: "
        f"it was cut at {limit} characters; narrow the request]"
    )


def _opened(real: Path, member: str | None, password: str | None) -> Opened:
    try:
        info = real.stat()
        size, mtime = info.st_size, info.st_mtime_ns
    except OSError:
        size, mtime = -1, -1
    return Opened(str(real), member or None, password is not None, size, mtime)


def _collapse(text: str) -> str:
    return " ".join(text.split())


class Viewer:
    def __init__(self, roots: Roots, settings: FileSurferSettings) -> None:
        self.roots = roots
        self.settings = settings
        self.document: Document | None = None
        self.page = 0
        self.search: Search | None = None
        self.opened: Opened | None = None
        # Why the latest action could not be done (reset by `tools.run`), for the record.
        self.failure: tuple[Literal["failed", "refused"], str] | None = None
        WORKER.warm_up()

    # --- where the reader is ---------------------------------------------------------

    def location(self) -> str:
        if self.document is None:
            return "no file open"
        return f"{self.document.name} — page {self.page} of {self.document.page_count}"

    def _result(self, body: str) -> str:
        return capped(f"{self.location()}\n{body}", self.settings.max_result_chars)

    def _failed(self, body: str, problem: Literal["failed", "refused"] = "failed") -> str:
        """A result saying the action could not be done; remembered in `failure`."""
        self.failure = (problem, body)
        return self._result(body)

    def _show(self, note: str = "") -> str:
        assert self.document is not None
        text = self.document.page(self.page)
        fenced = untrusted(self.document.name, text, self.page)
        return self._result((note + "\n" if note else "") + fenced)

    # --- opening -----------------------------------------------------------------------

    def open(self, path: str, member: str | None = None, password: str | None = None) -> str:
        try:
            document = self._load(path, member, password)
        except PathRefused as exc:
            return self._failed(f"Not opened: {exc}", "refused")
        except FileProblem as exc:
            return self._failed(f"Not opened: {exc}")
        except OSError as exc:
            why = exc.strerror or exc
            return self._failed(f"Not opened: '{shown(path)}' could not be read ({why})")
        self.close()
        self.document, self.page = document, 1
        self.opened = _opened(self.roots.resolve(path), member, password)
        pages = document.page_count
        note = f"Opened {document.name} ({document.kind}, {pages} page{'s' if pages > 1 else ''})."
        return self._show(note)

    def _load(self, path: str, member: str | None, password: str | None) -> Document:
        real = self.roots.resolve(path)
        name = self.roots.display(real)
        if not real.exists() and self._exists_stripped(path):
            raise FileProblem(
                f"no such file '{name}' (the name given has spaces at an end; "
                f"'{shown(path.strip())}' exists)"
            )
        regular_file(real, name)  # by stat, before anything opens it
        settings = self.settings
        limits = Limits(
            settings.convert_seconds, settings.convert_memory_mb, settings.max_unpacked_bytes
        )
        limit, page_chars = settings.max_file_bytes, settings.page_chars
        if not member:
            return open_document(real, name, page_chars, limit, password=password, limits=limits)
        if not zipfile.is_zipfile(real):
            raise FileProblem(
                f"'{name}' is not a ZIP archive, so it has no member '{shown(member)}'"
            )
        data = archive.read_member(real, name, member, limit)
        where = f"{name}{MEMBER_SEP}{shown(member)}"
        return open_document(data, where, page_chars, limit, password=password, limits=limits)

    def _exists_stripped(self, path: str) -> bool:
        """Whether `path` names nothing but would without the spaces at its ends."""
        if path == path.strip() or not path.strip():
            return False
        try:
            return self.roots.resolve(path.strip()).exists()
        except PathRefused:
            return False

    def close(self) -> None:
        if self.document is not None:
            self.document.close()
        self.document, self.page, self.search, self.opened = None, 0, None, None

    def reopen(self, opened: Opened, page: int) -> list[str]:
        """Open a saved document again at its page (a resumed run); what went wrong."""
        if opened.password:
            return [f"'{shown(opened.path)}' needs a password, which is never saved; open it again"]
        result = self.open(opened.path, opened.member)
        if self.document is None:
            return [result.partition("\n")[2] or result]
        said = []
        now = self.opened
        if now is not None and (now.size, now.mtime_ns) != (opened.size, opened.mtime_ns):
            said.append(f"{self.document.name} has changed since; its pages may differ")
        count = self.document.page_count
        if 1 <= page <= count:
            self.page = page
        else:
            said.append(f"{self.document.name} has no page {page} any more (it has {count})")
        return said

    # --- moving ------------------------------------------------------------------------

    def go_to_page(self, page: int) -> str:
        if self.document is None:
            return self._failed("No file is open: use open_file first.")
        count = self.document.page_count
        if not 1 <= page <= count:
            return self._failed(f"There is no page {page}: pages run from 1 to {count}.")
        self.page = page
        return self._show()

    def page_down(self) -> str:
        if self.document is not None and self.page >= self.document.page_count:
            return self._failed("Already on the last page.")
        return self.go_to_page(self.page + 1)

    def page_up(self) -> str:
        if self.document is not None and self.page <= 1:
            return self._failed("Already on the first page.")
        return self.go_to_page(self.page - 1)

    # --- finding -------------------------------------------------------------------------

    def find(self, text: str) -> str:
        if self.document is None:
            return self._failed("No file is open: use open_file first (or find_files for names).")
        query = _collapse(text).lower()
        if not query:
            return self._failed("Nothing to find: give some text.")
        hits = self._hits(self.document, query)
        if not hits:
            pages = self.document.page_count
            return self._result(
                f"'{shown(text)}' was not found in {self.document.name} ({pages} pages)."
            )
        first = next((i for i, (page, _) in enumerate(hits) if page >= self.page), 0)
        self.search = Search(query, hits, first)
        return self._show_hit()

    def find_next(self) -> str:
        if self.search is None or self.document is None:
            return self._failed("No search to continue: use find first.")
        current = (self.search.current + 1) % len(self.search.hits)
        self.search = Search(self.search.query, self.search.hits, current)
        return self._show_hit()

    def _hits(self, document: Document, query: str) -> tuple[tuple[int, int], ...]:
        hits: list[tuple[int, int]] = []
        for page in range(1, document.page_count + 1):
            text = _collapse(document.page(page)).lower()
            start = text.find(query)
            while start >= 0 and len(hits) < MAX_HITS:
                hits.append((page, start))
                start = text.find(query, start + len(query))
        return tuple(hits)

    def _show_hit(self) -> str:
        assert self.search is not None
        assert self.document is not None
        search = self.search
        page, offset = search.hits[search.current]
        self.page = page
        text = _collapse(self.document.page(page))
        before = text[max(0, offset - SNIPPET) : offset]
        match = text[offset : offset + len(search.query)]
        after = text[offset + len(search.query) : offset + len(search.query) + SNIPPET]
        pages = sorted({p for p, _ in search.hits})
        listed = ", ".join(map(str, pages[:20])) + (", …" if len(pages) > 20 else "")
        more = " (the search stopped at 1000 matches)" if len(search.hits) >= MAX_HITS else ""
        note = (
            f"Match {search.current + 1} of {len(search.hits)} for '{search.query}'{more}; "
            f"pages with matches: {listed}.\n"
            f"Context: …{before}[[{match}]]{after}…"
        )
        return self._show(note)

    # --- looking around ------------------------------------------------------------------

    def list_folder(self, path: str) -> str:
        return self._around(
            lambda: folders.list_folder(self.roots, path, self.settings.max_listing)
        )

    def find_files(self, pattern: str, folder: str) -> str:
        return self._around(
            lambda: folders.find_files(self.roots, pattern, folder, self.settings.max_listing)
        )

    def file_info(self, path: str) -> str:
        return self._around(lambda: folders.file_info(self.roots, path))

    def _around(self, look: Callable[[], str]) -> str:
        try:
            return self._result(untrusted("file system", look()))
        except PathRefused as exc:
            return self._failed(f"Refused: {exc}", "refused")
        except OSError as exc:
            return self._failed(f"Could not look there: {exc.strerror or exc}")

    def workspace_summary(self, limit: int = 30) -> str:
        """The workspace's top-level names, for the first prompt of a step."""
        try:
            names = sorted(
                shown(p.name) + ("/" if p.is_dir() else "") for p in self.roots.home.iterdir()
            )
        except OSError:
            return "(the workspace cannot be listed)"
        listed = ", ".join(names[:limit]) + (
            f", … ({len(names)} in all)" if len(names) > limit else ""
        )
        return listed or "(empty)"
