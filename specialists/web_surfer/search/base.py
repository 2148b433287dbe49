"""What every search provider speaks: the result type, the protocol and the one error class.

A provider turns a query into a short list of results. Everything that goes wrong on the
way (a missing key, a refused request, a captcha, an index that was never built) is a
`SearchError` whose message is one line: what failed and what to do about it. The web
surfer shows that line to its model as the outcome of the search action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # Playwright is only needed by the browser provider, and only for typing here
    import playwright.async_api


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    snippet: str


@runtime_checkable
class SearchProvider(Protocol):
    name: str

    async def search(self, query: str, *, limit: int = 10) -> list[SearchResult]: ...

    async def close(self) -> None: ...


PageOpener = Callable[[], Awaitable["playwright.async_api.Page"]]
"""Opens a new page in the run's browser context; the provider closes it when done."""


class SearchError(Exception):
    """A search that could not be done. `str()` is one line saying what to do next."""


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace and cap the length: error messages quote untrusted text."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def check_query(query: str, limit: int) -> str:
    """The query stripped, or a SearchError for an empty query or a limit below one."""
    cleaned = query.strip()
    if not cleaned:
        raise SearchError("the search query is empty: say what to search for")
    if limit < 1:
        raise SearchError(f"the result limit must be at least 1, not {limit}")
    return cleaned
