"""The web surfer's settings: `specialists.web_surfer` in the config or a scenario.

Validated once, when the team is assembled; a bad value is one line naming the field,
e.g. `specialists.web_surfer.max_actions_per_step: Input should be greater than 0`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from specialists.base import SpecialistConfigError

PREFIX = "specialists.web_surfer"


class WebSurferConfigError(SpecialistConfigError):
    """The web surfer's settings are invalid; the message names the field."""


class UrlPolicySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: list[str] = Field(
        default_factory=list,
        description="Hosts (globs like *.python.org) or networks (CIDR); if given, only these.",
    )
    block: list[str] = Field(default_factory=list, description="Hosts or networks never visited.")
    allow_private: list[str] = Field(
        default_factory=list,
        description=(
            "Private, loopback, link-local or cloud-metadata hosts/networks that may be "
            "visited anyway, e.g. ['127.0.0.1'] for local sites. Blocked otherwise."
        ),
    )
    file_roots: list[str] = Field(
        default_factory=list, description="Folders whose files may be opened as file:// URLs."
    )


STATE_CHANGING_URLS = (
    r"(?i)[?&](confirm|delete|remove|unsubscribe|approve|purchase|buy|pay|transfer|cancel)=",
    r"(?i)/(delete|remove|unsubscribe|logout|log-out|signout|sign-out|purchase|checkout|pay)"
    r"(/|\?|$)",
)


class RequestApprovalSettings(BaseModel):
    """Which requests of a page need the run's approval (besides forms, uploads, files)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    methods: list[str] = Field(
        default_factory=lambda: ["POST", "PUT", "PATCH", "DELETE"],
        description="Requests with these methods (a script button that POSTs) need approval.",
    )
    state_changing_urls: list[str] = Field(
        default_factory=lambda: list(STATE_CHANGING_URLS),
        description="Regular expressions: a page navigation whose URL matches one needs approval.",
    )

    @field_validator("state_changing_urls")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns


class Viewport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = Field(default=1280, ge=320, le=3840)
    height: int = Field(default=900, ge=240, le=2160)


class WebSurferSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    executable_path: str | None = Field(
        default=None,
        description="A Chromium/Chrome binary; default: Playwright's, then the system's.",
    )
    headless: bool | None = Field(default=None, description="Default: the run's setting.")
    profile_dir: str | None = Field(
        default=None, description="A persistent browser profile (keeps logins between runs)."
    )
    persist_cookies: bool = Field(
        default=False,
        description=(
            "Keep the browser's cookies in the run's checkpoint, so a resumed run is still "
            "logged in. Off by default: the checkpoint then holds session secrets."
        ),
    )
    reset_browser_on_replan: bool = Field(
        default=False, description="Close tabs and clear cookies when the orchestrator replans."
    )
    max_actions_per_step: int = Field(default=6, ge=1, le=30)
    viewport: Viewport = Field(default_factory=Viewport)
    navigation_timeout: float = Field(
        default=15.0, gt=0, description="Seconds to wait for a page before showing what arrived."
    )
    action_timeout: float = Field(default=5.0, gt=0, description="Seconds for one click/type.")
    settle_timeout: float = Field(
        default=2.0, ge=0, description="At most this long for a page to go quiet after an action."
    )
    max_elements: int = Field(default=60, ge=5, le=500)
    viewport_text_chars: int = Field(default=3000, ge=200)
    page_chars: int = Field(default=6000, ge=500, description="Characters per read_page part.")
    answer_chunk_chars: int = Field(default=12000, ge=1000)
    answer_max_chunks: int = Field(default=8, ge=1)
    download_max_mb: float = Field(default=100.0, gt=0)
    screenshots: bool = Field(
        default=True, description="Send set-of-marks screenshots to models that can see."
    )
    url_policy: UrlPolicySettings = Field(default_factory=UrlPolicySettings)
    request_approvals: RequestApprovalSettings = Field(default_factory=RequestApprovalSettings)
    search: dict[str, Any] = Field(
        default_factory=dict,
        description="Search provider settings, validated by the search package.",
    )


def load_settings(raw: Mapping[str, Any]) -> WebSurferSettings:
    """Validate `raw`; raise WebSurferConfigError with one line naming the field."""
    try:
        return WebSurferSettings.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise WebSurferConfigError(f"{PREFIX}.{where}: {first['msg']}{more}") from None
