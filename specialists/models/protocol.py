"""The model seam: one protocol every model client implements, and the types it speaks.

Plain frozen dataclasses, independent of any provider's wire format. The concrete clients
(OpenAI-compatible, scripted) live in `orchestrator.models`; specialists depend only on this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ImagePart:
    data: bytes
    media_type: str = "image/png"


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # raw JSON text, exactly as the model produced it


@dataclass(frozen=True)
class Message:
    role: Role
    content: str
    images: tuple[ImagePart, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @staticmethod
    def system(content: str) -> Message:
        return Message("system", content)

    @staticmethod
    def user(content: str, images: tuple[ImagePart, ...] = ()) -> Message:
        return Message("user", content, images=images)

    @staticmethod
    def assistant(content: str, tool_calls: tuple[ToolCall, ...] = ()) -> Message:
        return Message("assistant", content, tool_calls=tool_calls)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


@dataclass(frozen=True)
class JsonSchemaFormat:
    """Ask for output matching a JSON schema (OpenAI `response_format: json_schema`)."""

    name: str
    schema: dict[str, Any]
    strict: bool = True


@dataclass(frozen=True)
class JsonObjectFormat:
    """JSON mode constrained to a schema: `{"type": "json_object", "schema": ...}`, an
    extension of llama.cpp's servers, which compile the schema into a decoding grammar."""

    schema: dict[str, Any]


ResponseFormat = Literal["text", "json_object"] | JsonSchemaFormat | JsonObjectFormat


@dataclass(frozen=True)
class ModelRequest:
    purpose: str  # e.g. "orchestrator.progress", "web_surfer": what the call is for
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "required", "none"] | str | None = None  # str: a tool name
    response_format: ResponseFormat | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None

    def prompt_chars(self) -> int:
        return sum(len(m.content) for m in self.messages)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True)
class ModelResponse:
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a model can do; behaviour is decided from these, never from the model's name."""

    vision: bool = False
    tools: bool = True
    structured_output: bool = False  # native json_schema response format
    json_mode: bool = True  # response_format json_object
    json_mode_schema: bool = False  # json_object takes a `schema` (llama.cpp's grammar)
    # How many tokens the model reads and writes per request (prompt + output); the
    # context builder budgets every prompt from this.
    context_tokens: int = 8192


@runtime_checkable
class ModelClient(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    async def close(self) -> None: ...


# What a trace may record of a message (only on the user's opt-in): a specialist that
# knows its secrets masks them. Applied to the record, never to what is sent.
ContentFilter = Callable[[Message], Message]


@runtime_checkable
class RecordsContent(Protocol):
    """A client that may record its calls' messages (the run's ManagedModel does)."""

    def filter_recorded(self, apply: ContentFilter) -> None: ...


# --- errors: the class decides what happens -------------------------------------------


class ModelError(Exception):
    """Base of every model failure. `retryable` tells the backoff layer what to do."""

    retryable = False


class RateLimited(ModelError):
    retryable = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderError(ModelError):
    """5xx, connection failures, malformed responses: worth retrying."""

    retryable = True

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ModelTimeout(ModelError):
    retryable = True


class ModelRequestError(ModelError):
    """The provider refused the request (4xx other than 429): retrying won't help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UnsupportedFeature(ModelRequestError):
    """The provider rejected a feature (json_schema, tools, ...); callers may step down."""


class ModelConfigError(ModelError):
    """The model is misconfigured (no key, unknown provider): fix the config, then rerun."""


class ScriptExhausted(ModelError):
    """A scripted model was asked for a reply its script does not have."""


class StructuredOutputError(ModelError):
    """The model's output could not be parsed into the requested shape, even after retries."""

    def __init__(self, purpose: str, attempts: int, last_error: str, raw: str | None) -> None:
        super().__init__(
            f"{purpose}: no valid output after {attempts} attempt(s); last error: {last_error}"
        )
        self.purpose = purpose
        self.attempts = attempts
        self.last_error = last_error
        self.raw = raw
