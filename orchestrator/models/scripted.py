"""A strict scripted model: replies come from a script keyed by purpose.

A script reads like the run it drives: `orchestrator.facts`, `orchestrator.plan`,
`orchestrator.progress`, `orchestrator.final`, `web_surfer`, ... each with its replies in
order. Every request is recorded. Asking for a reply the script does not have is an error
naming the purpose and call number; replies left over are reported by `unused()` so a
scenario can fail on them too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from specialists.models.protocol import (
    Capabilities,
    ModelError,
    ModelRequest,
    ModelRequestError,
    ModelResponse,
    ModelTimeout,
    ProviderError,
    RateLimited,
    ScriptExhausted,
    ToolCall,
    Usage,
)


class ScriptedToolCall(BaseModel):
    """One tool call: a specialist's tool (see its tools below) and its arguments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="The tool's name, e.g. `click`, `open_file`, `done`.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Its arguments.")


class ScriptedError(BaseModel):
    """A provider failure to simulate, e.g. `{kind: rate_limit, retry_after: 0.1}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["rate_limit", "server_error", "timeout", "bad_request"] = Field(
        description="A 429, a 500, a time-out (all three retried), or a 400 (not retried)."
    )
    retry_after: float | None = Field(
        default=None, ge=0, description="A rate limit's Retry-After, in seconds."
    )
    message: str = Field(default="simulated provider error", description="The error's text.")

    def exception(self) -> ModelError:
        if self.kind == "rate_limit":
            return RateLimited(f"429 {self.message}", retry_after=self.retry_after)
        if self.kind == "server_error":
            return ProviderError(f"500 {self.message}", status=500)
        if self.kind == "timeout":
            return ModelTimeout(f"timed out: {self.message}")
        return ModelRequestError(f"400 {self.message}", status=400)


class ScriptedReply(BaseModel):
    """One reply: exactly one of `text`, `json`, `tool_calls`, `error`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    text: str | None = Field(default=None, description="A plain text reply (a bare string is one).")
    json_: Any = Field(
        default=None, alias="json", description="A structured reply: the object itself."
    )
    tool_calls: list[ScriptedToolCall] | None = Field(
        default=None, description="Tool calls, run in order by the specialist."
    )
    error: ScriptedError | None = Field(
        default=None, description="Fail this call as a provider would, instead of replying."
    )
    delay: float = Field(
        default=0.0,
        ge=0,
        description="Seconds to wait before replying (or failing): a slow model, for "
        "time-outs and the wall-clock limit.",
    )
    input_tokens: int | None = Field(
        default=None, ge=0, description="Tokens to count for the prompt; default: estimated."
    )
    output_tokens: int | None = Field(
        default=None, ge=0, description="Tokens to count for the reply; default: estimated."
    )

    @model_validator(mode="before")
    @classmethod
    def _plain_string_is_text(cls, data: Any) -> Any:
        return {"text": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> ScriptedReply:
        given = [
            k
            for k, v in (
                ("text", self.text),
                ("json", self.json_),
                ("tool_calls", self.tool_calls),
                ("error", self.error),
            )
            if v is not None
        ]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(
                f"a reply needs exactly one of text, json, tool_calls, error (found: {found})"
            )
        return self


Script = Mapping[str, Sequence[ScriptedReply]]


def _estimate_tokens(chars: int) -> int:
    return max(1, chars // 4)


class ScriptedModel:
    """Serves scripted replies by request purpose; see the module docstring."""

    def __init__(
        self,
        script: Script,
        *,
        capabilities: Capabilities | None = None,
        name: str = "scripted",
        cursors: Mapping[str, int] | None = None,
    ) -> None:
        self._script = {purpose: list(replies) for purpose, replies in script.items()}
        self._capabilities = capabilities or Capabilities(structured_output=True)
        self._name = name
        self._cursors: dict[str, int] = dict(cursors or {})
        self.requests: list[ModelRequest] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def cursors(self) -> dict[str, int]:
        """How many replies each purpose has used: saved in checkpoints for resume."""
        return dict(self._cursors)

    def unused(self) -> dict[str, int]:
        left = {p: len(r) - self._cursors.get(p, 0) for p, r in self._script.items()}
        return {p: n for p, n in left.items() if n > 0}

    def _next(self, purpose: str) -> ScriptedReply:
        replies = self._script.get(purpose)
        index = self._cursors.get(purpose, 0)
        if replies is None:
            known = ", ".join(sorted(self._script)) or "(none)"
            raise ScriptExhausted(
                f"the scripted model has no replies for purpose '{purpose}' "
                f"(call #{index + 1}); the script has: {known}"
            )
        if index >= len(replies):
            raise ScriptExhausted(
                f"the scripted model ran out of replies for purpose '{purpose}': "
                f"call #{index + 1} was made but the script has {len(replies)}"
            )
        self._cursors[purpose] = index + 1
        return replies[index]

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        call = self._cursors.get(request.purpose, 0) + 1
        reply = self._next(request.purpose)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.error is not None:
            raise reply.error.exception()
        content: str | None = None
        calls: tuple[ToolCall, ...] = ()
        if reply.tool_calls is not None:
            calls = tuple(
                ToolCall(f"call_{request.purpose}_{call}_{i}", c.name, json.dumps(c.arguments))
                for i, c in enumerate(reply.tool_calls)
            )
        elif reply.json_ is not None:
            text = json.dumps(reply.json_)
            forced = request.tool_choice not in (None, "auto", "required", "none")
            if forced and isinstance(request.tool_choice, str):
                # The structured-output ladder chose its tool rung: answer in kind.
                calls = (ToolCall(f"call_{request.purpose}_{call}", request.tool_choice, text),)
            else:
                content = text
        else:
            content = reply.text
        produced = len(content or "") + sum(len(c.arguments) for c in calls)
        usage = Usage(
            reply.input_tokens
            if reply.input_tokens is not None
            else _estimate_tokens(request.prompt_chars()),
            reply.output_tokens if reply.output_tokens is not None else _estimate_tokens(produced),
        )
        finish = "tool_calls" if calls else "stop"
        return ModelResponse(content, calls, usage, self._name, finish)

    async def close(self) -> None:
        return None
