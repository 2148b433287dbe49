"""The file surfer's settings: the config's `specialists.file_surfer` mapping, validated.

Example (orchestrator.yaml):

    specialists:
      file_surfer:
        roots: [~/papers, /srv/shared/reports]   # besides the run's workspace
        page_chars: 6000
        max_actions: 8
        max_file_mb: 100
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from specialists.base import SpecialistConfigError, settings_problems

PREFIX = "specialists.file_surfer"


class FileSurferConfigError(SpecialistConfigError):
    """The `specialists.file_surfer` settings are invalid; the message names the field."""


class FileSurferSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    roots: tuple[Path, ...] = Field(
        default=(), description="Folders it may read besides the run's workspace."
    )
    page_chars: int = Field(
        default=6000, ge=500, le=100_000, description="Characters per page of text."
    )
    max_actions: int = Field(
        default=8, ge=1, le=50, description="Tool calls allowed in one step before it must answer."
    )
    max_file_mb: float = Field(
        default=100, gt=0, le=10_000, description="Larger files (and ZIP members) are refused."
    )
    max_listing: int = Field(
        default=200, ge=10, le=10_000, description="Entries shown by list_folder and find_files."
    )
    max_result_chars: int = Field(
        default=40_000,
        ge=2_000,
        le=1_000_000,
        description="Every tool result is cut here, with a note (a page is ~page_chars).",
    )
    convert_seconds: float = Field(
        default=8,
        gt=0,
        le=3600,
        description="CPU-time cap on converting one Office/HTML/JSON file (raise it for huge ones).",
    )
    convert_memory_mb: int = Field(
        default=1536, ge=256, le=65_536, description="Memory cap of the converter process."
    )
    max_unpacked_mb: float = Field(
        default=512, gt=0, le=100_000, description="Cap on what an Office/ZIP file unpacks to."
    )

    @field_validator("roots", mode="before")
    @classmethod
    def _one_root_as_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | Path) else value

    @field_validator("roots")
    @classmethod
    def _existing_folders(cls, roots: tuple[Path, ...]) -> tuple[Path, ...]:
        resolved = []
        for root in roots:
            folder = root.expanduser().resolve()
            if not folder.is_dir():
                raise ValueError(f"{root} is not a folder")
            resolved.append(folder)
        return tuple(resolved)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1024 * 1024)


def load_settings(raw: Mapping[str, Any]) -> FileSurferSettings:
    """Validate `raw`; the error is one line naming `specialists.file_surfer.<field>`."""
    try:
        return FileSurferSettings.model_validate(dict(raw))
    except ValidationError as exc:
        raise FileSurferConfigError(settings_problems(exc, PREFIX)) from None
