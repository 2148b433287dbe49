"""Secrets typed into pages, kept out of everything the web surfer records.

A value typed into a password field, or one the model marks `secret` (a token, a
one-time code the task gave it), is remembered for the life of the browser, and every
record the surfer makes (action results, the reply's list of actions, activity events)
has it replaced by `[secret]`, also in its URL-encoded forms (a GET form puts it in the
address). Very short values are never echoed by `type` but are not searched for
elsewhere: replacing every "ab" in a reply would wreck it.

`recorded_message` is the same rule for the surfer's model calls as a trace records them.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from urllib.parse import quote, quote_plus

from specialists.models.masking import mask_field
from specialists.models.protocol import Message

MASK = "[secret]"
MIN_SEARCHED = 4


class Secrets:
    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        if not value:
            return
        self._values.add(value)
        if len(value) >= MIN_SEARCHED:
            self._forms |= {value, quote(value, safe=""), quote_plus(value)}

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def redact(self, text: str) -> str:
        for form in sorted(self._forms, key=len, reverse=True):
            text = text.replace(form, MASK)
        return text


# --- what a trace may record of the surfer's model calls (only on the user's opt-in) -------

TYPE_ACTION = "type"
WITHHELD = "[typed text not recorded]"
_TYPE_CHOICE = re.compile(r'"action"\s*:\s*"type"')


def recorded_message(message: Message, secrets: Secrets) -> Message:
    """`message` as a trace may record it: known secrets masked, and the text of every
    `type` action withheld. A password field is only recognised when the action runs, after
    the reply asking for it was recorded, so no typed text is recorded from a call at all;
    what was typed (unless secret) is in the action's result all the same."""
    content = secrets.redact(message.content)
    if message.role == "assistant":
        content = _withhold_choice(content)
    calls = tuple(
        replace(
            call,
            arguments=secrets.redact(
                _withhold_args(call.arguments)
                if call.name == TYPE_ACTION
                else _withhold_choice(call.arguments)
            ),
        )
        for call in message.tool_calls
    )
    return replace(message, content=content, tool_calls=calls)


def _withhold_args(arguments: str) -> str:
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        return json.dumps(WITHHELD)  # unreadable: nothing in it can be told apart from the text
    if isinstance(args, dict) and "text" in args:
        args["text"] = WITHHELD
        return json.dumps(args, ensure_ascii=False)
    return arguments if isinstance(args, dict) else json.dumps(WITHHELD)


def _withhold_choice(text: str) -> str:
    """A one-action JSON reply (models without tool calls) choosing `type`."""
    if not _TYPE_CHOICE.search(text):
        return text
    return mask_field(text, "text", WITHHELD)
