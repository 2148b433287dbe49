"""Names made safe to show a model: every character that could forge or hide text is
escaped visibly, and bytes that are not UTF-8 become `\\xNN`.

A file name is bytes; Python hands undecodable bytes over as lone surrogates, which no
model request can encode, and a name may hold newlines (forging the location line that
starts every tool result), bidi controls (showing `txt.exe` as `exe.txt`) or other
controls. `shown` turns each into an escape the model can read and copy back; `unescaped`
undoes it, so a path the model copies from a listing still opens.
"""

from __future__ import annotations

import re
import unicodedata

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Bidi embeddings, overrides and isolates, the marks, and the line/paragraph separators.
_FORMATTING = set("\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e")
_FORMATTING |= set("\u2066\u2067\u2068\u2069\ufeff")
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[nrt])")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _needs_escape(ch: str) -> bool:
    code = ord(ch)
    if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF or ch in _FORMATTING:
        return True
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _SHORT:
        return _SHORT[ch]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def shown(name: str) -> str:
    """`name` with controls, bidi characters and non-UTF-8 bytes as visible escapes."""
    if all(not _needs_escape(ch) for ch in name):
        return name
    return "".join(_escape(ch) if _needs_escape(ch) else ch for ch in name)


def unescaped(text: str) -> str:
    """The name `shown` made `text` from: `\\xNN` (NN ≥ 80 is a raw byte), `\\uNNNN`,
    `\\n`, `\\r`, `\\t` turned back into what they stand for."""

    def back(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in ("n", "r", "t"):
            return {"n": "\n", "r": "\r", "t": "\t"}[code]
        value = int(code[1:], 16)
        if code[0] == "x" and value >= 0x80:
            return chr(0xDC00 + value)
        return chr(value)

    return _ESCAPE.sub(back, text)


def has_escapes(text: str) -> bool:
    return _ESCAPE.search(text) is not None


def encodable(text: str) -> str:
    """`text` with any lone surrogate escaped: the last guard before text joins a prompt
    (a model request must be valid UTF-8)."""
    return _SURROGATE.sub(lambda match: _escape(match.group()), text)
