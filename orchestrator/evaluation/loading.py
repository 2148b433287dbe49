"""Loading a suite file of either format: it is the one module that knows both loaders,
so the loaders can depend on `suites` without `suites` depending on them."""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import ConfigFileError
from orchestrator.evaluation.gaia_suite import load_gaia_jsonl
from orchestrator.evaluation.suites import Suite
from orchestrator.evaluation.yaml_suite import load_yaml_suite


def load_suite(path: Path) -> Suite:
    """Load a suite file by its extension; raise `ConfigFileError` naming file/line/field."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return load_gaia_jsonl(path)
    if suffix in (".yaml", ".yml"):
        return load_yaml_suite(path)
    if path.is_dir():
        raise ConfigFileError(path, "is a folder; give a suite file (*.yaml or GAIA *.jsonl)")
    raise ConfigFileError(
        path, f"unknown suite format {suffix or '(no extension)'!r}; use *.yaml or *.jsonl"
    )
