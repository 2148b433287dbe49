"""A tracer provider configured from the standard OTEL_* environment variables.

`OTEL_TRACES_EXPORTER`: `otlp` (the default when an endpoint is set) or `console`, or
both, comma-separated. `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`:
`http/protobuf` (default) or `grpc`. `OTEL_SERVICE_NAME` names the service (default
`orchestrator`). Headers, timeouts and certificates are read by the exporters themselves.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from orchestrator.errors import OrchestratorError

DEFAULT_SERVICE = "orchestrator"


def provider_from_env(environ: Mapping[str, str]) -> TracerProvider:
    service = environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE
    # No exit hook: the run's subscriber flushes it, bounded (an exit hook would wait on an
    # unreachable collector for the exporter's whole timeout).
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}), shutdown_on_exit=False
    )
    names = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name == "console":
            # Printed as each span ends: a console trace is read live, not batched.
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif name == "otlp":
            provider.add_span_processor(BatchSpanProcessor(otlp_exporter(environ)))
        elif name != "none":
            raise OrchestratorError(
                f"OTEL_TRACES_EXPORTER={names}: unknown exporter {name!r}; use otlp or console"
            )
    return provider


def otlp_exporter(environ: Mapping[str, str]) -> SpanExporter:
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    traces_url = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base_url = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError:
            raise OrchestratorError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc: "
                "pip install 'orchestrator[otel]'"
            ) from None
        return GrpcExporter(endpoint=traces_url or base_url)
    if protocol != "http/protobuf":
        raise OrchestratorError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: use http/protobuf or grpc"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if traces_url:
        return OTLPSpanExporter(endpoint=traces_url)
    if base_url:  # the spec: the signal's path is appended to the base endpoint
        return OTLPSpanExporter(endpoint=f"{base_url.rstrip('/')}/v1/traces")
    return OTLPSpanExporter()
