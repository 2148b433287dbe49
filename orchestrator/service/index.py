"""An SQLite index of the runs in a runs dir (`<runs>/index.sqlite`), so listing is fast.

It is a cache: each run directory is the source of truth, and `rebuild` refills the
index from them (at every start of the service).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestrator.errors import OrchestratorError
from orchestrator.store import RunStore, list_runs

INDEX = "index.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    source TEXT NOT NULL,
    task TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT,
    stop_reason TEXT,
    rounds INTEGER,
    tokens INTEGER,
    cost_usd REAL,
    answer TEXT,
    error TEXT,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created DESC);
"""


@dataclass
class RunRow:
    run_id: str
    created: str
    source: str
    task: str
    state: str  # queued | running | waiting | finished | interrupted | error
    status: str | None = None
    stop_reason: str | None = None
    rounds: int | None = None
    tokens: int | None = None
    cost_usd: float | None = None
    answer: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


COLUMNS = tuple(RunRow.__dataclass_fields__)


class RunIndex:
    def __init__(self, runs_dir: Path) -> None:
        runs_dir.mkdir(parents=True, exist_ok=True)
        # One connection, shared with worker threads (run details are read off the loop).
        self._db = sqlite3.connect(runs_dir / INDEX, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a cache: rebuilt from the run dirs
        self._db.executescript(SCHEMA)
        self._runs_dir = runs_dir

    def put(self, row: RunRow) -> None:
        names = ", ".join(COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO runs ({names}, updated) VALUES ({marks}, ?)",
                (*(getattr(row, c) for c in COLUMNS), time.time()),
            )

    def get(self, run_id: str) -> RunRow | None:
        rows = self._select("WHERE run_id = ?", (run_id,))
        return rows[0] if rows else None

    def search(
        self,
        *,
        state: str | None = None,
        status: str | None = None,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[RunRow]:
        where, args = [], []
        for column, value in (("state", state), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if text:
            where.append("instr(lower(task), lower(?)) > 0")
            args.append(text)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._select(
            f"{clause} ORDER BY created DESC, run_id DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )

    def _select(self, clause: str, args: Sequence[object]) -> list[RunRow]:
        with self._lock:
            cursor = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM runs {clause}", args)
            return [RunRow(*values) for values in cursor.fetchall()]

    def rebuild(self) -> list[RunRow]:
        """Refill from the run directories; returns every row."""
        rows = [read_row(path) for path in list_runs(self._runs_dir)]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM runs")
        for row in rows:
            self.put(row)
        with self._lock:
            self._db.execute("COMMIT")
        return rows

    def close(self) -> None:
        self._db.close()


def read_row(root: Path, state: str | None = None) -> RunRow:
    """A run directory as an index row; `state` overrides what the files say."""
    store = RunStore(root)
    try:
        config = store.load_config()
        result = store.load_result()
    except OrchestratorError as exc:
        return RunRow(root.name, "", "", "", "error", error=str(exc))
    row = RunRow(config.run_id, config.created, config.source, config.task, "interrupted")
    if result is not None:
        row.state = "finished"
        row.status = result.status.value
        row.stop_reason = result.stop_reason.value
        row.rounds, row.tokens, row.cost_usd = result.rounds, result.tokens, result.cost_usd
        row.answer = result.answer
    if state is not None:
        row.state = state
    return row
