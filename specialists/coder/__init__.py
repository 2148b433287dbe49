"""The coder specialist: writes code, runs it in a sandbox, reads the result, fixes, reruns.

`create(env)` is its factory (entry point `coder = "specialists.coder:create"`). Settings
come from `specialists.coder` (see `settings.py`); the executors are in `executors/`.
"""

from __future__ import annotations

from specialists.base import Specialist, TeamEnv
from specialists.coder.coder import Coder
from specialists.coder.settings import CoderConfigError, CoderSettings, load

__all__ = ["Coder", "CoderConfigError", "CoderSettings", "create"]


def create(env: TeamEnv) -> Specialist:
    if env.model is None:
        raise CoderConfigError(
            f"{env.name}: no model is configured for the coder; set `models.{env.name}` "
            "or `models.default` (or give a scripted model with a `coder` script)"
        )
    return Coder(env.model, load(env.settings))
