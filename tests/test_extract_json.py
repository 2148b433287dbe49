"""`extract_json` on replies a misbehaving model (or a page it copied) can produce: huge,
deeply nested, full of `{`. Each ends quickly as a ValueError, which `generate` turns into
an invalid-output attempt fed back to the model, never an uncaught RecursionError.
Timings are in bench/extract_json.py; here only the outcomes are checked."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from specialists.models import structured
from specialists.models.protocol import Message

HOSTILE = {
    "300k-braces": ("{" * 300_000, "JSON is invalid"),
    "300k-brackets": ("[" * 300_000, "nested too deeply"),
    "deep-but-closed": ("[" * 5_000 + "]" * 5_000, "nested too deeply"),
    "deep-in-chatter": ("Here it is: " + '{"a":' * 50_000, "nested too deeply"),
    "many-broken-objects": ('{"a": 1,' * 60_000, "JSON is invalid"),
    "5MB": ("x" * 5_000_000, "characters, more than the 500,000 allowed"),
    "deep-in-a-fence": ("```json\n" + "[" * 10_000 + "\n```", "nested too deeply"),
}


@pytest.mark.parametrize(("text", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_replies_are_a_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        structured.extract_json(text)


def test_an_object_after_a_few_false_starts_is_still_found() -> None:
    text = "Use {name} or [x] like {this}: " + '{"a": [1, {"b": 2}]}'
    assert structured.extract_json(text) == {"a": [1, {"b": 2}]}


class Answer(BaseModel):
    answer: str


async def test_a_deeply_nested_reply_is_an_invalid_attempt_then_retried() -> None:
    model = ScriptedModel(
        {
            "p": [
                ScriptedReply(text="[" * 100_000),
                ScriptedReply.model_validate({"json": {"answer": "42"}}),
            ]
        }
    )
    invalid: list[tuple[int, str]] = []
    value = await structured.generate(
        model,
        purpose="p",
        messages=[Message.user("answer")],
        schema=Answer,
        on_invalid=lambda attempt, error: invalid.append((attempt, error)),
    )
    assert value == Answer(answer="42")
    assert len(invalid) == 1
    assert invalid[0][0] == 1
    assert "nested too deeply" in invalid[0][1]
