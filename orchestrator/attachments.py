"""Files given with a task: described for the orchestrator, copied into the workspace.

The CLI (`run --attach`), scenarios (`fixtures.files[].attach: true`) and evaluation
suites (GAIA `file_name`, YAML `attachments`) all attach files the same way: the file
lands in the run's shared workspace, and the task block of every prompt lists its name,
type and size (a vision model is also shown attached images).
"""

from __future__ import annotations

import mimetypes
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from orchestrator.errors import OrchestratorError
from orchestrator.state import Attachment

MAX_ATTACHMENT_BYTES = 2 * 1024**3


def describe(src: Path, name: str | None = None) -> Attachment:
    """What the orchestrator is told about `src`, attached as `name` (default: its name).
    Raises OrchestratorError naming the file if it is not a regular, readable file."""
    try:
        info = src.stat()
    except OSError as exc:
        raise OrchestratorError(f"attachment {src}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise OrchestratorError(f"attachment {src}: not a regular file")
    if info.st_size > MAX_ATTACHMENT_BYTES:
        raise OrchestratorError(f"attachment {src}: larger than {MAX_ATTACHMENT_BYTES:,} bytes")
    media_type, _ = mimetypes.guess_type(src.name)
    return Attachment(
        name=name or src.name,
        media_type=media_type or "application/octet-stream",
        size=info.st_size,
    )


def describe_all(paths: Sequence[Path]) -> list[Attachment]:
    attachments = [describe(path) for path in paths]
    names = [a.name for a in attachments]
    if duplicate := next((n for n in names if names.count(n) > 1), None):
        raise OrchestratorError(f"two attachments are named {duplicate!r}: rename one")
    return attachments


def copy_in(workspace: Path, paths: Sequence[Path], attachments: Sequence[Attachment]) -> None:
    for src, attachment in zip(paths, attachments, strict=True):
        dest = workspace / attachment.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
