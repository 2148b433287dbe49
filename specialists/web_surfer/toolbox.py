"""What every action gets (`ActionEnv`) and the arguments each action takes.

Arguments are pydantic models: they are model output, validated at the edge, and their
JSON schemas are the tool specs the model sees. A validation error goes back to the
model as the action's result, naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from specialists.base import ApprovalRequest, StepContext
from specialists.models.protocol import ModelClient
from specialists.web_surfer.documents import FileIntake
from specialists.web_surfer.driver import Driver, Refused

NAME = "web_surfer"


@dataclass
class ActionEnv:
    driver: Driver
    context: StepContext
    intake: FileIntake
    model: ModelClient
    search: Callable[[str], Awaitable[str]]
    notes: list[str] = field(default_factory=list)  # shown with the next observation
    restarts: list[str] = field(default_factory=list)  # browser replacements this step

    async def approve(self, action: str, detail: str, *, risky: bool) -> None:
        """Ask the run's approval policy; a refusal becomes an ActionError for the model."""
        detail = self.driver.secrets.redact(detail)  # approvals are recorded as events
        approved = await self.context.approve(ApprovalRequest(NAME, action, detail, risky=risky))
        if not approved:
            raise Refused(f"not done: '{action}' was not approved ({detail})")

    async def approve_request(self, action: str, detail: str) -> bool:
        """For the request guard: may the page send this request (a POST, a state-changing
        link)? Asked through the run's approval policy, like a form submission."""
        detail = self.driver.secrets.redact(detail)
        return await self.context.approve(ApprovalRequest(NAME, action, detail, risky=True))


class Args(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoArgs(Args):
    pass


class ElementArgs(Args):
    id: int = Field(ge=1, description="The element's [id] in the latest observation.")


class SearchArgs(Args):
    query: str = Field(min_length=1, description="What to search the web for.")


class VisitArgs(Args):
    url: str = Field(min_length=1, description="An absolute http(s) URL.")


class TypeArgs(ElementArgs):
    text: str = Field(description="The text to type.")
    submit: bool = Field(default=False, description="Press Enter afterwards (submits a form).")
    append: bool = Field(default=False, description="Keep the field's text and type after it.")
    secret: bool = Field(
        default=False,
        description="The text is a secret (password, token, code): it is never echoed or logged. "
        "Password fields are treated so anyway.",
    )


class SelectArgs(ElementArgs):
    option: str = Field(min_length=1, description="The option's visible text (or its value).")


class KeyArgs(Args):
    key: str = Field(
        min_length=1, description="A key or chord, e.g. Enter, Escape, ArrowDown, Control+A."
    )


class ScrollArgs(Args):
    direction: Literal["down", "up", "top", "bottom"] = "down"
    pages: float = Field(default=1.0, gt=0, le=20, description="How many viewport heights.")


class TabArgs(Args):
    tab: int = Field(ge=1, description="The tab's number from list_tabs.")


class FindArgs(Args):
    text: str = Field(min_length=1, description="Text to look for (case-insensitive).")
    occurrence: int = Field(default=1, ge=1, description="Which match to scroll to.")


class ReadArgs(Args):
    part: int = Field(default=1, ge=1, description="Which part of the page to read.")


class QuestionArgs(Args):
    question: str = Field(min_length=1)


class DownloadArgs(Args):
    url: str | None = Field(default=None, description="The file's URL.")
    id: int | None = Field(default=None, ge=1, description="Or a link's [id].")

    @model_validator(mode="after")
    def _one_target(self) -> DownloadArgs:
        if (self.url is None) == (self.id is None):
            raise ValueError("give exactly one of url or id")
        return self


class UploadArgs(ElementArgs):
    path: str = Field(min_length=1, description="A file in the run's workspace (relative path).")


class DoneArgs(Args):
    answer: str = Field(
        min_length=1,
        description="Your answer or report for the orchestrator: what you found or did.",
    )


def schema_of(args: type[BaseModel]) -> dict[str, Any]:
    """The arguments' JSON schema for a tool spec, without pydantic's titles."""

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    schema: dict[str, Any] = clean(args.model_json_schema())
    schema.setdefault("properties", {})
    return schema
