"""The real model client: any OpenAI-compatible chat-completions server, via the openai SDK.

One `complete()` is exactly one HTTP request: the SDK's own retries are off because our
backoff layer retries, deciding by the class of the error raised here. Every SDK failure
(and every malformed 200 the SDK lets through) becomes one of the protocol's errors.
"""

from __future__ import annotations

import base64
import email.utils
import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from orchestrator.models.profiles import LOCAL_PROVIDERS, capabilities_for
from orchestrator.models.providers import ProviderSettings, resolve_provider
from orchestrator.models.spec import ModelSpec
from specialists.models.protocol import (
    Capabilities,
    JsonObjectFormat,
    JsonSchemaFormat,
    Message,
    ModelError,
    ModelRequest,
    ModelRequestError,
    ModelResponse,
    ModelTimeout,
    ProviderError,
    RateLimited,
    ResponseFormat,
    ToolCall,
    ToolSpec,
    UnsupportedFeature,
    Usage,
)

# An error is a missing feature (so the structured-output ladder may step down) only when
# it names a feature *and* refuses it; other 400s are bugs in our request. Some servers
# refuse with a 5xx: llama-cpp-python answers `json_schema` with a 500 carrying its
# request-validation error ("Input should be 'text' or 'json_object'").
_FEATURE = re.compile(r"response_format|json_schema|json schema|tool_choice|tool choice|\btools?\b")
_REFUSAL = re.compile(r"not supported|unsupported|does not support|doesn't support|requires\s+--")
_INVALID = re.compile(r"validation error|input should be|not a valid|invalid|not permitted")


