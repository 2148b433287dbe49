"""GETs to a search JSON API, with every way one can fail turned into a clear SearchError.

Shared by the SearXNG and Brave providers: they differ in URL, headers and the shape of
the answer, not in how a timeout or a broken body is reported.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from specialists.web_surfer.search.base import SearchError, one_line

_TAG = re.compile(r"<[^>]+>")


class JsonApi:
    """GETs to one JSON API. `who` names the service in errors; `advice` adds a hint to
    the error for given HTTP statuses."""

    def __init__(self, who: str, *, timeout: float, advice: Mapping[int, str]) -> None:
        self._who = who
        self._timeout = timeout
        self._advice = advice
        self._client: httpx.AsyncClient | None = None

    async def get(
        self, url: str, *, params: Mapping[str, str | int], headers: Mapping[str, str]
    ) -> Any:
        """The decoded JSON body of a 200 answer; SearchError for anything else."""
        if self._client is None:
            # Building a client reads the CA bundle from disk: keep that off the event loop.
            self._client = await asyncio.to_thread(
                httpx.AsyncClient, timeout=self._timeout, follow_redirects=True
            )
        try:
            response = await self._client.get(url, params=dict(params), headers=dict(headers))
        except httpx.TimeoutException as exc:
            raise SearchError(
                f"{self._who} did not answer within {self._timeout}s ({url}); try again, or "
                "raise specialists.web_surfer.search.timeout_seconds"
            ) from exc
        except httpx.HTTPError as exc:
            raise SearchError(
                f"{self._who} could not be reached at {url}: {one_line(str(exc)) or type(exc).__name__}; "
                "check specialists.web_surfer.search.base_url and that the service is running"
            ) from exc
        return self._decode(response, url)

    def _decode(self, response: httpx.Response, url: str) -> Any:
        if response.status_code != 200:
            hint = self._advice.get(response.status_code, "")
            body = one_line(response.text, 120)
            raise SearchError(
                f"{self._who} answered HTTP {response.status_code} for {url}"
                + (f": {body}" if body else "")
                + (f"; {hint}" if hint else "")
            )
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            content_type = response.headers.get("content-type", "unknown")
            raise SearchError(
                f"{self._who} sent a body that is not JSON ({url}, content-type "
                f"{content_type!r}): {one_line(response.text, 80)!r}"
            ) from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def field_list(body: Any, path: tuple[str, ...], who: str) -> list[Mapping[str, Any]]:
    """The list at `path` in a JSON object (missing → []); a SearchError for another shape."""
    node = body
    for key in path:
        if not isinstance(node, Mapping):
            raise SearchError(
                f"{who} sent JSON of an unexpected shape: no object at {'.'.join(path)}"
            )
        node = node.get(key)
        if node is None:
            return []
    if not isinstance(node, list):
        raise SearchError(f"{who} sent JSON of an unexpected shape: {'.'.join(path)} is not a list")
    return [item for item in node if isinstance(item, Mapping)]


def text_of(item: Mapping[str, Any], key: str) -> str:
    """A string field as plain text: tags (Brave marks matches with <strong>) removed."""
    value = item.get(key)
    if not isinstance(value, str):
        return ""
    return one_line(html.unescape(_TAG.sub("", value)), 500)


def url_of(item: Mapping[str, Any], key: str) -> str:
    """An http(s) URL field exactly as sent (unescaping would corrupt `&copy=` and the like)."""
    value = item.get(key)
    if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
        return value.strip()
    return ""
