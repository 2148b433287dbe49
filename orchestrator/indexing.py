"""`orchestrator index`: build and query the local search index the web surfer can use offline.

    orchestrator index build /usr/share/doc/python3-doc/html --out docs.sqlite
    orchestrator index build http://127.0.0.1:8000/ --max-pages 300 --out docs.sqlite
    orchestrator index query "json.dumps" --index docs.sqlite

Then point the web surfer at it in the config:
`specialists: {web_surfer: {search: {provider: local, index: docs.sqlite}}}`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from specialists.web_surfer.search.base import SearchError
from specialists.web_surfer.search.crawl import build_from_site
from specialists.web_surfer.search.index_build import (
    DEFAULT_EXCLUDES,
    BuildError,
    BuildReport,
    build_from_folder,
)
from specialists.web_surfer.search.local_index import LocalIndexSearch
from specialists.web_surfer.search.settings import DEFAULT_INDEX

index_app = typer.Typer(
    help="Build and query a local full-text search index (SQLite FTS5) for offline search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
errors = Console(stderr=True)

_DEFAULT_JOBS = min(os.cpu_count() or 1, 8)

OutOpt = Annotated[
    Path,
    typer.Option("--out", "-o", help="The index file to write (replaced atomically when done)."),
]
IndexOpt = Annotated[Path, typer.Option("--index", "-i", help="The index file to search.")]


def _fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@index_app.command()
def build(
    source: Annotated[
        str, typer.Argument(metavar="DIR_OR_URL", help="A folder, or the http(s) URL of a site.")
    ],
    out: OutOpt = DEFAULT_INDEX,
    max_pages: Annotated[
        int, typer.Option("--max-pages", min=1, help="Crawl: fetch at most this many URLs.")
    ] = 1000,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host", help="Crawl: also follow links to this host or host:port (repeatable)."
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option("--jobs", "-j", min=1, help="Folder: parse files in this many processes."),
    ] = _DEFAULT_JOBS,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="Folder: skip files or folders matching this glob (repeatable), besides "
            + ", ".join(DEFAULT_EXCLUDES)
            + ".",
        ),
    ] = None,
) -> None:
    """Index a folder of HTML, Markdown, text and PDF files, or crawl a site (same host only)."""
    try:
        with console.status("Indexing…") as status:

            def progress(pages: int, url: str) -> None:
                status.update(f"Indexed {pages} pages; last: {escape(url)}")

            if source.startswith(("http://", "https://")):
                hosts = allow_host or ()
                report = asyncio.run(
                    build_from_site(
                        source, out, max_pages=max_pages, allow_hosts=hosts, progress=progress
                    )
                )
            else:
                excludes = (*DEFAULT_EXCLUDES, *(exclude or ()))
                report = build_from_folder(
                    Path(source), out, exclude=excludes, jobs=jobs, progress=progress
                )
    except BuildError as exc:
        _fail(str(exc))
    except (OSError, sqlite3.Error) as exc:
        _fail(f"cannot write the index {out}: {exc}")
    except KeyboardInterrupt:
        _fail(f"interrupted; {out} was left as it was", code=130)
    _print_report(report)


def _print_report(report: BuildReport) -> None:
    console.print(
        f"Indexed {report.pages} pages from {escape(report.source)} into {escape(str(report.out))} "
        f"({_size(report.size_bytes)}) in {report.seconds:.1f}s",
        highlight=False,
        soft_wrap=True,
    )
    if report.duplicates:
        plural = "s" if report.duplicates != 1 else ""
        console.print(f"{report.duplicates} duplicate page{plural} stored once", highlight=False)
    if report.skipped:
        console.print(f"[yellow]{len(report.skipped)} skipped:[/]", highlight=False)
        for where, why in report.skipped[:10]:
            console.print(f"  {escape(where)}: {escape(why)}", highlight=False, soft_wrap=True)
        if len(report.skipped) > 10:
            console.print(f"  … and {len(report.skipped) - 10} more", highlight=False)
    if report.pages == 0:
        _fail("nothing was indexed: no HTML, Markdown, text or PDF pages found", code=1)


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{size / 1000:.0f} kB"


@index_app.command()
def query(
    text: Annotated[str, typer.Argument(metavar="QUERY", help="What to search for.")],
    index: IndexOpt = DEFAULT_INDEX,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Results to show.")] = 10,
) -> None:
    """Search an index the way the web surfer's `local` provider does, to check it."""

    async def search() -> None:
        provider = LocalIndexSearch(index)
        try:
            results = await provider.search(text, limit=limit)
        finally:
            await provider.close()
        if not results:
            console.print("No results.")
        for number, result in enumerate(results, 1):
            title, url, snippet = map(escape, (result.title, result.url, result.snippet))
            console.print(f"{number}. [bold]{title}[/]", highlight=False, soft_wrap=True)
            console.print(f"   {url}", highlight=False, soft_wrap=True)
            console.print(f"   [dim]{snippet}[/]", highlight=False, soft_wrap=True)

    try:
        asyncio.run(search())
    except SearchError as exc:
        _fail(str(exc))
