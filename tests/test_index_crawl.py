"""The local index built by crawling a site served on 127.0.0.1: bounded, same host, HTML + PDF."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sites import Site
from specialists.web_surfer.search.crawl import build_from_site
from specialists.web_surfer.search.index_build import BuildError, BuildReport
from specialists.web_surfer.search.local_index import open_index, search_index

DOCS = Path(__file__).parent / "data" / "search" / "docs"


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    served = Site(DOCS)
    yield served
    served.close()


def stored_paths(report: BuildReport, base: str) -> list[str]:
    db = sqlite3.connect(report.out)
    urls = sorted(url.removeprefix(base) for (url,) in db.execute("SELECT url FROM pages"))
    db.close()
    return urls


async def test_a_crawl_follows_same_site_links_to_html_and_pdf(site: Site, tmp_path: Path) -> None:
    report = await build_from_site(site.url + "/", tmp_path / "site.sqlite", max_pages=50)
    # "/" and "/index.html" are the same page: stored once, under the first URL seen
    assert stored_paths(report, site.url) == ["/", "/field-guide.pdf", "/guide.html"]
    assert report.duplicates == 1
    assert sorted(report.skipped) == [
        (site.url + "/missing.html", "HTTP 404"),
        (site.url + "/search.html", "asks not to be indexed (robots noindex)"),
    ]  # never fetched: notes.md and logo.png (not pages), example.invalid, mailto:
    db = open_index(report.out)
    [result] = search_index(db, "fog bell", limit=5)
    db.close()
    assert result.url == site.url + "/field-guide.pdf"
    assert result.title == "Lighthouse Keeping Field Guide"


async def test_max_pages_bounds_the_fetches(site: Site, tmp_path: Path) -> None:
    report = await build_from_site(site.url + "/index.html", tmp_path / "two.sqlite", max_pages=2)
    assert report.pages + report.duplicates + len(report.skipped) == 2
    assert "/index.html" in stored_paths(report, site.url)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def write_page(folder: Path, name: str, title: str, link: str = "") -> None:
    anchor = f'<a href="{link}">next</a>' if link else ""
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(
        f"<html><head><title>{title}</title></head><body><p>{title} text. {anchor}</p></body></html>"
    )


async def test_other_hosts_are_followed_only_when_allowed(tmp_path: Path) -> None:
    write_page(tmp_path / "b", "index.html", "Bravo annex")
    annex = Site(tmp_path / "b")
    write_page(tmp_path / "a", "index.html", "Alpha main", link=annex.url + "/index.html")
    main = Site(tmp_path / "a")
    try:
        alone = await build_from_site(main.url + "/", tmp_path / "alone.sqlite", max_pages=10)
        allowed = await build_from_site(
            main.url + "/",
            tmp_path / "both.sqlite",
            max_pages=10,
            allow_hosts=[f"127.0.0.1:{annex.port}"],
        )
    finally:
        main.close()
        annex.close()
    assert stored_paths(alone, "") == [main.url + "/"]
    assert stored_paths(allowed, "") == sorted([main.url + "/", annex.url + "/index.html"])


async def test_a_site_that_is_not_running_fails_the_build_clearly(tmp_path: Path) -> None:
    gone = Site(tmp_path)
    gone.close()
    with pytest.raises(BuildError) as caught:
        await build_from_site(gone.url + "/", tmp_path / "x.sqlite")
    assert str(caught.value) == (
        f"cannot crawl {gone.url}/: fetch failed: All connection attempts failed; "
        "is the site running at that address?"
    )


async def test_bad_start_urls_fail_the_build_clearly(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "x.sqlite"
    with pytest.raises(BuildError, match=r"cannot crawl .*/nothing-here\.html: HTTP 404$"):
        await build_from_site(site.url + "/nothing-here.html", out)
    with pytest.raises(BuildError, match="is not an http"):
        await build_from_site("ftp://127.0.0.1/", out)
    assert files_in(tmp_path) == []  # no index, and no half-built file left behind


async def test_a_bug_in_a_worker_stops_the_crawl_instead_of_hanging(
    site: Site, tmp_path: Path
) -> None:
    def broken_progress(pages: int, url: str) -> None:
        raise RuntimeError(f"progress display failed at {url}")

    async with asyncio.timeout(30):
        with pytest.raises(RuntimeError, match="progress display failed"):
            await build_from_site(
                site.url + "/", tmp_path / "x.sqlite", max_pages=10, progress=broken_progress
            )
    assert files_in(tmp_path) == []
