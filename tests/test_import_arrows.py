"""Every import arrow inside orchestrator/evaluation/ points one way: no module reaches
itself again through others (deferred imports and TYPE_CHECKING imports count too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "orchestrator" / "evaluation"
PREFIX = "orchestrator.evaluation"


def arrows() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX):
                module = str(node.module)
                targets.add(module)
                targets |= {f"{module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith(PREFIX)}
        graph[name] = targets - {name}
    return {name: {t for t in targets if t in graph} for name, targets in graph.items()}


def cycle_from(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for target in graph[node]:
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def test_no_import_cycles_in_evaluation() -> None:
    graph = arrows()
    assert len(graph) > 15, "the package was not found"
    cycles = [c for name in sorted(graph) if (c := cycle_from(graph, name))]
    assert cycles == [], " ; ".join(" → ".join(c) for c in cycles)
