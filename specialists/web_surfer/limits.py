"""Character caps for everything the web surfer shows the model.

A page controls how long its text, title, URL, dialog messages and file names are, so
every string that reaches a prompt is cut to a size, and the cut is said where it is
made (the model must know it is not seeing everything).
"""

from __future__ import annotations

RESULT_MAX_CHARS = 20_000  # one action's result (search results, find, answers, ...)
OBSERVATION_MAX_CHARS = 30_000  # one rendered observation, notes and elements included
NOTE_MAX_CHARS = 4_000  # one note (a saved PDF's first page, a blocked URL, ...)
DIALOG_MAX_CHARS = 600  # a JavaScript dialog's message
URL_MAX_CHARS = 2_000
TITLE_MAX_CHARS = 300


def cap(text: str, limit: int, what: str = "text") -> str:
    """`text` cut to at most about `limit` characters, with a note saying how much was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}\n[… {what} cut here: {cut:,} more characters not shown]"


def clip(text: str, limit: int) -> str:
    """A short field (a URL, a title) cut in place, marked with an ellipsis and its length."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}…(+{len(text) - limit + 1:,} chars)"
