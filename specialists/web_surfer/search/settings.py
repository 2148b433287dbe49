"""`SearchSettings`: which provider the web surfer searches with, and that provider's fields.

It lives under `specialists.web_surfer.search` in the config file:

    specialists:
      web_surfer:
        search:
          provider: brave              # browser (default, no key) | searxng | brave | local
          api_key_env: BRAVE_SEARCH_API_KEY

Fields are flat (short YAML), but each belongs to certain providers, and setting one the
chosen provider ignores is an error: it is almost always a mistake in the file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import soupsieve
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from specialists.web_surfer.search.engines import ENGINE_NAMES, PRESETS, Engine

ProviderName = Literal["browser", "searxng", "brave", "local"]

BRAVE_API = "https://api.search.brave.com"
DEFAULT_INDEX = Path("search-index.sqlite")

_OWNERS: dict[str, tuple[str, ...]] = {
    "engine": ("browser",),
    "url_template": ("browser",),
    "result_selector": ("browser",),
    "title_selector": ("browser",),
    "link_selector": ("browser",),
    "snippet_selector": ("browser",),
    "base_url": ("browser", "searxng", "brave"),
    "api_key_env": ("brave",),
    "index": ("local",),
}


class SearchSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: ProviderName = "browser"
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)

    # browser: a preset engine, any field of which can be overridden; `custom` needs them all
    engine: str = "duckduckgo"
    url_template: str | None = None
    result_selector: str | None = None
    title_selector: str | None = None
    link_selector: str | None = None
    snippet_selector: str | None = None

    # searxng (required), brave (default: the public API), browser with engine searxng_html
    base_url: str | None = None
    # brave: the environment variable holding the subscription token (never the key itself)
    api_key_env: str = Field(default="BRAVE_SEARCH_API_KEY", min_length=1)
    # local: an index built by `orchestrator index build`
    index: Path = DEFAULT_INDEX

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if value not in ENGINE_NAMES:
            raise ValueError(f"unknown engine {value!r}; choose one of: {', '.join(ENGINE_NAMES)}")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"must be an http(s) URL like https://search.example.org, not {value!r}"
            )
        return value.rstrip("/")

    @field_validator("url_template")
    @classmethod
    def _has_query(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "{query}" not in value:
            raise ValueError(
                f"must contain {{query}}, e.g. https://example.org/search?q={{query}}; got {value!r}"
            )
        try:
            value.format(query="q", base_url="b")
        except (KeyError, IndexError, ValueError):
            raise ValueError(
                f"may use only the placeholders {{query}} and {{base_url}}; got {value!r}"
            ) from None
        return value

    @field_validator("result_selector", "title_selector", "link_selector", "snippet_selector")
    @classmethod
    def _valid_css(cls, value: str | None) -> str | None:
        if value:
            try:
                soupsieve.compile(value)
            except soupsieve.SelectorSyntaxError as exc:
                reason = str(exc).splitlines()[0]
                raise ValueError(f"not a valid CSS selector: {reason}") from None
        return value

    @field_validator(*_OWNERS)
    @classmethod
    def _fits_provider(cls, value: object, info: ValidationInfo) -> object:
        # Runs only for fields the file sets, so a default never trips it.
        provider = info.data.get("provider")
        owners = _OWNERS[info.field_name or ""]
        if provider is not None and provider not in owners:
            raise ValueError(f"applies to provider {' or '.join(owners)}, not {provider!r}")
        return value

    @model_validator(mode="after")
    def _provider_complete(self) -> SearchSettings:
        if self.provider == "searxng" and self.base_url is None:
            raise ValueError(
                "provider 'searxng' needs base_url: your instance's address, e.g. http://localhost:8888"
            )
        if self.provider == "browser":
            self.browser_engine()  # raises for an incomplete engine
        return self

    def browser_engine(self) -> Engine:
        """The preset (or an empty custom engine) with this file's overrides applied."""
        overrides = {
            field: value
            for field in (
                "url_template",
                "result_selector",
                "title_selector",
                "link_selector",
                "snippet_selector",
            )
            if (value := getattr(self, field)) is not None
        }
        if self.engine == "custom":
            missing = [
                f
                for f in ("url_template", "result_selector", "title_selector")
                if f not in overrides
            ]
            if missing:
                raise ValueError(f"engine 'custom' needs {', '.join(missing)}")
            base = Engine(
                name="custom",
                url_template="",
                result_selector="",
                title_selector="",
                link_selector="",
                snippet_selector="",
            )
        else:
            base = PRESETS[self.engine]
        engine = dataclasses.replace(base, **overrides)
        if "{base_url}" in engine.url_template and self.base_url is None:
            raise ValueError(f"engine {self.engine!r} needs base_url: the search site's address")
        return engine
