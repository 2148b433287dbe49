"""Search providers for the web surfer, behind one protocol and chosen in config.

`browser` (the default, no key) drives a search engine's page in the run's browser;
`searxng` and `brave` call those JSON APIs; `local` searches an SQLite FTS5 index built
offline by `orchestrator index build` over a folder or a local site.

    provider = create_provider(SearchSettings.model_validate(raw), open_page=..., environ=os.environ)
    results = await provider.search("json.dumps", limit=5)
"""

from __future__ import annotations

from collections.abc import Mapping

from specialists.web_surfer.search.base import (
    PageOpener,
    SearchError,
    SearchProvider,
    SearchResult,
)
from specialists.web_surfer.search.brave import BraveSearch, api_key
from specialists.web_surfer.search.browser import BrowserSearch
from specialists.web_surfer.search.local_index import LocalIndexSearch
from specialists.web_surfer.search.searxng import SearxngSearch
from specialists.web_surfer.search.settings import BRAVE_API, SearchSettings

__all__ = [
    "PageOpener",
    "SearchError",
    "SearchProvider",
    "SearchResult",
    "SearchSettings",
    "create_provider",
]


def create_provider(
    settings: SearchSettings, *, open_page: PageOpener, environ: Mapping[str, str]
) -> SearchProvider:
    """The configured provider. Raises SearchError for what settings alone cannot catch
    (a missing API key). Nothing is opened yet: connections and the index open on first use.
    """
    timeout = settings.timeout_seconds
    if settings.provider == "searxng":
        assert settings.base_url is not None  # the settings validator requires it
        return SearxngSearch(settings.base_url, timeout=timeout)
    if settings.provider == "brave":
        key = api_key(environ, settings.api_key_env)
        return BraveSearch(settings.base_url or BRAVE_API, key, timeout=timeout)
    if settings.provider == "local":
        return LocalIndexSearch(settings.index)
    return BrowserSearch(
        settings.browser_engine(), open_page, base_url=settings.base_url, timeout=timeout
    )
