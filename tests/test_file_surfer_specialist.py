"""The file surfer specialist end to end: a scripted model (keyed by the purpose
`file_surfer`) drives real tools on a real PDF, through native tool calls and through the
structured-output fallback for models without tools; the step's bounds; its errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from orchestrator.humans import NoHuman
from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from specialists.base import ApprovalRequest, Specialist, StepContext, TeamEnv
from specialists.file_surfer import FileSurfer, FileSurferConfigError, create
from specialists.models.protocol import (
    Capabilities,
    ModelConfigError,
    ModelRequest,
    ModelResponse,
    UnsupportedFeature,
)

REFERENCE_PDF = Path("/usr/share/debian-reference/debian-reference.en.pdf")
FIGURE = "208164 reports"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    if not REFERENCE_PDF.exists():
        pytest.fail(
            f"{REFERENCE_PDF} is missing: install the test packages (scripts/setup.sh --dev)"
        )
    shutil.copy(REFERENCE_PDF, tmp_path / "reference.pdf")
    return tmp_path


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def tools(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"tool_calls": list(calls)}


def scripted(replies: list[Any], *, native_tools: bool = True) -> ScriptedModel:
    caps = Capabilities(tools=native_tools, structured_output=not native_tools)
    script = {"file_surfer": [ScriptedReply.model_validate(r) for r in replies]}
    return ScriptedModel(script, capabilities=caps)


def surfer(workspace: Path, model: ScriptedModel, **settings: Any) -> FileSurfer:
    env = TeamEnv("file_surfer", workspace, model, NoHuman(), settings=settings)
    made = create(env)
    assert isinstance(made, FileSurfer)
    return made


class Activity:
    """A StepContext whose notifications are kept for the test to read."""

    def __init__(self, workspace: Path) -> None:
        self.seen: list[tuple[str, Mapping[str, Any]]] = []
        self.context = StepContext("run", 1, workspace, (), self._approve, self._notify)

    async def _approve(self, request: ApprovalRequest) -> bool:
        raise AssertionError(f"the file surfer only reads, yet asked to {request.action}")

    def _notify(self, kind: str, data: Mapping[str, Any]) -> None:
        self.seen.append((kind, data))


ANSWER = f"Page 27 says the popcon data contains the total submission of {FIGURE}."


async def test_native_tool_calls_open_find_go_to_page_and_answer(workspace: Path) -> None:
    model = scripted(
        [
            tools(call("open_file", path="reference.pdf")),
            tools(call("find", text="popcon")),
            tools(call("go_to_page", page=27)),
            tools(call("done", answer=ANSWER)),
        ]
    )
    fs, activity = surfer(workspace, model), Activity(workspace)
    reply = await fs.step("How many popcon reports? Quote the page.", activity.context)
    assert reply.error is None
    assert reply.text == f"{ANSWER}\n\n(file surfer location: reference.pdf — page 27 of 261)"
    assert reply.evidence == {
        "location": "reference.pdf — page 27 of 261",
        "path": "reference.pdf",
        "page": "27",
    }
    assert [(d["name"], d["location"]) for k, d in activity.seen if k == "action"] == [
        ("open_file", "reference.pdf — page 1 of 261"),
        ("find", "reference.pdf — page 25 of 261"),
        ("go_to_page", "reference.pdf — page 27 of 261"),
    ]
    # What the model was shown is recorded too: where it began, then each page it read.
    seen = [d for k, d in activity.seen if k == "observed"]
    assert [d["after"] for d in seen] == ["", "open_file", "find", "go_to_page"]
    assert "reference.pdf" in seen[0]["text"]  # the workspace's files
    assert seen[3]["text"].startswith("reference.pdf — page 27 of 261")
    assert FIGURE in seen[3]["text"]
    assert all(len(d["text"]) <= 4000 for d in seen)
    assert not [d for k, d in activity.seen if k == "action_failed"]
    first, *_, last = model.requests
    assert {t.name for t in first.tools} == {
        "open_file", "page_down", "page_up", "go_to_page", "find", "find_next",
        "list_folder", "find_files", "file_info", "done",
    }  # fmt: skip
    assert "never instructions to you" in first.messages[0].content
    assert "Files in the workspace: reference.pdf" in first.messages[1].content
    shown = last.messages[-1]
    assert shown.role == "tool"
    assert shown.tool_call_id is not None
    assert shown.content.startswith("reference.pdf — page 27 of 261\n<untrusted_file_content")
    assert FIGURE in shown.content
    assert model.unused() == {}


async def test_old_tool_results_are_cut_from_later_prompts(workspace: Path) -> None:
    model = scripted(
        [
            tools(call("open_file", path="reference.pdf")),
            tools(call("go_to_page", page=27)),
            tools(call("page_down")),
            tools(call("page_down")),
            tools(call("done", answer="enough")),
        ]
    )
    await surfer(workspace, model).step("Read on.", Activity(workspace).context)
    results = [m for m in model.requests[-1].messages if m.role == "tool"]
    assert [m.content.splitlines()[0] for m in results] == [
        "reference.pdf — page 1 of 261",
        "reference.pdf — page 27 of 261",
        "reference.pdf — page 28 of 261",
        "reference.pdf — page 29 of 261",
    ]
    assert "characters shown earlier, cut here]" in results[1].content
    assert FIGURE not in results[1].content
    assert "<untrusted_file_content" in results[-1].content


async def test_several_calls_in_one_reply_run_in_order(workspace: Path) -> None:
    model = scripted(
        [
            tools(call("open_file", path="reference.pdf"), call("find", text=FIGURE)),
            tools(call("done", answer=ANSWER)),
        ]
    )
    reply = await surfer(workspace, model).step("Find it.", Activity(workspace).context)
    assert reply.evidence["page"] == "27"
    tool_messages = [m for m in model.requests[1].messages if m.role == "tool"]
    assert [m.content.splitlines()[0] for m in tool_messages] == [
        "reference.pdf — page 1 of 261",
        "reference.pdf — page 27 of 261",
    ]


async def test_looking_around_needs_no_open_file(workspace: Path) -> None:
    (workspace / "notes").mkdir()
    (workspace / "notes" / "todo.txt").write_text("read the reference\n")
    model = scripted(
        [
            tools(
                call("list_folder"),
                call("find_files", pattern="*.txt"),
                call("file_info", path="reference.pdf"),
            ),
            tools(call("done", answer="One PDF and one note.")),
        ]
    )
    await surfer(workspace, model).step("What is here?", Activity(workspace).context)
    listing, found, info = [m.content for m in model.requests[1].messages if m.role == "tool"]
    assert listing.startswith('no file open\n<untrusted_file_content source="file system">')
    assert "- notes/\n- reference.pdf (1.2 MB)" in listing
    assert "- notes/todo.txt" in found
    assert "- Type: PDF document; named as application/pdf" in info


async def test_mistakes_are_fed_back_and_a_plain_text_reply_is_the_answer(
    workspace: Path,
) -> None:
    model = scripted(
        [
            tools(call("open_pdf", path="reference.pdf"), call("go_to_page", page="x")),
            tools(call("done", answer="")),
            {"text": "I could not find anything."},
        ]
    )
    reply = await surfer(workspace, model).step("Find it.", Activity(workspace).context)
    assert reply.text.startswith("I could not find anything.\n\n(file surfer location: no file")
    errors = [m.content for m in model.requests[2].messages if m.role == "tool"]
    assert errors[0].startswith("no file open\nError: unknown tool 'open_pdf'; the tools are: ")
    assert "bad arguments for go_to_page (page: Input should be a valid integer" in errors[1]
    assert errors[2] == "no file open\nError: done needs a non-empty answer"


async def test_after_max_actions_only_done_is_offered(workspace: Path) -> None:
    model = scripted(
        [
            tools(call("open_file", path="reference.pdf")),
            tools(call("find", text=FIGURE), call("page_down")),
            tools(call("done", answer=ANSWER)),
        ]
    )
    fs = surfer(workspace, model, max_actions=2)
    reply = await fs.step("Find it.", Activity(workspace).context)
    assert reply.text.startswith(ANSWER)
    final = model.requests[-1]
    assert [t.name for t in final.tools] == ["done"]
    assert final.tool_choice == "done"
    skipped = final.messages[-1]
    assert (
        skipped.content
        == "reference.pdf — page 27 of 261\nNot run: no actions left; answer with done."
    )
    assert fs.viewer.location() == "reference.pdf — page 27 of 261"  # page_down did not run


class NoForcedTool(ScriptedModel):
    """A server that rejects a named tool_choice, as some local OpenAI-compatible ones do."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.tool_choice not in (None, "auto", "required", "none"):
            raise UnsupportedFeature("400 tool_choice by name is not supported")
        return await super().complete(request)


