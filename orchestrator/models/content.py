"""A model call's messages as a trace records them, when the user opted in.

The shape is the OpenTelemetry GenAI conventions' `gen_ai.input.messages` /
`gen_ai.output.messages` (role + typed parts; an output message has a finish reason).
Bounded: each message's text is cut at `MAX_MESSAGE_CHARS` and a call's messages at
`MAX_TOTAL_CHARS` (the newest kept first, since they carry the call's question), every cut
saying how much went. Images are never copied: a part names the type and size instead.
Redaction is the caller's: `filters` (e.g. the web surfer's typed secrets) see every
message before it is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from specialists.models.protocol import ContentFilter, Message, ModelRequest, ModelResponse

MAX_MESSAGE_CHARS = 8_000  # of one message's text, tool arguments or tool result
MAX_TOTAL_CHARS = 48_000  # of one call's messages together (backends cap attribute sizes)

Parts = list[dict[str, Any]]

# OpenAI's finish reasons → the conventions' (`tool_call`, not `tool_calls`).
FINISH_REASONS = {"tool_calls": "tool_call", "function_call": "tool_call"}


def cut(text: str, limit: int) -> tuple[str, int]:
    """`text` within `limit` characters and how many went: its start and its end are kept
    (a prompt's question is usually last), the middle replaced by a note of the cut."""
    if len(text) <= limit:
        return text, 0
    gone = len(text) - limit
    head = limit * 3 // 4
    tail = text[len(text) - (limit - head) :] if limit > head else ""
    return f"{text[:head]}… [cut: {gone} characters] …{tail}", gone


def capture(
    request: ModelRequest, response: ModelResponse, filters: Sequence[ContentFilter] = ()
) -> dict[str, Any]:
    """{"input": messages, "output": messages, "cut_chars": n}, JSON-ready and bounded."""
    sent = [_filtered(m, filters) for m in request.messages]
    answer = _filtered(
        Message.assistant(response.content or "", tool_calls=response.tool_calls), filters
    )
    counter = _Cuts()
    inputs = _within_total([_message(m, counter) for m in sent], counter)
    reason = response.finish_reason or ("tool_calls" if response.tool_calls else "stop")
    output = {**_message(answer, counter), "finish_reason": FINISH_REASONS.get(reason, reason)}
    return {"input": inputs, "output": [output], "cut_chars": counter.chars}


def _filtered(message: Message, filters: Sequence[ContentFilter]) -> Message:
    for apply in filters:
        message = apply(message)
    return message


class _Cuts:
    def __init__(self) -> None:
        self.chars = 0

    def text(self, value: str, limit: int = MAX_MESSAGE_CHARS) -> str:
        kept, gone = cut(value, limit)
        self.chars += gone
        return kept


def _message(message: Message, cuts: _Cuts) -> dict[str, Any]:
    parts: Parts = []
    if message.role == "tool":
        parts.append(
            {
                "type": "tool_call_response",
                "id": message.tool_call_id,
                "response": cuts.text(message.content),
            }
        )
    elif message.content or not message.tool_calls:
        parts.append({"type": "text", "content": cuts.text(message.content)})
    for image in message.images:
        # Not the bytes: a trace is no place for megabytes of base64.
        parts.append({"type": "image", "mime_type": image.media_type, "bytes": len(image.data)})
    for call in message.tool_calls:
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.name,
                "arguments": _arguments(cuts.text(call.arguments)),
            }
        )
    return {"role": message.role, "parts": parts}


def _arguments(raw: str) -> Any:
    """The conventions want an object: parsed when it is JSON, else the text itself."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _size(message: dict[str, Any]) -> int:
    return len(json.dumps(message, ensure_ascii=False))


def _within_total(messages: list[dict[str, Any]], cuts: _Cuts) -> list[dict[str, Any]]:
    """Keep the newest messages whole while they fit; older ones keep their place and role
    but their parts become one note of what was cut (order is part of the record)."""
    budget = MAX_TOTAL_CHARS
    kept: list[dict[str, Any]] = []
    for message in reversed(messages):
        size = _size(message)
        if size <= budget:
            budget -= size
            kept.append(message)
            continue
        budget = 0
        cuts.chars += size
        note = f"[cut: {size} characters over the {MAX_TOTAL_CHARS}-character total]"
        kept.append({"role": message["role"], "parts": [{"type": "text", "content": note}]})
    return list(reversed(kept))


def bounded(value: Any) -> tuple[Any, int]:
    """A tool's arguments or result, its structure kept: every string within
    `MAX_MESSAGE_CHARS`, the whole within `MAX_TOTAL_CHARS` once serialised (else a note)."""
    cuts = _Cuts()
    kept = _bounded(value, cuts)
    size = len(json.dumps(kept, ensure_ascii=False, default=str))
    if size > MAX_TOTAL_CHARS:
        return f"[cut: {size} characters over the {MAX_TOTAL_CHARS}-character total]", size
    return kept, cuts.chars


def _bounded(value: Any, cuts: _Cuts) -> Any:
    if isinstance(value, str):
        return cuts.text(value)
    if isinstance(value, dict):
        return {str(k): _bounded(v, cuts) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded(v, cuts) for v in value]
    return value
