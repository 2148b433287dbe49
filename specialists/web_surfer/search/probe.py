"""A health check of the configured search, for `orchestrator doctor`.

One line saying what search will use, or a SearchError saying what is wrong: the key is
missing, the index was never built, the SearXNG instance does not answer. The browser
provider is not exercised (that needs the run's browser); its engine is named.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from specialists.web_surfer.search.brave import api_key
from specialists.web_surfer.search.local_index import index_meta, open_index
from specialists.web_surfer.search.searxng import SearxngSearch
from specialists.web_surfer.search.settings import SearchSettings


async def check_search(settings: SearchSettings, environ: Mapping[str, str]) -> str:
    """What search will use, in one line; SearchError if it would not work."""
    if settings.provider == "brave":
        api_key(environ, settings.api_key_env)
        return f"Brave Search API, key from ${settings.api_key_env} (not called, to save quota)"
    if settings.provider == "local":
        return await asyncio.to_thread(_describe_index, settings.index)
    if settings.provider == "searxng":
        assert settings.base_url is not None  # the settings require it
        provider = SearxngSearch(settings.base_url, timeout=settings.timeout_seconds)
        try:
            results = await provider.search("python", limit=3)
        finally:
            await provider.close()
        plural = "" if len(results) == 1 else "s"
        return f"SearXNG at {settings.base_url}: answered with {len(results)} result{plural}"
    engine = settings.browser_engine()
    return f"the browser on {engine.name} ({engine.url_template}); no key needed"


def _describe_index(path: Path) -> str:
    db = open_index(path)
    try:
        meta = index_meta(db)
    finally:
        db.close()
    return (
        f"local index {path}: {meta.get('pages', '?')} pages from {meta.get('source', '?')}, "
        f"built {meta.get('built_at', '?')}"
    )
