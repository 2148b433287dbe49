"""How a model is named in config: `provider:model` plus optional overrides."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CapabilityOverrides(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    vision: bool | None = None
    tools: bool | None = None
    structured_output: bool | None = None
    json_mode: bool | None = None
    json_mode_schema: bool | None = None
    context_tokens: int | None = Field(
        default=None, ge=512, description="The model's context length in tokens."
    )


class Pricing(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


class ModelSpec(BaseModel):
    """One configured model, e.g. `{model: "openai:gpt-4o"}` or `{model: "ollama:qwen2.5"}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="'provider:model-name', e.g. 'openai:gpt-4o'.")
    base_url: str | None = Field(default=None, description="Overrides the provider's URL.")
    api_key_env: str | None = Field(default=None, description="Env var holding the API key.")
    api_version: str | None = Field(default=None, description="Azure OpenAI API version.")
    timeout: float = Field(default=120.0, gt=0, description="Seconds per request.")
    max_retries: int = Field(default=5, ge=0, description="Retries on 429, 5xx, timeouts.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    capabilities: CapabilityOverrides = Field(default_factory=CapabilityOverrides)
    pricing: Pricing | None = Field(default=None, description="Overrides the price table.")

    @field_validator("base_url")
    @classmethod
    def _a_url(cls, value: str | None) -> str | None:
        # Caught here, a typo is one located error rather than five "transient" retries.
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    "must be an http:// or https:// URL, e.g. http://localhost:11434/v1"
                )
        return value

    @property
    def provider(self) -> str:
        return self.model.split(":", 1)[0] if ":" in self.model else "openai"

    @property
    def model_name(self) -> str:
        return self.model.split(":", 1)[1] if ":" in self.model else self.model
