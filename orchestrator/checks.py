"""What one `orchestrator doctor` check found: its name, ✓ / ! / ✗, and what to do."""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL = "ok", "warn", "fail"
MARK = {OK: "[green]✓[/]", WARN: "[yellow]![/]", FAIL: "[red]✗[/]"}


@dataclass(frozen=True)
class Check:
    name: str
    outcome: str
    detail: str
