"""Optional OpenTelemetry traces of a run (the `otel` extra), GenAI semantic conventions.

`subscriber_for` is the one entry point: it returns an event subscriber when the extra is
installed and the standard `OTEL_*` variables ask for traces (`OTEL_TRACES_EXPORTER` set to
`otlp` or `console`, or an `OTEL_EXPORTER_OTLP_ENDPOINT`), otherwise None, so a run without
the extra is unchanged. The opentelemetry imports stay inside the submodules.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.state import RunConfig
    from orchestrator.tracing.spans import TraceSubscriber

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def installed() -> bool:
    return find_spec("opentelemetry") is not None and find_spec("opentelemetry.sdk") is not None


def wanted(environ: Mapping[str, str]) -> bool:
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" or exporter == "none":
        return False
    return bool(exporter) or any(environ.get(v) for v in ENDPOINT_VARS)


def subscriber_for(
    run_dir: Path, config: RunConfig, environ: Mapping[str, str]
) -> TraceSubscriber | None:
    if not wanted(environ) or not installed():
        return None
    from orchestrator.errors import OrchestratorError
    from orchestrator.tracing.setup import provider_from_env
    from orchestrator.tracing.spans import TraceSubscriber, providers_by_role

    try:
        provider = provider_from_env(environ)
    except OrchestratorError as exc:  # telemetry misconfigured: say so, but do the work
        print(f"orchestrator: traces are off: {exc}", file=sys.stderr)
        return None
    return TraceSubscriber(
        provider,
        run_dir,
        providers=providers_by_role(config),
        capture_content=capture_content(environ),
        owns_provider=True,
    )


def capture_content(environ: Mapping[str, str]) -> bool:
    """Prompt and completion text go into spans only on request (the GenAI opt-in)."""
    flag = environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
    return flag.strip().lower() in {"true", "1", "yes"}
