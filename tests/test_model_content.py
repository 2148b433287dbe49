"""What a trace records of a model call (on the user's opt-in): the GenAI conventions'
message shape, every cut said, images never copied, a specialist's filter applied."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from orchestrator.events import Event, EventBus, ModelCalled
from orchestrator.models.content import (
    MAX_MESSAGE_CHARS,
    MAX_TOTAL_CHARS,
    bounded,
    capture,
    cut,
)
from orchestrator.models.managed import ManagedModel, Meter
from orchestrator.models.scripted import ScriptedModel, ScriptedReply, ScriptedToolCall
from specialists import file_surfer
from specialists.base import TeamEnv
from specialists.models.masking import mask_field_everywhere
from specialists.models.protocol import (
    ImagePart,
    Message,
    ModelRequest,
    ModelResponse,
    ToolCall,
)
from specialists.web_surfer.redaction import Secrets, recorded_message


def test_a_conversation_with_tools_and_images_in_the_conventions_shape() -> None:
    call = ToolCall("c1", "lookup", '{"q": "rye"}')
    request = ModelRequest(
        "p",
        (
            Message.system("be brief"),
            Message.user("look", images=(ImagePart(b"\x89PNG" * 1000),)),
            Message.assistant("", tool_calls=(call,)),
            Message("tool", "found 3", tool_call_id="c1"),
        ),
    )
    response = ModelResponse(None, tool_calls=(ToolCall("c2", "done", "not json"),))
    recorded = capture(request, response)
    system, user, assistant, tool = recorded["input"]
    assert system == {"role": "system", "parts": [{"type": "text", "content": "be brief"}]}
    assert user["parts"][1] == {"type": "image", "mime_type": "image/png", "bytes": 4000}
    assert assistant["parts"] == [
        {"type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": "rye"}}
    ]
    assert tool == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "c1", "response": "found 3"}],
    }
    (answer,) = recorded["output"]
    assert answer["finish_reason"] == "tool_call"
    assert answer["parts"] == [
        {"type": "tool_call", "id": "c2", "name": "done", "arguments": "not json"}
    ]
    assert recorded["cut_chars"] == 0
    assert "PNG" not in json.dumps(recorded)


def test_long_messages_are_cut_keeping_both_ends_and_saying_how_much() -> None:
    text = "START " + "x" * 20_000 + " QUESTION?"
    kept, gone = cut(text, MAX_MESSAGE_CHARS)
    assert kept.startswith("START ")
    assert kept.endswith(" QUESTION?")
    assert gone == len(text) - MAX_MESSAGE_CHARS
    assert f"[cut: {gone} characters]" in kept
    recorded = capture(
        ModelRequest("p", (Message.user(text),)), ModelResponse("y" * 9000, finish_reason="length")
    )
    assert recorded["output"][0]["finish_reason"] == "length"
    assert recorded["cut_chars"] == gone + 1000


def test_past_the_total_the_oldest_messages_become_notes_in_their_place() -> None:
    many = tuple(Message.user(f"{n}:" + "m" * 7000) for n in range(12))
    recorded = capture(ModelRequest("p", many), ModelResponse("ok"))
    messages = recorded["input"]
    assert len(messages) == 12  # order and count are kept
    size = len(json.dumps(messages))
    assert size <= MAX_TOTAL_CHARS + 12 * 100
    notes = [m for m in messages if m["parts"][0]["content"].startswith("[cut: ")]
    assert notes
    assert messages.index(notes[-1]) < len(messages) - 1
    assert messages[-1]["parts"][0]["content"].startswith("11:")  # the newest whole
    assert recorded["cut_chars"] > 0


def test_tool_content_is_bounded_with_its_structure_kept() -> None:
    kept, gone = bounded({"stdout": "o" * 10_000, "stderr": "", "n": 3})
    assert isinstance(kept, dict)
    assert kept["n"] == 3
    assert len(kept["stdout"]) < 10_000
    assert gone == 10_000 - MAX_MESSAGE_CHARS
    huge, gone = bounded(["z" * 7000] * 20)
    assert isinstance(huge, str)
    assert huge.startswith("[cut: ")
    assert gone > MAX_TOTAL_CHARS


def test_the_web_surfer_filter_masks_secrets_and_withholds_typed_text() -> None:
    secrets = Secrets()
    secrets.add("hunter2-horse")
    typed = ToolCall("t", "type", '{"id": 4, "text": "hunter2-horse", "submit": true}')
    visit = ToolCall("v", "visit_url", '{"url": "https://x.test/?p=hunter2-horse"}')
    message = Message.assistant("typing hunter2-horse now", tool_calls=(typed, visit))
    shown = recorded_message(message, secrets)
    assert "hunter2" not in json.dumps([shown.content, [c.arguments for c in shown.tool_calls]])
    assert json.loads(shown.tool_calls[0].arguments) == {
        "id": 4,
        "text": "[typed text not recorded]",
        "submit": True,
    }
    assert "[secret]" in shown.tool_calls[1].arguments
    # a model without tool calls chooses its action as JSON text
    choice = Message.assistant('{"action": "type", "arguments": {"id": 2, "text": "pw \\"q\\""}}')
    assert json.loads(recorded_message(choice, secrets).content)["arguments"]["text"] == (
        "[typed text not recorded]"
    )
    other = Message.assistant('{"action": "click", "arguments": {"id": 2}}')
    assert recorded_message(other, secrets) == other
    assert recorded_message(replace(message, tool_calls=()), Secrets()).content == (
        "typing hunter2-horse now"  # unknown secrets are not guessed at
    )


class _WantsContent:
    """A subscriber asking for content, as the trace subscriber does when opted in."""

    wants_content = True

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)


class _Nobody:
    async def ask(self, question: str) -> str | None:
        return None


async def test_the_file_surfer_keeps_a_documents_password_out_of_recorded_calls(
    tmp_path: Path,
) -> None:
    opened = {"path": "report.pdf", "password": "hunter2-horse"}
    script = {
        "file_surfer": [
            ScriptedReply(tool_calls=[ScriptedToolCall(name="open_file", arguments=opened)])
        ]
    }
    bus = EventBus("run")
    seen = _WantsContent()
    bus.subscribe(seen)
    model = ManagedModel(
        ScriptedModel(script), role="file_surfer", bus=bus, meter=Meter(), pricing=None
    )
    env = TeamEnv(name="file_surfer", workspace=tmp_path, model=model, human=_Nobody())
    file_surfer.create(env)
    await model.complete(ModelRequest("file_surfer", (Message.user("open report.pdf"),)))
    (called,) = [e for e in seen.events if isinstance(e, ModelCalled)]
    assert called.content is not None
    (call,) = called.content["output"][0]["parts"]
    assert call["arguments"] == {"path": "report.pdf", "password": "[secret]"}
    assert "hunter2" not in json.dumps(called.content)
    assert "content" not in called.model_dump()  # and never in a log


def test_a_json_reply_has_its_field_masked_even_when_it_is_not_quite_json() -> None:
    reply = Message.assistant('{"tool": "open_file", "path": "a.pdf", "password": "p\\"w",}')
    masked = mask_field_everywhere(reply, "password", "[secret]")
    assert masked.content == '{"tool": "open_file", "path": "a.pdf", "password": "[secret]",}'
