"""SearXNG through its JSON API: `GET {base_url}/search?q=…&format=json`.

The instance must list `json` under `search.formats` in its settings.yml; an instance that
does not answers 403, and the error says so.
"""

from __future__ import annotations

from specialists.web_surfer.search.base import SearchResult, check_query
from specialists.web_surfer.search.jsonapi import JsonApi, field_list, text_of, url_of

_ADVICE = {
    403: "the instance may not allow the JSON format: add 'json' to search.formats in its "
    "settings.yml, or use provider 'browser' with engine 'searxng_html'",
    429: "the instance is rate limiting this client (its limiter): wait, or use your own instance",
}


class SearxngSearch:
    name = "searxng"

    def __init__(self, base_url: str, *, timeout: float) -> None:
        self._url = f"{base_url}/search"
        self._api = JsonApi("SearXNG", timeout=timeout, advice=_ADVICE)

    async def search(self, query: str, *, limit: int = 10) -> list[SearchResult]:
        query = check_query(query, limit)
        body = await self._api.get(
            self._url,
            params={"q": query, "format": "json", "pageno": 1},
            headers={"Accept": "application/json"},
        )
        results: list[SearchResult] = []
        for item in field_list(body, ("results",), "SearXNG"):
            url = url_of(item, "url")
            if url and all(r.url != url for r in results):
                results.append(
                    SearchResult(text_of(item, "title") or url, url, text_of(item, "content"))
                )
        return results[:limit]

    async def close(self) -> None:
        await self._api.close()
