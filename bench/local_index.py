"""The local search index on the full Python documentation (Debian's python3-doc).

Printed: the folder build (pages, seconds, index size), optionally a crawl of the same
docs served on 127.0.0.1, query latency through the `local` provider (median and p90
over many queries), and how often a known query finds its page first (hit@1) or in the
top 5 — a quality figure to watch, not a test.

    .venv/bin/python bench/local_index.py [--root DIR] [--crawl] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from orchestrator.sites import Site
from specialists.web_surfer.search.crawl import build_from_site
from specialists.web_surfer.search.index_build import BuildReport, build_from_folder
from specialists.web_surfer.search.local_index import LocalIndexSearch

PYTHON_DOCS = Path("/usr/share/doc/python3-doc/html")

# query → the page a person would want first
KNOWN = {
    "json.dumps": "library/json.html",
    "pathlib glob": "library/pathlib.html",
    "asyncio gather": "library/asyncio-task.html",
    "sqlite3 connect": "library/sqlite3.html",
    "dataclass frozen": "library/dataclasses.html",
    "re.sub": "library/re.html",
    "subprocess.run": "library/subprocess.html",
    "functools lru_cache": "library/functools.html",
    "argparse add_argument": "library/argparse.html",
    "itertools groupby": "library/itertools.html",
    "collections namedtuple": "library/collections.html",
    "datetime strftime": "library/datetime.html",
    "os.walk": "library/os.html",
    "typing Protocol": "library/typing.html",
    "logging basicConfig": "library/logging.html",
    "zipfile ZipFile": "library/zipfile.html",
    "csv DictReader": "library/csv.html",
    "shutil copytree": "library/shutil.html",
    "unittest mock patch": "library/unittest.mock.html",
    "list comprehension": "tutorial/datastructures.html",
}
EXTRA_QUERIES = [
    "decorator",
    "context manager with statement",
    "global interpreter lock",
    "f-string format specification",
    "exception chaining raise from",
    "generator expression yield",
    "virtual environment venv",
    "unicode normalization",
    "socket timeout",
    "thread pool executor",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def print_build(label: str, report: BuildReport) -> None:
    print(
        f"{label:<14} {report.pages:>5} pages  {report.seconds:6.1f} s  "
        f"{report.size_bytes / 1_000_000:6.1f} MB  {len(report.skipped)} skipped, "
        f"{report.duplicates} duplicates"
    )
    for where, why in report.skipped[:3]:
        print(f"  skipped {where}: {why}")


async def measure_queries(index: Path, prefix: str, repeats: int) -> None:
    provider = LocalIndexSearch(index)
    await provider.search("warm up")  # opens the database
    latencies: list[float] = []
    hits_at_1 = hits_at_5 = 0
    queries = [*KNOWN, *EXTRA_QUERIES]
    for _ in range(repeats):
        for query in queries:
            started = time.perf_counter()
            await provider.search(query, limit=10)
            latencies.append((time.perf_counter() - started) * 1000)
    for query, page in KNOWN.items():
        urls = [r.url.removeprefix(prefix) for r in await provider.search(query, limit=5)]
        hits_at_1 += urls[:1] == [page]
        hits_at_5 += page in urls
        if urls[:1] != [page]:
            print(f"  miss@1: {query!r} → {urls[:1]} (wanted {page})")
    await provider.close()
    print(
        f"query latency  median {statistics.median(latencies):.2f} ms  "
        f"p90 {percentile(latencies, 0.9):.2f} ms  over {len(latencies)} queries"
    )
    print(f"quality        hit@1 {hits_at_1}/{len(KNOWN)}  hit@5 {hits_at_5}/{len(KNOWN)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PYTHON_DOCS)
    parser.add_argument("--crawl", action="store_true", help="also crawl the docs over HTTP")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.root}: {os.cpu_count()} CPUs, load average {load} (shared machines vary)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "folder.sqlite"
        report = build_from_folder(args.root, out, jobs=args.jobs)
        print_build(f"folder, {args.jobs} jobs", report)
        await measure_queries(out, report.source + "/", args.repeats)
        if args.crawl:
            site = Site(args.root)
            try:
                crawled = await build_from_site(
                    site.url + "/index.html", Path(tmp) / "crawl.sqlite", max_pages=2000
                )
            finally:
                site.close()
            print_build("crawl", crawled)
            await measure_queries(crawled.out, site.url + "/", 1)


if __name__ == "__main__":
    asyncio.run(main())
