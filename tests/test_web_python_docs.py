"""A real site nobody here wrote: the Python documentation from Debian's python3-doc,
served on 127.0.0.1. Its search page runs in JavaScript over searchindex.js; the tests
use its search box, follow a result, and read `json.dumps`'s signature off `json.html`.
"""

from __future__ import annotations

import pytest
from test_web_fixture_site import (  # noqa: F401 - the fixtures are used by name
    Harness,
    driver_fixture,
    element_id,
    harness_fixture,
    python_docs_fixture,
)

from orchestrator.sites import Site

pytestmark = pytest.mark.asyncio(loop_scope="module")

SIGNATURE = "json.dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True"


async def search_for_json_dumps(harness: Harness, docs: Site) -> None:
    home = await harness.act("visit_url", url=f"{docs.url}/index.html")
    assert home.observation is not None
    assert home.observation.title == "3.11.2 Documentation"
    box = element_id(harness, "textbox", "Quick search")
    results = await harness.act("type", id=box, text="json.dumps", submit=True)
    assert results.ok, results.text
    assert [r.action for r in harness.approvals] == ["submit form"]
    assert harness.approvals[0].detail == (
        f"GET {docs.url}/search.html with q=json.dumps, check_keywords=yes, area=default"
    )


async def test_the_sites_search_finds_json_dumps(harness: Harness, python_docs: Site) -> None:
    await search_for_json_dumps(harness, python_docs)
    observed = harness.driver.last
    assert observed is not None
    assert observed.url.startswith(f"{python_docs.url}/search.html?q=json.dumps")
    assert "Search finished, found" in observed.text  # the JavaScript search ran
    names = [e.name for e in observed.elements if e.role == "link"]
    assert "json.dumps" in names
    assert names.index("json.dumps") < names.index("json — JSON encoder and decoder")


async def test_following_the_result_lands_on_the_signature(
    harness: Harness, python_docs: Site
) -> None:
    await search_for_json_dumps(harness, python_docs)
    landed = await harness.act("click", id=element_id(harness, "link", "json.dumps"))
    assert landed.observation is not None
    assert landed.observation.url == f"{python_docs.url}/library/json.html#json.dumps"
    assert landed.observation.scroll.y > 0  # the anchor scrolled the page
    assert SIGNATURE in landed.observation.text
    back = await harness.act("back")
    assert back.observation is not None
    assert back.observation.url.startswith(f"{python_docs.url}/search.html?q=json.dumps")


async def test_the_signature_is_found_and_read_on_json_html(
    harness: Harness, python_docs: Site
) -> None:
    await harness.act("visit_url", url=f"{python_docs.url}/library/json.html")
    found = await harness.act("find_on_page", text="json.dumps(obj")
    assert "occurs 1 time(s)" in found.text
    assert SIGNATURE in found.text
    assert found.observation is not None
    assert SIGNATURE in found.observation.text
    part = 1
    while True:
        read = await harness.act("read_page", part=part)
        assert read.ok, read.text
        if SIGNATURE in read.text or "[end of the page]" in read.text:
            break
        part += 1
    assert (
        f"{SIGNATURE}, allow_nan=True, cls=None, indent=None, separators=None, default=None, sort_keys=False, **kw)"
        in read.text
    )
    assert part > 1  # the signature is past the first part: paging was needed