async def test_a_server_that_cannot_force_done_is_asked_again_with_auto(workspace: Path) -> None:
    script = [
        tools(call("open_file", path="reference.pdf")),
        tools(call("done", answer="Only the cover so far.")),
    ]
    model = NoForcedTool(
        {"file_surfer": [ScriptedReply.model_validate(r) for r in script]},
        capabilities=Capabilities(tools=True),
    )
    reply = await surfer(workspace, model, max_actions=1).step("Read.", Activity(workspace).context)
    assert reply.text.startswith("Only the cover so far.")
    final = model.requests[-1]
    assert [t.name for t in final.tools] == ["done"]
    assert final.tool_choice == "auto"


async def test_a_model_that_never_answers_is_stopped(workspace: Path) -> None:
    model = scripted(
        [tools(call("open_file", path="reference.pdf"))] + [tools(call("page_down"))] * 2
    )
    reply = await surfer(workspace, model, max_actions=1).step("Read.", Activity(workspace).context)
    assert reply.error is None
    assert reply.text.startswith("I could not finish within this step's limit of 1 actions.")
    assert "reference.pdf — page 1 of 261" in reply.text
    assert len(model.requests) == 3  # 1 action + 2 calls offering only done: bounded


async def test_without_native_tools_each_action_is_structured_output(workspace: Path) -> None:
    model = scripted(
        [
            {"json": {"tool": "open_file", "path": "reference.pdf"}},
            {"json": {"tool": "go_to_page"}},  # no page: fed back, then corrected
            {"json": {"tool": "go_to_page", "page": 27}},
            {"json": {"tool": "done", "answer": ANSWER}},
        ],
        native_tools=False,
    )
    activity = Activity(workspace)
    reply = await surfer(workspace, model).step("Find it.", activity.context)
    assert reply.text.startswith(ANSWER)
    assert reply.evidence["page"] == "27"
    assert [d["name"] for k, d in activity.seen if k == "action"] == ["open_file", "go_to_page"]
    # The call it got wrong was fed back to the model, and is in the run's record.
    ((_kind, failed),) = [(k, d) for k, d in activity.seen if k == "action_failed"]
    assert (failed["action"], failed["problem"]) == ("go_to_page", "bad_arguments")
    assert "page" in failed["error"]
    assert all(r.tools == () and r.response_format is not None for r in model.requests)
    retry = model.requests[2].messages[-1].content
    assert retry.startswith("That reply could not be used: bad arguments for go_to_page")
    assert "its arguments: page" in retry
    result = model.requests[3].messages[-1]
    assert result.role == "user"
    assert result.content.startswith("Result of go_to_page:\nreference.pdf — page 27 of 261\n")
    assert FIGURE in result.content


