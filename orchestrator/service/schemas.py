"""What the HTTP API accepts: strict pydantic models (an unknown field is a 422 naming it)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from ledgers import Limits
from orchestrator.config import ApprovalMode
from orchestrator.scenarios.schema import RealChoice, Scenario, ScriptedChoice, _model_kind

_Strict = ConfigDict(extra="forbid", frozen=True)


class AttachmentIn(BaseModel):
    model_config = _Strict

    name: str = Field(min_length=1, max_length=200, description="A plain file name.")
    content_base64: str = Field(description="The file's bytes, base64-encoded.")

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str) -> str:
        if "/" in value or "\\" in value or value.startswith(".") or "\x00" in value:
            raise ValueError("give a plain file name (no folders, not starting with a dot)")
        return value

    def content(self) -> bytes:
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                f"attachment {self.name!r}: content_base64 is not valid base64"
            ) from None


ModelChoice = Annotated[
    Annotated[ScriptedChoice, Tag("scripted")] | Annotated[RealChoice, Tag("real")],
    Discriminator(_model_kind),
]


class CreateRun(BaseModel):
    """A task (with optional team, model, limits, approvals, attachments), or a scenario."""

    model_config = _Strict

    task: str | None = Field(default=None, min_length=1, max_length=100_000)
    scenario: str | None = Field(
        default=None, min_length=1, description="A scenario file's contents (YAML)."
    )
    team: list[str] | None = Field(default=None, min_length=1)
    model: ModelChoice | None = Field(
        default=None,
        description="'openai:gpt-4o', {role: model}, or {scripted: {script: ...}}.",
    )
    limits: Limits | None = None
    approvals: ApprovalMode | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=50)

    @field_validator("model", mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return Scenario._real_shorthand(value)

    @model_validator(mode="after")
    def _task_or_scenario(self) -> CreateRun:
        if (self.task is None) == (self.scenario is None):
            raise ValueError("give exactly one of `task` or `scenario`")
        given = [
            k for k in ("team", "model", "limits", "approvals") if getattr(self, k) is not None
        ]
        if self.scenario is not None and (given or self.attachments):
            raise ValueError(
                f"with `scenario`, give nothing else (found: {', '.join(given or ['attachments'])}); "
                "the scenario sets them"
            )
        return self


class Answer(BaseModel):
    """The answer to a question (`answer`; null declines) or an approval (`approved`)."""

    model_config = _Strict

    answer: str | None = Field(default=None, max_length=100_000)
    approved: bool | None = None
