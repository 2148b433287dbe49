"""The file surfer's tools: their specs for the model, argument checks, and dispatch.

Native tool calling gets one ToolSpec per action. A model without tools gets the same
actions as one structured-output schema (`OneAction`: the tool's name plus its
arguments as optional fields), checked against the same argument models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from specialists.file_surfer.viewer import Viewer
from specialists.models.protocol import ToolSpec
from specialists.models.structured import describe
from specialists.record import Problem


class Args(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoArgs(Args):
    pass


class OpenArgs(Args):
    path: str = Field(min_length=1, description="File path, relative to the workspace.")
    member: str | None = Field(
        default=None, description="For a ZIP archive: the member to open, as listed."
    )
    password: str | None = Field(
        default=None,
        description="For a password-protected PDF: the password, only if the person gave it.",
    )


class PageArgs(Args):
    page: int = Field(ge=1, description="Page number, from 1.")


class FindArgs(Args):
    text: str = Field(min_length=1, description="Words or a number to find (any case).")


class FolderArgs(Args):
    path: str = Field(default=".", description="Folder path; '.' is the workspace.")


class FindFilesArgs(Args):
    pattern: str = Field(
        min_length=1, description="A glob such as '*.pdf' or 'data/**/*.csv', or part of a name."
    )
    folder: str = Field(default=".", description="Where to search; '.' is the workspace.")


class InfoArgs(Args):
    path: str = Field(min_length=1, description="File or folder path.")


class DoneArgs(Args):
    answer: str = Field(
        min_length=1,
        description="The complete answer for the orchestrator: the facts found, quoted "
        "exactly, with file and page; or why they could not be found.",
    )


ToolName = Literal[
    "open_file",
    "page_down",
    "page_up",
    "go_to_page",
    "find",
    "find_next",
    "list_folder",
    "find_files",
    "file_info",
    "done",
]
DONE: ToolName = "done"

TOOLS: dict[str, tuple[type[Args], str]] = {
    "open_file": (OpenArgs, "Open a file at page 1 (a ZIP lists its members)."),
    "page_down": (NoArgs, "Show the next page of the open file."),
    "page_up": (NoArgs, "Show the previous page of the open file."),
    "go_to_page": (PageArgs, "Show a given page of the open file."),
    "find": (FindArgs, "Find text in the whole open file; shows the first match's page."),
    "find_next": (NoArgs, "Show the next match of the last find."),
    "list_folder": (FolderArgs, "List a folder's files and subfolders."),
    "find_files": (FindFilesArgs, "Find files by name or glob pattern in a folder tree."),
    "file_info": (InfoArgs, "Type, size and date of a file or folder, without opening it."),
    "done": (DoneArgs, "Finish this step and give your answer to the orchestrator."),
}
assert set(TOOLS) == set(get_args(ToolName))


def _schema(model: type[Args]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def tool_specs(names: tuple[str, ...] = tuple(TOOLS)) -> tuple[ToolSpec, ...]:
    return tuple(ToolSpec(n, TOOLS[n][1], _schema(TOOLS[n][0])) for n in names)


class BadCall(ValueError):
    """A tool call the model got wrong; the message is fed back to it. `problem` says how."""

    def __init__(self, message: str, problem: Problem = "bad_arguments") -> None:
        super().__init__(message)
        self.problem: Problem = problem


def parse(name: str, arguments: str | dict[str, Any]) -> Args:
    if name not in TOOLS:
        raise BadCall(f"unknown tool '{name}'; the tools are: {', '.join(TOOLS)}", "unknown_tool")
    try:
        raw = json.loads(arguments or "{}") if isinstance(arguments, str) else arguments
        return TOOLS[name][0].model_validate(raw)
    except (ValidationError, json.JSONDecodeError) as exc:
        fields = ", ".join(TOOLS[name][0].model_fields) or "none"
        raise BadCall(
            f"bad arguments for {name} ({describe(exc)}); its arguments: {fields}"
        ) from None


def run(viewer: Viewer, name: str, args: Args) -> str:
    """Perform one (non-`done`) action and return what the model sees; why it could
    not be done, if so, is left in `viewer.failure`."""
    viewer.failure = None
    actions: dict[str, Callable[[], str]] = {
        "page_down": viewer.page_down,
        "page_up": viewer.page_up,
        "find_next": viewer.find_next,
    }
    if name in actions:
        return actions[name]()
    if isinstance(args, OpenArgs):
        return viewer.open(args.path, args.member, args.password)
    if isinstance(args, PageArgs):
        return viewer.go_to_page(args.page)
    if isinstance(args, FindArgs):
        return viewer.find(args.text)
    if isinstance(args, FolderArgs):
        return viewer.list_folder(args.path)
    if isinstance(args, FindFilesArgs):
        return viewer.find_files(args.pattern, args.folder)
    if isinstance(args, InfoArgs):
        return viewer.file_info(args.path)
    raise BadCall(f"{name} cannot be run here")


class OneAction(BaseModel):
    """One action, for models without tool calling: `tool` plus that tool's arguments;
    leave the other fields null."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: ToolName
    path: str | None = None
    member: str | None = None
    password: str | None = None
    page: int | None = None
    text: str | None = None
    pattern: str | None = None
    folder: str | None = None
    answer: str | None = None

    def arguments(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"tool"}).items() if v is not None}


def check_action(action: OneAction) -> None:
    parse(action.tool, action.arguments())  # BadCall is a ValueError: fed back on retry
