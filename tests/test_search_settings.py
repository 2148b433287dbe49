"""Search settings: each provider's fields, the errors a person sees, and what gets created."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page
from pydantic import ValidationError

import specialists.web_surfer.search as search_package
from orchestrator.errors import ConfigFileError
from orchestrator.yamlfile import load_model
from specialists.web_surfer.search import (
    SearchError,
    SearchProvider,
    SearchSettings,
    create_provider,
)


async def no_page() -> Page:
    raise AssertionError("creating a provider must not open a page")


def make(**fields: object) -> SearchProvider:
    settings = SearchSettings.model_validate(fields)
    return create_provider(settings, open_page=no_page, environ={})


def error_of(**fields: object) -> str:
    with pytest.raises(ValidationError) as caught:
        SearchSettings.model_validate(fields)
    return str(caught.value)


async def test_the_default_is_the_browser_with_duckduckgo_and_needs_no_key() -> None:
    provider = make()
    assert provider.name == "browser:duckduckgo"
    assert isinstance(provider, SearchProvider)
    await provider.close()


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"provider": "searxng", "base_url": "http://127.0.0.1:8888/"}, "searxng"),
        ({"provider": "local", "index": "docs.sqlite"}, "local"),
        ({"provider": "browser", "engine": "bing"}, "browser:bing"),
        (
            {"engine": "searxng_html", "base_url": "http://127.0.0.1:8888"},
            "browser:searxng_html",
        ),
    ],
)
async def test_each_provider_is_created_from_its_settings(
    fields: dict[str, object], name: str
) -> None:
    provider = make(**fields)
    assert provider.name == name
    await provider.close()


async def test_brave_takes_its_key_from_the_named_environment_variable() -> None:
    settings = SearchSettings(provider="brave", api_key_env="MY_BRAVE")
    provider = create_provider(settings, open_page=no_page, environ={"MY_BRAVE": "k-123"})
    assert provider.name == "brave"
    await provider.close()


@pytest.mark.parametrize(
    ("environ", "variable"),
    [({}, "BRAVE_SEARCH_API_KEY"), ({"BRAVE_SEARCH_API_KEY": "  "}, "BRAVE_SEARCH_API_KEY")],
)
def test_a_missing_brave_key_says_which_variable_to_set(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(SearchError) as caught:
        create_provider(SearchSettings(provider="brave"), open_page=no_page, environ=environ)
    message = str(caught.value)
    assert message.startswith(
        f"Brave Search needs an API key: set the environment variable {variable}"
    )
    assert "specialists.web_surfer.search.api_key_env" in message
    assert "\n" not in message


def test_a_custom_key_variable_is_named_in_the_error() -> None:
    settings = SearchSettings(provider="brave", api_key_env="TEAM_BRAVE_TOKEN")
    with pytest.raises(SearchError, match="set the environment variable TEAM_BRAVE_TOKEN"):
        create_provider(settings, open_page=no_page, environ={"BRAVE_SEARCH_API_KEY": "x"})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"provider": "bing"}, "Input should be 'browser', 'searxng', 'brave' or 'local'"),
        ({"api_key": "secret"}, "Extra inputs are not permitted"),
        ({"provider": "brave", "index": "x.sqlite"}, "applies to provider local, not 'brave'"),
        ({"provider": "local", "engine": "bing"}, "applies to provider browser, not 'local'"),
        (
            {"provider": "local", "base_url": "http://x"},
            "applies to provider browser or searxng or brave",
        ),
        ({"provider": "searxng"}, "provider 'searxng' needs base_url"),
        (
            {"engine": "google"},
            "unknown engine 'google'; choose one of: duckduckgo, bing, searxng_html, custom",
        ),
        ({"engine": "searxng_html"}, "engine 'searxng_html' needs base_url"),
        (
            {"engine": "custom", "url_template": "http://x/?q={query}"},
            "engine 'custom' needs result_selector, title_selector",
        ),
        ({"url_template": "http://x/search"}, "must contain {query}"),
        (
            {"url_template": "http://x/?q={query}&page={page}"},
            "only the placeholders {query} and {base_url}",
        ),
        ({"provider": "searxng", "base_url": "localhost:8888"}, "must be an http(s) URL"),
        ({"timeout_seconds": 0}, "greater than 0"),
        ({"result_selector": "div["}, "not a valid CSS selector: Malformed attribute selector"),
        ({"provider": "brave", "api_key_env": ""}, "at least 1 character"),
    ],
)
def test_bad_settings_are_rejected_with_a_pointed_message(
    fields: dict[str, object], expected: str
) -> None:
    assert expected in error_of(**fields)


def test_overrides_apply_on_top_of_a_preset() -> None:
    settings = SearchSettings(
        engine="duckduckgo", url_template="http://127.0.0.1:9/html/?q={query}"
    )
    engine = settings.browser_engine()
    assert engine.url_template == "http://127.0.0.1:9/html/?q={query}"
    assert engine.result_selector == "div.result"  # the rest is still the preset's


def test_a_bad_search_section_in_a_yaml_file_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "search.yaml"
    path.write_text("provider: brave\ntimeout_seconds: 5\nindex: docs.sqlite\n")
    with pytest.raises(ConfigFileError) as caught:
        load_model(path, SearchSettings)
    assert str(caught.value) == (
        f"{path}:3:8: index: applies to provider local, not 'brave' (got 'docs.sqlite')"
    )


def test_the_public_names_are_the_contract_with_the_web_surfer() -> None:
    assert sorted(search_package.__all__) == [
        "PageOpener",
        "SearchError",
        "SearchProvider",
        "SearchResult",
        "SearchSettings",
        "create_provider",
    ]
    for name in search_package.__all__:
        assert hasattr(search_package, name), name
