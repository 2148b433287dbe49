"""Brave Search API: `GET {base_url}/res/v1/web/search?q=…` with an `X-Subscription-Token`.

The key comes from the environment (the variable named by `api_key_env`), never from the
config file, and a missing key is reported when the provider is created.
"""

from __future__ import annotations

from collections.abc import Mapping

from specialists.web_surfer.search.base import SearchError, SearchResult, check_query
from specialists.web_surfer.search.jsonapi import JsonApi, field_list, text_of, url_of

MAX_COUNT = 20  # the API's cap on results per request

_ADVICE = {
    401: "the API key was rejected: check the value of your api_key_env variable",
    403: "the API key may not cover web search: check your plan at https://api-dashboard.search.brave.com",
    422: "the API rejected the request's parameters or the key's format",
    429: "rate limit or monthly quota reached: wait, or upgrade the plan",
}


def api_key(environ: Mapping[str, str], variable: str) -> str:
    key = environ.get(variable, "").strip()
    if not key:
        raise SearchError(
            f"Brave Search needs an API key: set the environment variable {variable} (or name "
            "another variable in specialists.web_surfer.search.api_key_env); keys come from "
            "https://api-dashboard.search.brave.com, or use provider 'browser' that needs none"
        )
    return key


class BraveSearch:
    name = "brave"

    def __init__(self, base_url: str, key: str, *, timeout: float) -> None:
        self._url = f"{base_url}/res/v1/web/search"
        self._headers = {"Accept": "application/json", "X-Subscription-Token": key}
        self._api = JsonApi("Brave Search", timeout=timeout, advice=_ADVICE)

    async def search(self, query: str, *, limit: int = 10) -> list[SearchResult]:
        query = check_query(query, limit)
        body = await self._api.get(
            self._url, params={"q": query, "count": min(limit, MAX_COUNT)}, headers=self._headers
        )
        results: list[SearchResult] = []
        for item in field_list(body, ("web", "results"), "Brave Search"):
            url = url_of(item, "url")
            if url and all(r.url != url for r in results):
                title = text_of(item, "title") or url
                results.append(SearchResult(title, url, text_of(item, "description")))
        return results[:limit]

    async def close(self) -> None:
        await self._api.close()
