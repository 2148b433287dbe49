"""The MCP specialist's settings: the config's `specialists.mcp` mapping, validated.

Example (orchestrator.yaml):

    team: [mcp, coder]            # `mcp`: every server below; `mcp:git`: that server alone
    specialists:
      mcp:
        max_calls: 6              # tool calls per step before it must answer
        servers:
          time:
            command: mcp-server-time
            args: [--local-timezone, Europe/Berlin]
          git:
            command: mcp-server-git
            args: [--repository, ~/src/project]
            side_effects: [git_checkout]    # besides tools not annotated read-only
          search:
            url: http://127.0.0.1:8000/mcp  # streamable HTTP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from specialists.base import SpecialistConfigError, settings_problems

PREFIX = "specialists.mcp"


class McpConfigError(SpecialistConfigError):
    """The `specialists.mcp` settings are invalid; the message names the field."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    command: str | None = Field(default=None, description="A stdio server's program.")
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")
    cwd: Path | None = None
    url: str | None = Field(default=None, description="A streamable HTTP server's endpoint.")
    description: str = Field(default="", description="What the server is for, for the planner.")
    tools: tuple[str, ...] | None = Field(default=None, description="Offer only these tools.")
    side_effects: tuple[str, ...] = Field(
        default=(),
        description="Tools that change something ('*': all); they pass the approval policy as "
        "risky. Tools the server does not annotate read-only count as side-effecting too.",
    )
    start_seconds: float = Field(default=30, gt=0, le=600, description="Time to connect.")
    call_seconds: float = Field(default=60, gt=0, le=3600, description="Time per tool call.")

    @model_validator(mode="after")
    def _one_transport(self) -> ServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command (stdio) or url (streamable HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, not {self.url!r}")
        return self

    def where(self) -> str:
        return self.url or " ".join((self.command or "", *self.args))


class McpSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    servers: dict[str, ServerSettings] = Field(min_length=1)
    max_calls: int = Field(default=6, ge=1, le=50, description="Tool calls per step.")
    max_result_chars: int = Field(
        default=8000, ge=200, le=200_000, description="A tool result is cut to this size."
    )
    description: str | None = Field(default=None, description="Replaces the default one.")


def load_settings(raw: Mapping[str, Any]) -> McpSettings:
    """Validate `raw`; the error is one line naming `specialists.mcp.<field>`."""
    try:
        return McpSettings.model_validate(dict(raw))
    except ValidationError as exc:
        raise McpConfigError(settings_problems(exc, PREFIX)) from None
