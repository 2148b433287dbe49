"""What a model can do, from a small table keyed by provider and model name.

Unknown and local models get conservative flags (no vision, no native json_schema, an
8k context); the config's `capabilities:` overrides any flag it sets. Everything else in
the system decides behaviour from these flags, never from the model's name.
"""

from __future__ import annotations

import re
from dataclasses import replace

from orchestrator.models.spec import ModelSpec
from specialists.models.protocol import Capabilities

LOCAL_PROVIDERS = frozenset({"ollama", "vllm", "lmstudio", "llamacpp", "compatible", "local"})

_FULL = Capabilities(
    vision=True, tools=True, structured_output=True, json_mode=True, context_tokens=128_000
)
# A local server's context is whatever it was started with (Ollama's default is small):
# assume 8k and let `doctor` warn when the prompts will not fit.
_CONSERVATIVE = Capabilities(
    vision=False, tools=True, structured_output=False, json_mode=True, context_tokens=8192
)

# Hosted models, first match wins (matched against the name after any "vendor/" prefix).
_HOSTED: tuple[tuple[re.Pattern[str], Capabilities], ...] = (
    (re.compile(r"^o[13]-mini"), replace(_FULL, vision=False, context_tokens=200_000)),
    (re.compile(r"^gpt-4\.1"), replace(_FULL, context_tokens=1_047_576)),
    (re.compile(r"^gpt-5"), replace(_FULL, context_tokens=400_000)),
    (re.compile(r"^o[1-9]"), replace(_FULL, context_tokens=200_000)),
    (re.compile(r"^gpt-4o"), _FULL),
    (re.compile(r"^gpt-4-turbo"), replace(_FULL, structured_output=False)),
)
# Local model names that suggest a vision-language model.
_LOCAL_VISION = re.compile(r"vl\d*\b|vision|llava|pixtral|moondream|minicpm-v|gemma3")


def capabilities_for(spec: ModelSpec) -> Capabilities:
    name = spec.model_name.lower().rsplit("/", 1)[-1]
    if spec.provider in LOCAL_PROVIDERS:
        caps = replace(_CONSERVATIVE, vision=bool(_LOCAL_VISION.search(name)))
    else:
        caps = next((c for pattern, c in _HOSTED if pattern.search(name)), _CONSERVATIVE)
    overrides = {k: v for k, v in spec.capabilities.model_dump().items() if v is not None}
    return replace(caps, **overrides)