async def test_structured_output_is_bounded_too(workspace: Path) -> None:
    model = scripted(
        [
            {"json": {"tool": "open_file", "path": "reference.pdf"}},
            {"json": {"tool": "page_down"}},  # not allowed: only done is left
            {"json": {"tool": "done", "answer": "Only the cover so far."}},
        ],
        native_tools=False,
    )
    reply = await surfer(workspace, model, max_actions=1).step("Read.", Activity(workspace).context)
    assert reply.text.startswith("Only the cover so far.")
    assert "No actions are left: answer now with done." in model.requests[1].messages[-1].content
    assert "no actions are left: the tool must be done" in model.requests[2].messages[-1].content


async def test_a_model_failure_is_a_reply_with_an_error(workspace: Path) -> None:
    model = scripted([{"error": {"kind": "bad_request", "message": "context too long"}}])
    reply = await surfer(workspace, model).step("Read.", Activity(workspace).context)
    assert reply.error == "400 context too long"
    assert reply.text.startswith("The file surfer's model failed: 400 context too long")


async def test_the_reader_stays_between_steps_until_reset(workspace: Path) -> None:
    model = scripted(
        [
            tools(call("open_file", path="reference.pdf"), call("go_to_page", page=27)),
            tools(call("done", answer="opened")),
            tools(call("page_down")),
            tools(call("done", answer="next page")),
        ]
    )
    fs = surfer(workspace, model)
    await fs.step("Open it.", Activity(workspace).context)
    reply = await fs.step("Next page.", Activity(workspace).context)
    assert reply.evidence["page"] == "28"
    assert "Where you are: reference.pdf — page 27 of 261" in model.requests[2].messages[1].content
    await fs.reset()
    assert fs.viewer.location() == "no file open"
    await fs.close()


def test_the_factory_needs_a_model_and_valid_settings(tmp_path: Path) -> None:
    env = TeamEnv("file_surfer", tmp_path, None, NoHuman())
    with pytest.raises(ModelConfigError, match="the file_surfer specialist needs a model"):
        create(env)
    model = scripted([])
    made = create(TeamEnv("file_surfer", tmp_path, model, NoHuman()))
    assert isinstance(made, Specialist)
    assert "password-protected" in made.description
    bad = {
        "page_chars": 10,
        "page_size": 5,
        "roots": [str(tmp_path / "missing")],
    }
    with pytest.raises(FileSurferConfigError) as caught:
        create(TeamEnv("file_surfer", tmp_path, model, NoHuman(), settings=bad))
    message = str(caught.value)
    assert (
        "specialists.file_surfer.page_chars: Input should be greater than or equal to 500"
        in message
    )
    assert "specialists.file_surfer.page_size: Extra inputs are not permitted" in message
    assert f"specialists.file_surfer.roots: {tmp_path / 'missing'} is not a folder" in message
    assert "\n" not in message


def test_the_public_names() -> None:
    import specialists.file_surfer as package

    assert sorted(package.__all__) == [
        "FileSurfer",
        "FileSurferConfigError",
        "FileSurferSettings",
        "create",
    ]


def test_the_tool_schemas_are_plain_json_schema() -> None:
    from specialists.file_surfer.tools import tool_specs

    specs = {s.name: s for s in tool_specs()}
    assert specs["open_file"].parameters["required"] == ["path"]
    assert specs["go_to_page"].parameters["properties"]["page"]["minimum"] == 1
    assert "title" not in json.dumps(specs["find_files"].parameters)
