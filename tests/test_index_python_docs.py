"""The local index on a real documentation set no one here wrote: Debian's python3-doc.

A folder build over a subset (the full 530 pages take tens of seconds: that is measured
in bench/local_index.py), and a crawl of the same docs served on 127.0.0.1. In both,
"json.dumps" must find the json module's page first, ahead of pages that also use it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sites import Site
from specialists.web_surfer.search.crawl import build_from_site
from specialists.web_surfer.search.index_build import BuildReport, build_from_folder
from specialists.web_surfer.search.local_index import open_index, search_index

PYTHON_DOCS = Path("/usr/share/doc/python3-doc/html")
pytestmark = pytest.mark.skipif(
    not (PYTHON_DOCS / "library" / "json.html").is_file(), reason="needs python3-doc"
)

# json.dumps appears in all but pickle, marshal and functions: they compete on other queries
SUBSET = [
    "library/json.html",
    "library/pickle.html",
    "library/marshal.html",
    "library/netdata.html",
    "library/functions.html",
    "tutorial/inputoutput.html",
    "whatsnew/3.4.html",
    "whatsnew/2.6.html",
    "genindex-D.html",
]


@pytest.fixture(scope="module")
def subset_index(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    root = tmp_path_factory.mktemp("python-docs")
    for name in SUBSET:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PYTHON_DOCS / name, root / name)
    return build_from_folder(root, root.parent / "python-docs.sqlite")


def ranked(report: BuildReport, query: str, limit: int = 5) -> list[str]:
    db = open_index(report.out)
    try:
        results = search_index(db, query, limit)
    finally:
        db.close()
    return [r.url.removeprefix(report.source + "/") for r in results]


def test_every_page_of_the_subset_is_indexed(subset_index: BuildReport) -> None:
    assert subset_index.pages == len(SUBSET)
    assert subset_index.skipped == ()


def test_json_dumps_finds_the_json_module_first(subset_index: BuildReport) -> None:
    top = ranked(subset_index, "json.dumps")
    assert top[0] == "library/json.html"
    assert "tutorial/inputoutput.html" in top[1:]  # it explains json.dumps too
    assert not {"library/pickle.html", "library/marshal.html"} & set(top)


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("pickle protocol version", "library/pickle.html"),
        ("marshal internal object serialization", "library/marshal.html"),
        ("built-in functions", "library/functions.html"),
    ],
)
def test_each_module_page_wins_its_own_topic(
    subset_index: BuildReport, query: str, page: str
) -> None:
    assert ranked(subset_index, query)[0] == page


def test_snippets_show_the_matched_text(subset_index: BuildReport) -> None:
    db = open_index(subset_index.out)
    [first] = search_index(db, "json.dumps", limit=1)
    db.close()
    assert first.title.startswith("json — JSON encoder and decoder")
    assert "json.dumps" in first.snippet
    assert len(first.snippet) < 400


@pytest.fixture(scope="module")
def served_docs() -> Iterator[Site]:
    site = Site(PYTHON_DOCS)
    yield site
    site.close()


async def test_a_crawl_of_the_served_docs_finds_json_dumps(
    served_docs: Site, tmp_path: Path
) -> None:
    report = await build_from_site(
        served_docs.url + "/library/json.html", tmp_path / "crawl.sqlite", max_pages=12
    )
    assert report.pages == 12  # every fetch was a page: sources, images, scripts never fetched
    db = open_index(report.out)
    stored = [url for (url,) in db.execute("SELECT url FROM pages")]
    top = search_index(db, "json.dumps", limit=3)
    db.close()
    assert all(url.startswith(served_docs.url + "/") for url in stored)
    assert top[0].url == served_docs.url + "/library/json.html"
