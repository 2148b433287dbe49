"""Secrets typed into pages, kept out of everything the web surfer records.

A value typed into a password field, or one the model marks `secret` (a token, a
one-time code the task gave it), is remembered for the life of the browser, and every
record the surfer makes (action results, the reply's list of actions, activity events)
has it replaced by `[secret]`, also in its URL-encoded forms (a GET form puts it in the
address). Very short values are never echoed by `type` but are not searched for
elsewhere: replacing every "ab" in a reply would wreck it.
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

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
