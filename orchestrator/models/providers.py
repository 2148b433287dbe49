"""Which server a `provider:model` spec talks to, and with which key.

Every provider speaks the OpenAI chat-completions API; they differ only in base URL and
where the API key comes from. Resolution reads an injected environment mapping (not
`os.environ` directly) so it is testable, and fails with a message that says what to set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.models.spec import ModelSpec
from specialists.models.protocol import ModelConfigError

AZURE_DEFAULT_API_VERSION = "2024-10-21"  # GA; supports json_schema structured outputs


@dataclass(frozen=True)
class ProviderSettings:
    provider: str
    base_url: str  # for Azure: the resource endpoint, e.g. https://x.openai.azure.com
    api_key: str | None  # None: the server needs no key
    is_azure: bool = False
    api_version: str | None = None


@dataclass(frozen=True)
class _Provider:
    base_url: str | None  # None: must come from the environment or the config
    key_env: str | None
    key_required: bool
    base_url_env: str | None = None


PROVIDERS: Mapping[str, _Provider] = {
    "openai": _Provider("https://api.openai.com/v1", "OPENAI_API_KEY", True, "OPENAI_BASE_URL"),
    "azure": _Provider(None, "AZURE_OPENAI_API_KEY", True, "AZURE_OPENAI_ENDPOINT"),
    "openrouter": _Provider("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", True),
    "ollama": _Provider("http://localhost:11434/v1", None, False),
    "vllm": _Provider("http://localhost:8000/v1", "VLLM_API_KEY", False),
    "lmstudio": _Provider("http://localhost:1234/v1", None, False),
    "llamacpp": _Provider("http://localhost:8080/v1", None, False),
    "compatible": _Provider(None, None, False),
    # A llama.cpp server this process starts itself (orchestrator.models.local): the URL
    # is filled in once it runs.
    "local": _Provider(None, None, False),
}


def resolve_provider(spec: ModelSpec, environ: Mapping[str, str]) -> ProviderSettings:
    """The URL, key and (Azure) API version for `spec`; raises ModelConfigError."""
    entry = PROVIDERS.get(spec.provider)
    if entry is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ModelConfigError(
            f"model '{spec.model}' has unknown provider '{spec.provider}': "
            f"use one of {known} (e.g. 'openai:gpt-4o' or 'ollama:qwen2.5')"
        )
    if not spec.model_name:
        raise ModelConfigError(f"model '{spec.model}' names no model: write 'provider:model'")
    is_azure = spec.provider == "azure"
    return ProviderSettings(
        provider=spec.provider,
        base_url=_base_url(spec, entry, environ),
        api_key=_api_key(spec, entry, environ),
        is_azure=is_azure,
        api_version=_azure_api_version(spec, environ) if is_azure else None,
    )


def _base_url(spec: ModelSpec, entry: _Provider, environ: Mapping[str, str]) -> str:
    from_env = environ.get(entry.base_url_env, "") if entry.base_url_env else ""
    url = spec.base_url or from_env or entry.base_url
    if not url:
        where = (
            f"set {entry.base_url_env} (or base_url in the config)"
            if entry.base_url_env
            else ("set base_url in the config, e.g. http://localhost:8000/v1")
        )
        raise ModelConfigError(f"model '{spec.model}' needs a server URL: {where}")
    return url


def _api_key(spec: ModelSpec, entry: _Provider, environ: Mapping[str, str]) -> str | None:
    # An explicitly named variable must be set, even for servers that are usually keyless.
    env = spec.api_key_env or entry.key_env
    key = environ.get(env, "") if env else ""
    if key:
        return key
    if spec.api_key_env:
        raise ModelConfigError(
            f"model '{spec.model}' needs an API key: set {spec.api_key_env} "
            "(named by api_key_env in the config)"
        )
    if entry.key_required:
        raise ModelConfigError(
            f"model '{spec.model}' needs an API key: set {entry.key_env} "
            "(or api_key_env in the config), or use a local server such as 'ollama:qwen2.5'"
        )
    return None


def _azure_api_version(spec: ModelSpec, environ: Mapping[str, str]) -> str:
    return spec.api_version or environ.get("AZURE_OPENAI_API_VERSION") or AZURE_DEFAULT_API_VERSION
