"""Search pages the browser provider knows how to read: a URL template and CSS selectors.

A preset is a known engine's results page. Any field can be overridden in the settings,
and `custom` takes everything from there, so a new engine (or a changed layout) needs
configuration, not code. The selectors are matched with BeautifulSoup (soupsieve).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Engine:
    name: str
    url_template: str  # contains {query}, URL-encoded on use; may contain {base_url}
    result_selector: str  # one block per result
    title_selector: str  # inside a block; its text is the title
    link_selector: str  # inside a block; its href is the result's URL ("" → the title element)
    snippet_selector: str  # inside a block; "" → no snippet
    no_results_selector: str = ""  # present on an engine's "nothing found" page
    skip_selector: str = ""  # blocks matching this are dropped (ads)


PRESETS: dict[str, Engine] = {
    # The JavaScript-free endpoint; result links go through a //duckduckgo.com/l/?uddg= redirect.
    "duckduckgo": Engine(
        name="duckduckgo",
        url_template="https://html.duckduckgo.com/html/?q={query}",
        result_selector="div.result",
        title_selector="a.result__a",
        link_selector="a.result__a",
        snippet_selector=".result__snippet",
        no_results_selector="div.no-results",
        skip_selector=".result--ad",
    ),
    "bing": Engine(
        name="bing",
        url_template="https://www.bing.com/search?q={query}",
        result_selector="li.b_algo",
        title_selector="h2",
        link_selector="h2 a",
        snippet_selector=".b_caption p, p.b_lineclamp2, p",
        no_results_selector="li.b_no",
    ),
    # A SearXNG instance's HTML page, for instances that do not enable the JSON format.
    "searxng_html": Engine(
        name="searxng_html",
        url_template="{base_url}/search?q={query}",
        result_selector="article.result",
        title_selector="h3",
        link_selector="h3 a",
        snippet_selector="p.content",
        no_results_selector="#urls .dialog-error-block, div.no-results",
    ),
}

ENGINE_NAMES = (*PRESETS, "custom")

# Text that gives away a bot wall rather than a results page. Lowercase; matched on the
# visible text and the title, so a result merely mentioning captchas is not enough:
# these count only when no result block was found.
BLOCKED_MARKERS = (
    "captcha",
    "unusual traffic",
    "are you a robot",
    "not a robot",
    "bots use duckduckgo too",
    "verify you are human",
    "access denied",
    "too many requests",
)

NO_RESULTS_MARKERS = (
    "no results",
    "did not match any",
    "no matches",
    "nothing found",
    "there are no results",
)
