"""`orchestrator index build|query`, run as a real subprocess the way a person runs it.

Until the main CLI registers `index_app` (as `orchestrator index`), the typer app is run
directly; the arguments, output and exit codes are the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestrator.sites import Site

DOCS = Path(__file__).parent / "data" / "search" / "docs"
RUN_INDEX_APP = "from orchestrator.indexing import index_app; index_app()"


def index(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", RUN_INDEX_APP, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_build_a_folder_then_query_it(tmp_path: Path) -> None:
    built = index("build", str(DOCS), "--out", "docs.sqlite", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith(
        f"Indexed 5 pages from {DOCS.absolute().as_uri()} into docs.sqlite"
    )
    assert "3 skipped:" in built.stdout
    assert "search.html: asks not to be indexed (robots noindex)" in built.stdout

    found = index("query", "fog bell", "--index", "docs.sqlite", "-n", "3", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[0] == "1. Lighthouse Keeping Field Guide"
    assert lines[1] == "   " + (DOCS / "field-guide.pdf").absolute().as_uri()
    assert "Ring the fog bell twice a minute" in lines[2]


def test_build_by_crawling_a_site_with_the_default_index_path(tmp_path: Path) -> None:
    site = Site(DOCS)
    try:
        built = index("build", site.url + "/", "--max-pages", "3", cwd=tmp_path)
    finally:
        site.close()
    assert built.returncode == 0, built.stderr
    # three fetches: "/", then its links in order: index.html (the same page again), guide.html
    assert built.stdout.startswith(f"Indexed 2 pages from {site.url}/ into search-index.sqlite")
    assert "1 duplicate page stored once" in built.stdout
    found = index("query", "[tidal] almanac", cwd=tmp_path)  # brackets are not rich markup
    assert found.stdout.splitlines()[:2] == ["1. Harbour Handbook", f"   {site.url}/"]


def test_errors_are_one_line_with_what_to_do(tmp_path: Path) -> None:
    missing_folder = index("build", "no/such/folder", cwd=tmp_path)
    assert missing_folder.returncode == 2
    assert missing_folder.stdout == ""
    assert missing_folder.stderr == (
        "error: no/such/folder is not a folder: give a folder of HTML, Markdown, text or PDF "
        "files, or an http(s) URL\n"
    )

    no_index = index("query", "tides", "--index", "none.sqlite", cwd=tmp_path)
    assert no_index.returncode == 2
    assert no_index.stderr == (
        "error: no local search index at none.sqlite: build it with: "
        "orchestrator index build DIR_OR_URL --out none.sqlite\n"
    )

    (tmp_path / "empty").mkdir()
    nothing = index("build", "empty", cwd=tmp_path)
    assert nothing.returncode == 1
    assert nothing.stderr == (
        "error: nothing was indexed: no HTML, Markdown, text or PDF pages found\n"
    )
