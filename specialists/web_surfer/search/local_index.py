"""Search a local index: an SQLite FTS5 database built by `orchestrator index build`.

The index holds one row per page (URL, title, headings, body text), tokenized with the
porter stemmer over unicode61, ranked with BM25 (a title or heading hit weighs more than
a body hit, and a page named after the query counts double), with snippets cut by
SQLite's `snippet()`. It is opened read-only, and its schema version is checked so an old
file gets a "rebuild it" message, not a SQL error.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from specialists.web_surfer.search.base import SearchError, SearchResult, check_query

SCHEMA_VERSION = 1
# v1: meta(key, value) with schema_version, source, built_at, pages;
#     pages = fts5(url UNINDEXED, title, headings, body), porter over unicode61.
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIRTUAL TABLE pages USING fts5(
    url UNINDEXED, title, headings, body, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
# bm25 weights per column, in table order: url (unindexed), title, headings, body
_CANDIDATES = """
SELECT rowid, url, title, bm25(pages, 0.0, 10.0, 5.0, 1.0) AS score
FROM pages WHERE pages MATCH ? ORDER BY score LIMIT ?
"""
_SNIPPET = "SELECT snippet(pages, 3, '', '', '…', 32) FROM pages WHERE pages MATCH ? AND rowid = ?"
# A page whose file is named after words of the query (json.html for "json.dumps") is
# very likely the page meant: its score counts double. BM25 alone ranks long reference
# pages low (they say everything once) and short index pages high.
NAME_BOOST = 2.0
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+")


def fts_queries(query: str) -> tuple[str, str]:
    """The query as FTS5 expressions: all terms required, and any term (the fallback).

    Each whitespace-separated chunk (or "quoted phrase") becomes an FTS5 phrase of its
    words, so `json.dumps` matches the adjacent tokens json, dumps, and nothing the user
    typed is read as FTS5 syntax.
    """
    phrases = []
    for quoted, bare in _TERM.findall(query):
        words = _WORD.findall(quoted or bare)
        if words:
            phrases.append('"' + " ".join(words) + '"')
    return " AND ".join(phrases), " OR ".join(phrases)


def rebuild_advice(path: Path, *, again: bool = False) -> str:
    return f"build it{' again' if again else ''} with: orchestrator index build DIR_OR_URL --out {path}"


def open_index(path: Path) -> sqlite3.Connection:
    """A read-only connection to a checked index; SearchError if it is missing or foreign."""
    if not path.is_file():
        raise SearchError(f"no local search index at {path}: {rebuild_advice(path)}")
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SearchError(
            f"{path} is not a search index ({exc}): {rebuild_advice(path, again=True)}"
        ) from exc
    version = row[0] if row else "none"
    if version != str(SCHEMA_VERSION):
        db.close()
        raise SearchError(
            f"{path} has index schema version {version}, this program reads version "
            f"{SCHEMA_VERSION}: {rebuild_advice(path, again=True)}"
        )
    return db


def index_meta(db: sqlite3.Connection) -> dict[str, str]:
    """What the builder recorded: schema_version, source, built_at, pages."""
    return dict(db.execute("SELECT key, value FROM meta").fetchall())


def indexed_folder(path: Path) -> Path | None:
    """The folder an index was built from (its results are file:// URLs under it), or None
    for an index of a site, or one that cannot be read (searching it says why)."""
    try:
        db = open_index(path)
    except SearchError:
        return None
    try:
        source = index_meta(db).get("source", "")
    except sqlite3.Error:
        return None
    finally:
        db.close()
    parts = urlsplit(source)
    if parts.scheme != "file":
        return None
    folder = Path(unquote(parts.path)).resolve()
    return folder if folder.is_dir() else None


def search_index(db: sqlite3.Connection, query: str, limit: int) -> list[SearchResult]:
    """All-terms matches first; if there are none, pages matching any term."""
    match_all, match_any = fts_queries(query)
    if not match_all:
        raise SearchError(f"the query {query!r} has no words to search for")
    expression = match_all
    rows = db.execute(_CANDIDATES, (expression, max(limit * 5, 50))).fetchall()
    if not rows and match_any != match_all:
        expression = match_any
        rows = db.execute(_CANDIDATES, (expression, max(limit * 5, 50))).fetchall()
    words = {word.lower() for word in _WORD.findall(query)}
    rows.sort(key=lambda row: row[3] * (NAME_BOOST if _named_after(row[1], words) else 1.0))
    return [
        SearchResult(title or url, url, db.execute(_SNIPPET, (expression, rowid)).fetchone()[0])
        for rowid, url, title, _ in rows[:limit]
    ]


def _named_after(url: str, words: set[str]) -> bool:
    """The page's file name (its folder's for index.html) is made of query words only."""
    path = PurePosixPath(unquote(urlsplit(url).path))
    name = path.parent.name if path.stem == "index" else path.stem
    name_words = {word.lower() for word in _WORD.findall(name)}
    return bool(name_words) and name_words <= words


class LocalIndexSearch:
    name = "local"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()  # one connection, used from worker threads one at a time

    async def search(self, query: str, *, limit: int = 10) -> list[SearchResult]:
        query = check_query(query, limit)
        async with self._lock:
            return await asyncio.to_thread(self._search, query, limit)

    def _search(self, query: str, limit: int) -> list[SearchResult]:
        if self._db is None:
            self._db = open_index(self._path)
        try:
            return search_index(self._db, query, limit)
        except sqlite3.Error as exc:
            raise SearchError(f"the local index {self._path} failed the query: {exc}") from exc

    async def close(self) -> None:
        async with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
