"""Masking a field in the JSON a model wrote (tool-call arguments, a one-action reply), for
what a trace records of a specialist's model calls (see `RecordsContent`)."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache

from specialists.models.protocol import Message

SECRET = "[secret]"


@cache
def _field(key: str) -> re.Pattern[str]:
    return re.compile(rf'("{re.escape(key)}"\s*:\s*)"(?:[^"\\]|\\.)*"')


def mask_field(text: str, key: str, mask: str) -> str:
    """`text` with every string value of `key` replaced by `mask`; no parse needed, so a
    reply that is not quite JSON is masked too."""
    return _field(key).sub(lambda m: f'{m.group(1)}"{mask}"', text)


def mask_field_everywhere(message: Message, key: str, mask: str) -> Message:
    """`message` with `key` masked in its text and in every tool call's arguments."""
    calls = tuple(
        replace(call, arguments=mask_field(call.arguments, key, mask))
        for call in message.tool_calls
    )
    return replace(message, content=mask_field(message.content, key, mask), tool_calls=calls)
