"""List prices of well-known OpenAI models (USD per million tokens), for cost reports.

Matched by longest prefix, so dated snapshots ("gpt-4o-mini-2024-07-18") find their family.
Unknown models have no price rather than a guessed one; `ModelSpec.pricing` overrides.
"""

from __future__ import annotations

from orchestrator.models.spec import Pricing


def _p(input_per_mtok: float, output_per_mtok: float) -> Pricing:
    return Pricing(input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok)


PRICES: dict[str, Pricing] = {
    "gpt-5": _p(1.25, 10.00),
    "gpt-5-mini": _p(0.25, 2.00),
    "gpt-5-nano": _p(0.05, 0.40),
    "gpt-4.1": _p(2.00, 8.00),
    "gpt-4.1-mini": _p(0.40, 1.60),
    "gpt-4.1-nano": _p(0.10, 0.40),
    "gpt-4o": _p(2.50, 10.00),
    "gpt-4o-mini": _p(0.15, 0.60),
    "gpt-4-turbo": _p(10.00, 30.00),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    "o1": _p(15.00, 60.00),
    "o1-mini": _p(1.10, 4.40),
    "o1-pro": _p(150.00, 600.00),
    "o3": _p(2.00, 8.00),
    "o3-mini": _p(1.10, 4.40),
    "o4-mini": _p(1.10, 4.40),
}


def price_for(model_name: str) -> Pricing | None:
    """The price of `model_name` ("gpt-4o", "openai/gpt-4o-2024-08-06"), or None."""
    name = model_name.lower().rsplit("/", 1)[-1]
    # A prefix only counts at a "-" boundary: "o1" must not price "o10".
    matches = [p for p in PRICES if name == p or name.startswith(p + "-")]
    return PRICES[max(matches, key=len)] if matches else None
