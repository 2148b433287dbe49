"""The local index over a folder: what goes in, what is left out, how it is searched.

Built once per module from tests/data/search/docs (HTML with page chrome around the
content, a noindex page, Markdown, text, a real two-page PDF, a damaged PDF, folders
skipped by default), then searched through the `local` provider as the web surfer would.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from playwright.async_api import Page

from specialists.web_surfer.search import (
    SearchError,
    SearchResult,
    SearchSettings,
    create_provider,
)
from specialists.web_surfer.search.extract import Document, html_page
from specialists.web_surfer.search.index_build import (
    BuildError,
    BuildReport,
    build_from_folder,
)
from specialists.web_surfer.search.local_index import SCHEMA_VERSION, fts_queries, open_index

DOCS = Path(__file__).parent / "data" / "search" / "docs"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    return build_from_folder(DOCS, tmp_path_factory.mktemp("index") / "docs.sqlite")


async def no_page() -> Page:
    raise AssertionError("the local index never opens a browser page")


async def search(index: Path, query: str, limit: int = 10) -> list[SearchResult]:
    settings = SearchSettings(provider="local", index=index)
    provider = create_provider(settings, open_page=no_page, environ={})
    try:
        return await provider.search(query, limit=limit)
    finally:
        await provider.close()


async def urls(index: Path, query: str) -> list[str]:
    return [r.url.removeprefix(DOCS.absolute().as_uri() + "/") for r in await search(index, query)]


def test_every_readable_page_is_indexed_once_and_the_rest_is_accounted_for(
    built: BuildReport,
) -> None:
    db = sqlite3.connect(built.out)
    stored = sorted(url.rsplit("/", 1)[1] for (url,) in db.execute("SELECT url FROM pages"))
    db.close()
    assert stored == ["field-guide.pdf", "guide.html", "index.html", "notes.md", "plain.txt"]
    assert built.pages == 5
    skipped = {where.rsplit("/", 1)[1]: why for where, why in built.skipped}
    assert skipped.keys() == {"broken.pdf", "empty.html", "search.html"}
    assert skipped["broken.pdf"].startswith("unreadable PDF")
    assert skipped["search.html"] == "asks not to be indexed (robots noindex)"
    assert skipped["empty.html"].startswith("no text")


async def test_html_content_is_found_and_page_chrome_is_not(built: BuildReport) -> None:
    assert await urls(built.out, "tidal almanac") == ["index.html"]
    for chrome_only in (
        "navonlyword",  # <nav>
        "bannerword",  # <header>
        "footeronlyword",  # <footer>
        "scriptonlyword",  # <script> in <head>
        "inlinescriptword",  # <script> inside <main>
        "quaggaword",  # <style>
        "rolenavword",  # role=navigation
        "asideonlyword",  # <aside> inside <article>
    ):
        assert await search(built.out, chrome_only) == [], chrome_only


async def test_definition_terms_and_headings_rank_a_page_for_an_api_name(
    built: BuildReport,
) -> None:
    [result] = await search(built.out, "harbour.moor")
    assert result.title == "Tide Guide"
    assert result.url == (DOCS / "guide.html").absolute().as_uri()
    assert "Assign a berth to a vessel" in result.snippet


async def test_pdf_text_from_every_page_is_searchable(built: BuildReport) -> None:
    [first] = await search(built.out, "fog bell visibility")  # page 2 of the PDF
    assert first.title == "Lighthouse Keeping Field Guide"  # from the PDF's Title metadata
    assert first.url.endswith("/field-guide.pdf")
    assert "Ring the fog bell twice a minute" in first.snippet
    # the guide mentions the lens too, but both words of the query only meet in the PDF
    assert await urls(built.out, "fresnel polished") == ["field-guide.pdf"]


async def test_markdown_keeps_link_text_but_not_link_targets(built: BuildReport) -> None:
    [result] = await search(built.out, "outer pontoon")
    assert result.title == "Mooring notes"
    assert "**" not in result.snippet
    assert await search(built.out, "pontoon-map") == []


async def test_excluded_folders_stay_out_of_the_index(built: BuildReport) -> None:
    # _sources/ holds a copy of guide's text; .hidden/ a draft: neither may compete
    assert await urls(built.out, "spring tides") == ["guide.html"]
    assert await urls(built.out, "unpublished draft") == []


async def test_a_missing_word_falls_back_to_pages_with_any_word(built: BuildReport) -> None:
    assert await urls(built.out, "pilot zeppelin") == ["plain.txt"]


@pytest.mark.parametrize(
    "query", ['"fog bell', "fog AND (", "NEAR(fog bell", "fog* -bell ^x", "col:fog", "'; DROP"]
)
async def test_fts_syntax_in_a_query_is_taken_as_words(built: BuildReport, query: str) -> None:
    results = await search(built.out, query)
    assert all(isinstance(r, SearchResult) for r in results)


def test_queries_become_phrases_joined_by_and_then_or() -> None:
    assert fts_queries('json.dumps "sort keys" indent') == (
        '"json dumps" AND "sort keys" AND "indent"',
        '"json dumps" OR "sort keys" OR "indent"',
    )


async def test_a_query_of_only_punctuation_is_a_clear_error(built: BuildReport) -> None:
    with pytest.raises(SearchError, match=r"the query '\.\.\. !!' has no words to search for"):
        await search(built.out, "... !!")


def test_the_index_is_opened_read_only(built: BuildReport) -> None:
    db = open_index(built.out)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("INSERT INTO pages (url, title, headings, body) VALUES ('u', 't', '', 'b')")
    db.close()


async def test_a_missing_index_says_how_to_build_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite"
    with pytest.raises(SearchError) as caught:
        await search(missing, "tides")
    assert str(caught.value) == (
        f"no local search index at {missing}: build it with: "
        f"orchestrator index build DIR_OR_URL --out {missing}"
    )


async def test_a_file_that_is_not_an_index_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "notes.sqlite"
    junk.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(
        SearchError,
        match=r"notes\.sqlite is not a search index \(file is not a database\): build it again with",
    ):
        await search(junk, "tides")


async def test_an_index_of_another_schema_version_asks_for_a_rebuild(
    built: BuildReport, tmp_path: Path
) -> None:
    old = tmp_path / "old.sqlite"
    old.write_bytes(built.out.read_bytes())
    db = sqlite3.connect(old)
    db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(SearchError) as caught:
        await search(old, "tides")
    assert str(caught.value).startswith(
        f"{old} has index schema version 0, this program reads version {SCHEMA_VERSION}: "
        "build it again with"
    )


def test_a_rebuild_replaces_the_index_and_a_failed_one_keeps_it(tmp_path: Path) -> None:
    out = tmp_path / "docs.sqlite"
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.md").write_text("# Alpha\n\nAnchors aweigh.\n")
    build_from_folder(one, out)
    (one / "b.md").write_text("# Bravo\n\nBelay that.\n")
    assert build_from_folder(one, out).pages == 2

    def interrupt(done: int, url: str) -> None:
        raise KeyboardInterrupt

    (one / "c.md").write_text("# Charlie\n\nCast off.\n")
    with pytest.raises(KeyboardInterrupt):
        build_from_folder(one, out, progress=interrupt)
    db = open_index(out)
    assert db.execute("SELECT count(*) FROM pages").fetchone() == (2,)
    db.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs.sqlite", "one"]  # no leftovers


def test_a_source_that_is_not_a_folder_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="is not a folder: give a folder of HTML, Markdown"):
        build_from_folder(tmp_path / "missing", tmp_path / "x.sqlite")
    assert not (tmp_path / "x.sqlite").exists()


def test_html_text_keeps_inline_runs_whole_and_blocks_apart() -> None:
    html = (
        "<html><head><title>API</title></head><body><main><h1>Encoders</h1><dl>"
        "<dt><span>json.</span><span>dumps</span>(<em>obj</em>)¶</dt>"
        "<dd><p>Serialize</p><p>obj</p></dd></dl><div>left</div><div>right</div>"
        "</main></body></html>"
    )
    page = html_page(html, "http://127.0.0.1/api.html")
    assert page.document == Document(
        url="http://127.0.0.1/api.html",
        title="API",
        headings="Encoders | json.dumps(obj)",
        body="Encoders json.dumps(obj) Serialize obj left right",
    )


async def test_a_page_named_after_the_query_outranks_a_short_mention(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    for topic in ("anchors", "sails", "charts", "knots", "radio", "engines"):
        (folder / f"{topic}.md").write_text(f"# {topic.title()}\n\nAll about {topic} on deck.\n")
    # A short page that mentions both words, and the longer page on winches: BM25 alone
    # prefers the short page; the page named after the query should come first.
    (folder / "moorings.md").write_text("# Moorings\n\nUse the winch brake when mooring.\n")
    (folder / "winch.md").write_text(
        "# Deck gear\n\nTopic 0 covers deck gear, ropes and fittings.\n\n"
        "The winch brake holds the line under load.\n"
    )  # BM25 scores it about 1.5 times lower than moorings.md
    report = build_from_folder(folder, tmp_path / "boost.sqlite")
    assert [r.url.rsplit("/", 1)[1] for r in await search(report.out, "winch brake")] == [
        "winch.md",
        "moorings.md",
    ]


def test_parsing_in_worker_processes_builds_the_same_index(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    shutil.copytree(DOCS, folder)
    for n in range(60):  # enough files for worker processes to be used
        (folder / f"log-{n:02}.md").write_text(f"# Log entry {n}\n\nWind force {n % 12}.\n")
    serial = build_from_folder(folder, tmp_path / "serial.sqlite", jobs=1)
    parallel = build_from_folder(folder, tmp_path / "parallel.sqlite", jobs=2)
    rows = "SELECT url, title, headings, body FROM pages ORDER BY rowid"
    one, two = sqlite3.connect(serial.out), sqlite3.connect(parallel.out)
    assert one.execute(rows).fetchall() == two.execute(rows).fetchall()
    one.close()
    two.close()
    assert (parallel.pages, parallel.skipped) == (serial.pages, serial.skipped) != (0, ())


async def test_a_folder_index_lets_the_surfer_open_that_folder_and_nothing_else(
    tmp_path: Path,
) -> None:
    """A folder's results are file:// URLs: the web surfer may open files under the
    indexed folder (found from the index itself), not beside it, not through a symlink
    leading out, and a site's index or another provider opens no folder at all."""
    from specialists.web_surfer.policy import UrlPolicy
    from specialists.web_surfer.search_box import index_file_roots
    from specialists.web_surfer.settings import UrlPolicySettings

    folder, outside = tmp_path / "docs", tmp_path / "private"
    folder.mkdir()
    outside.mkdir()
    (folder / "page.html").write_text("<title>Lighthouse</title><p>The lighthouse keeper.</p>")
    (outside / "secret.html").write_text("<p>secret</p>")
    (folder / "leak.html").symlink_to(outside / "secret.html")
    index = tmp_path / "docs.sqlite"
    build_from_folder(folder, index)

    roots = index_file_roots({"provider": "local", "index": str(index)})
    assert roots == (folder.resolve(),)
    policy = UrlPolicy.from_settings(UrlPolicySettings())
    assert await policy.check((folder / "page.html").as_uri()) is not None  # off by default
    policy.allow_files_under(roots)
    assert await policy.check((folder / "page.html").as_uri()) is None
    assert "outside the allowed file roots" in str(
        await policy.check((outside / "secret.html").as_uri())
    )
    assert "outside the allowed file roots" in str(
        await policy.check((folder / "leak.html").as_uri())
    )

    assert index_file_roots({"provider": "browser"}) == ()
    assert index_file_roots({"provider": "local", "index": str(tmp_path / "none.sqlite")}) == ()
    site_index = tmp_path / "site.sqlite"
    shutil.copy(index, site_index)
    with sqlite3.connect(site_index) as db:
        db.execute("UPDATE meta SET value = 'http://127.0.0.1:8000/' WHERE key = 'source'")
    db.close()
    assert index_file_roots({"provider": "local", "index": str(site_index)}) == ()
