"""The `search` action's side of the search-provider contract.

The providers live in `specialists.web_surfer.search` (built separately); they are
imported only when the first search runs, so this package works without them. Results
are shown as a numbered markdown list inside the untrusted-content fence, for the model
to visit one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from playwright.async_api import Page
from pydantic import ValidationError

from specialists.models.structured import describe
from specialists.web_surfer.driver import ActionError
from specialists.web_surfer.observe import fence

PageOpener = Callable[[], Awaitable[Page]]
RESULTS = 10


class Result(Protocol):
    title: str
    url: str
    snippet: str


class Provider(Protocol):
    name: str

    async def search(self, query: str, *, limit: int = 10) -> list[Any]: ...

    async def close(self) -> None: ...


# (raw settings, page opener, environment) → provider; the default imports the package.
SearchFactory = Callable[[Mapping[str, Any], PageOpener, Mapping[str, str]], Provider]


def default_factory(
    raw: Mapping[str, Any], open_page: PageOpener, environ: Mapping[str, str]
) -> Provider:
    try:
        from specialists.web_surfer.search import SearchSettings, create_provider
    except ImportError as exc:
        raise ActionError(f"search is not available here ({exc}); use visit_url") from None
    try:
        settings = SearchSettings.model_validate(dict(raw))
    except ValidationError as exc:
        raise ActionError(f"specialists.web_surfer.search: {describe(exc)}") from None
    try:
        provider: Provider = create_provider(settings, open_page=open_page, environ=environ)
    except Exception as exc:  # e.g. SearchError: a missing API key, said in one line
        raise ActionError(f"search is not available: {exc}") from None
    return provider


def index_file_roots(raw: Mapping[str, Any]) -> tuple[Path, ...]:
    """The folder a `local` index was built from: its results are file:// URLs there, so
    the surfer may open files under it. Nothing for other providers or a site's index."""
    if raw.get("provider") != "local":
        return ()
    try:
        from specialists.web_surfer.search import SearchSettings
        from specialists.web_surfer.search.local_index import indexed_folder

        settings = SearchSettings.model_validate(dict(raw))
    except (ImportError, ValidationError):
        return ()  # the first search says what is wrong
    folder = indexed_folder(settings.index)
    return () if folder is None else (folder,)


def render_results(query: str, provider: str, results: list[Any]) -> str:
    if not results:
        return f"no results for {query!r} (from {provider}); try other words"
    lines = [f"Search results for {query!r} (from {provider}):"]
    for number, result in enumerate(results, 1):
        lines.append(f"{number}. [{result.title}]({result.url})")
        if result.snippet:
            lines.append(f"   {result.snippet}")
    return fence("\n".join(lines)) + "\nOpen one with visit_url."


class SearchBox:
    def __init__(
        self,
        raw: Mapping[str, Any],
        open_page: PageOpener,
        environ: Mapping[str, str],
        *,
        factory: SearchFactory | None = None,
    ) -> None:
        self._raw = raw
        self._open_page = open_page
        self._environ = environ
        self._factory = factory or default_factory
        self._provider: Provider | None = None

    async def run(self, query: str) -> str:
        if self._provider is None:
            self._provider = self._factory(self._raw, self._open_page, self._environ)
        try:
            results = await self._provider.search(query, limit=RESULTS)
        except ActionError:
            raise
        except Exception as exc:  # a provider's failure is the model's information
            raise ActionError(f"search failed ({self._provider.name}): {exc}") from None
        return render_results(query, self._provider.name, results)

    async def close(self) -> None:
        provider, self._provider = self._provider, None
        if provider is not None:
            await provider.close()
