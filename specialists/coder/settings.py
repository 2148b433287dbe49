"""The coder's settings (`specialists.coder` in the config or a scenario), and the
executor they choose.

    specialists:
      coder:
        executor: sandbox          # sandbox (default) | docker | local (unsandboxed!)
        image: orchestrator-sandbox:latest   # docker only
        allow_network: false
        max_rounds: 5              # rounds of write → run → read → fix per step
        risky: true                # running code counts as risky for `approvals: risky`
        limits: {timeout_seconds: 30, memory_mb: 1024, processes: 64, ...}

Unknown keys and bad values are errors that name the field, e.g.
`specialists.coder.limits.timeout_seconds: Input should be greater than 0`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from specialists.base import SpecialistConfigError
from specialists.coder.executors.base import ExecLimits, Executor
from specialists.coder.executors.docker import DockerExecutor
from specialists.coder.executors.local import LocalExecutor
from specialists.coder.executors.sandbox import SandboxExecutor

PREFIX = "specialists.coder"
_Strict = ConfigDict(frozen=True, extra="forbid")


class CoderConfigError(SpecialistConfigError):
    """The coder cannot be built from its settings; the message says what to fix."""


class LimitSettings(BaseModel):
    model_config = _Strict

    timeout_seconds: float = Field(default=30, gt=0, le=3600, description="Wall clock per block.")
    memory_mb: int = Field(default=1024, ge=64, description="Address space (container memory).")
    cpu_seconds: int = Field(default=30, ge=1)
    file_size_mb: int = Field(default=256, ge=1, description="Largest file; also /tmp's size.")
    open_files: int = Field(default=256, ge=16)
    processes: int = Field(default=64, ge=4)
    cpus: float = Field(default=1.0, gt=0, description="Docker only: CPU cores.")
    output_bytes: int = Field(default=16_000, ge=1_000, description="Output kept per stream.")
    max_output_mb: int = Field(default=64, ge=1, description="Output read before stopping.")

    def to_limits(self) -> ExecLimits:
        return ExecLimits(**self.model_dump())


class CoderSettings(BaseModel):
    model_config = _Strict

    executor: Literal["sandbox", "docker", "local"] = "sandbox"
    limits: LimitSettings = Field(default_factory=LimitSettings)
    image: str = Field(default="orchestrator-sandbox:latest", min_length=1)
    allow_network: bool = False
    max_rounds: int = Field(default=5, ge=1, le=20)
    max_blocks_per_round: int = Field(default=5, ge=1, le=20)
    risky: bool = Field(default=True, description="Whether running code is a risky action.")
    python: str = Field(default="python3", min_length=1, description="Interpreter command.")
    bwrap: str = Field(default="bwrap", min_length=1, description="The bubblewrap binary.")
    sandbox_uid: int = Field(default=65534, ge=1, description="Unprivileged uid (as root).")
    extra_binds: list[str] = Field(
        default_factory=list, description="More host folders the sandbox may read."
    )
    history_chars: int = Field(default=60_000, ge=5_000, description="Conversation kept.")


def load(raw: Mapping[str, Any]) -> CoderSettings:
    try:
        return CoderSettings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = [
            f"{'.'.join([PREFIX, *(str(p) for p in err['loc'])])}: {err['msg']}"
            for err in exc.errors()
        ]
        raise CoderConfigError("; ".join(problems)) from None


def build_executor(settings: CoderSettings, run_id: str) -> Executor:
    if settings.executor == "docker":
        return DockerExecutor(
            image=settings.image,
            run_id=run_id,
            allow_network=settings.allow_network,
            uid=settings.sandbox_uid,
        )
    if settings.executor == "local":
        return LocalExecutor(python=settings.python)
    return SandboxExecutor(
        bwrap_path=settings.bwrap,
        uid=settings.sandbox_uid,
        python=settings.python,
        allow_network=settings.allow_network,
        extra_binds=tuple(settings.extra_binds),
    )
