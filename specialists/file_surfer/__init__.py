"""The file surfer: reads files in the run's workspace as paged markdown.

`create(env)` is registered as the `file_surfer` entry point of `orchestrator.specialists`.
"""

from __future__ import annotations

from specialists.base import Specialist, TeamEnv
from specialists.file_surfer.settings import (
    FileSurferConfigError,
    FileSurferSettings,
    load_settings,
)
from specialists.file_surfer.surfer import FileSurfer
from specialists.models.protocol import ModelConfigError

__all__ = ["FileSurfer", "FileSurferConfigError", "FileSurferSettings", "create"]


def create(env: TeamEnv) -> Specialist:
    """The file surfer for a run. It needs a model (it decides which tools to use)."""
    if env.model is None:
        raise ModelConfigError(
            f"the {env.name} specialist needs a model: set models.{env.name} or models.default "
            "in the config (or give the scenario a scripted model)"
        )
    return FileSurfer(env, env.model, load_settings(env.settings))