class OpenAIModel:
    """A ModelClient for `openai:`, `azure:`, `ollama:`, `vllm:`, ... model specs."""

    def __init__(
        self,
        spec: ModelSpec,
        environ: Mapping[str, str] | None = None,
        capabilities: Capabilities | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._spec = spec
        self._settings = resolve_provider(spec, env)
        # Starts from the profile (or what a wrapping client knows) and loses every feature
        # the server refuses, so the ladder never probes a refused rung twice in a run.
        self._capabilities = capabilities or capabilities_for(spec)
        self._where = f"{self._settings.provider} model '{spec.model_name}'"
        self._client = _make_client(spec, self._settings, env)

    @property
    def name(self) -> str:
        return self._spec.model

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def settings(self) -> ProviderSettings:
        return self._settings

    async def complete(self, request: ModelRequest) -> ModelResponse:
        body = self._body(request)
        try:
            result: object = await self._client.chat.completions.create(**body)
        except openai.APIError as exc:
            error = self._error(exc)
            if isinstance(error, UnsupportedFeature):
                self._capabilities = without_refused(self._capabilities, request, str(error))
            raise error from exc
        except UnicodeEncodeError as exc:
            # Text that is not valid Unicode (a lone surrogate, e.g. from a file name that
            # is not UTF-8) cannot be sent; resending it never helps.
            where = _unencodable(body) or "the request"
            raise ModelRequestError(
                f"{self._where}: the request cannot be encoded as UTF-8: {where} holds "
                f"{exc.object[exc.start : exc.end]!r} ({exc.reason}); whatever put it there "
                "must escape such characters"
            ) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            # The SDK lets a 200 whose JSON body is malformed or truncated escape as-is.
            raise self._malformed(f"the body is not valid JSON ({exc})") from exc
        if not isinstance(result, ChatCompletion):
            # Non-JSON content types come back as a str, a `null` body as None.
            raise self._malformed(f"the body is not a chat completion: {str(result)[:200]!r}")
        try:
            return _response(result, self._spec.model_name)
        except (AttributeError, TypeError, IndexError, ValueError) as exc:
            # The SDK builds models without validation, so anything can be missing.
            raise self._malformed(f"the chat completion is malformed ({exc})") from exc

    async def close(self) -> None:
        await self._client.close()

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        if any(m.role == "tool" and m.tool_call_id is None for m in request.messages):
            raise ModelRequestError(f"{self._where}: a tool message lacks its tool_call_id")
        body: dict[str, Any] = {
            "model": self._spec.model_name,  # on Azure, the deployment name
            "messages": [_wire_message(m, self._capabilities.vision) for m in request.messages],
        }
        if request.tools:
            body["tools"] = [_wire_tool(t) for t in request.tools]
            if request.tool_choice is not None:
                body["tool_choice"] = _tool_choice(request.tool_choice)
        response_format = _response_format(request.response_format)
        if response_format is not None:
            body["response_format"] = response_format
        temperature = self._spec.temperature if request.temperature is None else request.temperature
        if temperature is not None:
            body["temperature"] = temperature
        if request.max_output_tokens is not None:
            body["max_completion_tokens"] = request.max_output_tokens
            if self._settings.provider in LOCAL_PROVIDERS:
                # Local servers (llama-cpp-python's among them) know only the older name
                # and ignore the new one; OpenAI's reasoning models refuse the old one.
                body["max_tokens"] = request.max_output_tokens
        return body

    def _error(self, exc: openai.APIError) -> ModelError:
        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeout(f"{self._where}: no response within {self._spec.timeout:g}s")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            url = self._settings.base_url
            return ProviderError(f"{self._where}: connection to {url} failed: {cause!r}")
        if isinstance(exc, openai.APIStatusError):
            return _status_error(self._where, exc)
        return ProviderError(f"{self._where}: {exc}")

    def _malformed(self, what: str) -> ProviderError:
        return ProviderError(f"{self._where}: HTTP 200 but {what}", status=200)


def _unencodable(value: object, where: str = "body") -> str | None:
    """The path (`body.messages[3].content`) of the first string in `value` that UTF-8
    cannot encode, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where
        return None
    if isinstance(value, Mapping):
        items: Sequence[tuple[str, object]] = [(f"{where}.{k}", v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    return next((found for path, v in items if (found := _unencodable(v, path))), None)


def _make_client(
    spec: ModelSpec, settings: ProviderSettings, environ: Mapping[str, str]
) -> openai.AsyncOpenAI:
    # Keyless servers get a placeholder: given no key, the SDK would read OPENAI_API_KEY
    # from os.environ (sending it to that server) or refuse to start.
    key = settings.api_key or "no-key-needed"
    client: openai.AsyncOpenAI
    if settings.is_azure:
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=settings.base_url,
            api_version=settings.api_version,
            api_key=key,
            timeout=spec.timeout,
            max_retries=0,
        )
    else:
        client = openai.AsyncOpenAI(
            base_url=settings.base_url, api_key=key, timeout=spec.timeout, max_retries=0
        )
    # The SDK also reads OPENAI_ORG_ID / OPENAI_PROJECT_ID from os.environ and sends them
    # to any server; only OpenAI itself should see them, and from our environ.
    is_openai = settings.provider == "openai"
    client.organization = environ.get("OPENAI_ORG_ID") if is_openai else None
    client.project = environ.get("OPENAI_PROJECT_ID") if is_openai else None
    return client


# --- request: our types → chat-completions JSON ------------------------------------------


def _wire_message(message: Message, vision: bool) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    wire: dict[str, Any] = {"role": message.role, "content": _content(message, vision)}
    if message.tool_calls:
        wire["content"] = message.content or None
        wire["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    return wire


def _content(message: Message, vision: bool) -> str | list[dict[str, Any]]:
    if not message.images:
        return message.content
    if vision and message.role == "user":
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
        for image in message.images:
            url = f"data:{image.media_type};base64,{base64.b64encode(image.data).decode()}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return parts
    # A text-only model must never receive an image: say so instead of failing the call.
    n = len(message.images)
    reason = "this model cannot see images" if not vision else "only user messages carry images"
    note = f"[{n} image{'' if n == 1 else 's'} omitted: {reason}]"
    return f"{message.content}\n{note}" if message.content else note


def _wire_tool(tool: ToolSpec) -> dict[str, Any]:
    function = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return {"type": "function", "function": function}


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _response_format(fmt: ResponseFormat | None) -> dict[str, Any] | None:
    if fmt is None or fmt == "text":
        return None
    if fmt == "json_object":
        return {"type": "json_object"}
    if isinstance(fmt, JsonObjectFormat):
        return {"type": "json_object", "schema": fmt.schema}
    return {
        "type": "json_schema",
        "json_schema": {"name": fmt.name, "schema": fmt.schema, "strict": fmt.strict},
    }


# --- response: chat-completions → our types ----------------------------------------------


def _response(completion: ChatCompletion, default_model: str) -> ModelResponse:
    if not completion.choices:
        raise ValueError("it has no choices")
    choice = completion.choices[0]
    content: object = choice.message.content
    if content is not None and not isinstance(content, str):
        raise TypeError(f"content is {type(content).__name__}, not text")
    calls: Sequence[Any] = choice.message.tool_calls or ()
    usage = completion.usage
    return ModelResponse(
        content=content,
        tool_calls=tuple(_tool_call(i, c) for i, c in enumerate(calls)),
        usage=Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0) if usage else Usage(),
        model=completion.model or default_model,
        finish_reason=choice.finish_reason,
    )


def _tool_call(index: int, call: Any) -> ToolCall:
    function = call.function
    arguments = function.arguments
    if not isinstance(arguments, str):  # some local servers send an object, not JSON text
        arguments = json.dumps(arguments)
    return ToolCall(id=call.id or f"call_{index}", name=function.name, arguments=arguments)


# --- errors -------------------------------------------------------------------------------


def _status_error(where: str, exc: openai.APIStatusError) -> ModelError:
    status = exc.status_code
    detail = _detail(exc)
    message = f"{where}: HTTP {status}: {detail}"
    if status == 429 and exc.code != "insufficient_quota":  # out of credit: waiting won't help
        return RateLimited(message, retry_after=parse_retry_after(exc.response.headers))
    if status == 408:
        return ModelTimeout(message)
    lowered = detail.lower()
    if _FEATURE.search(lowered):
        if status in (400, 422) and _REFUSAL.search(lowered):
            return UnsupportedFeature(message, status=status)
        if status >= 500 and (_REFUSAL.search(lowered) or _INVALID.search(lowered)):
            return UnsupportedFeature(message, status=status)
    if status >= 500:
        return ProviderError(message, status=status)
    return ModelRequestError(message, status=status)


def without_refused(caps: Capabilities, request: ModelRequest, error: str) -> Capabilities:
    """`caps` less the feature `request` used that the server refused in `error`."""
    fmt = request.response_format
    lowered = error.lower()
    if fmt is not None and fmt != "text" and re.search(r"response_format|json", lowered):
        if isinstance(fmt, JsonSchemaFormat):
            return replace(caps, structured_output=False)
        if isinstance(fmt, JsonObjectFormat):
            return replace(caps, json_mode_schema=False)
        return replace(caps, json_mode=False, json_mode_schema=False)
    if request.tools and re.search(r"tool", lowered):
        return replace(caps, tools=False)
    return caps


def _detail(exc: openai.APIStatusError) -> str:
    """The server's own words: `error.message` in OpenAI's shape, else the raw body."""
    body = exc.body  # the SDK has already unwrapped a top-level "error" key
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        text = str(body["message"])
    elif isinstance(body, str) and body:
        text = body
    else:
        text = json.dumps(body) if body is not None else exc.message
    return text if len(text) <= 500 else text[:500] + "..."


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    seconds = _float(millis)
    if seconds is not None:
        return max(seconds / 1000, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _float(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - time.time(), 0.0)


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
