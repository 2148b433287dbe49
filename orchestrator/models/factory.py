"""From config to model clients: `provider:model` strings, scripted models, and the
managed wrapper (retries, metering, events) that every role's model is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from orchestrator.models.spec import CapabilityOverrides, ModelSpec, Pricing
from specialists.models.protocol import Capabilities, ModelClient, ModelConfigError

NO_MODEL_ADVICE = (
    "no model is configured. Set one with the environment variable ORCHESTRATOR_MODEL "
    "(e.g. ORCHESTRATOR_MODEL=openai:gpt-4o with OPENAI_API_KEY set, or "
    "ORCHESTRATOR_MODEL=ollama:qwen2.5 for a local server, or --model local:smollm2 for "
    "a tiny offline model once `scripts/setup.sh --dev` has installed it), or in "
    "orchestrator.yaml:\n"
    "    models:\n      default: openai:gpt-4o\n"
    "To see a full run without any model, try the offline demo:\n"
    "    orchestrator demo"
)


def create_client(spec: ModelSpec, environ: Mapping[str, str]) -> ModelClient:
    """A real client for `spec`. Raises ModelConfigError with advice if it can't be made."""
    if spec.provider == "scripted":
        raise ModelConfigError(
            "the 'scripted' model replays a script and can only be used from a scenario file "
            "(see scenarios/ for examples)"
        )
    if spec.provider == "local":
        from orchestrator.models.local import LocalModel

        return LocalModel(spec, environ)
    from orchestrator.models.openai_model import OpenAIModel

    return OpenAIModel(spec, environ)


def check_spec(spec: ModelSpec, environ: Mapping[str, str]) -> None:
    """Raise ModelConfigError now if `spec` could not be made into a client later."""
    if spec.provider == "local":
        from orchestrator.models.local import check

        check(spec)
        return
    from orchestrator.models.providers import resolve_provider

    resolve_provider(spec, environ)


def pricing_for(spec: ModelSpec) -> Pricing | None:
    if spec.pricing is not None:
        return spec.pricing
    from orchestrator.models.pricing import price_for

    return price_for(spec.model_name)


def apply_overrides(base: Capabilities, overrides: CapabilityOverrides) -> Capabilities:
    """`base` with every flag that `overrides` sets."""
    changes = {k: v for k, v in overrides.model_dump().items() if v is not None}
    return replace(base, **changes)
