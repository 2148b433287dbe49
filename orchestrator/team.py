"""Assembling the team from the `orchestrator.specialists` entry-point group.

A third-party package adds a specialist by declaring, in its pyproject.toml:

    [project.entry-points."orchestrator.specialists"]
    my_specialist = "my_package.module:create"   # create(env: TeamEnv) -> Specialist
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from importlib.metadata import entry_points

from orchestrator.errors import OrchestratorError
from specialists.base import Specialist, SpecialistFactory, TeamEnv
from specialists.models.protocol import ModelError

GROUP = "orchestrator.specialists"

# Our own specialists, also registered as entry points; listed here so a source checkout
# that was never pip-installed still has them.
BUILTIN = {
    "user": "specialists.user:create",
    "web_surfer": "specialists.web_surfer:create",
    "file_surfer": "specialists.file_surfer:create",
    "coder": "specialists.coder:create",
    "mcp": "specialists.mcp_tools:create",
}


def _load(target: str) -> SpecialistFactory:
    module, _, attr = target.partition(":")
    factory: SpecialistFactory = getattr(importlib.import_module(module), attr)
    return factory


def available() -> dict[str, Callable[[], SpecialistFactory]]:
    """Specialist names → loaders (imported lazily: a browser specialist is heavy)."""
    found: dict[str, Callable[[], SpecialistFactory]] = {
        name: functools.partial(_load, target) for name, target in BUILTIN.items()
    }
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.load
    return found


def family(name: str) -> str:
    """`mcp:git` is an instance of the `mcp` specialist: built by its factory, and given the
    family's settings (`specialists.mcp`) unless it has its own."""
    return name.partition(":")[0]


def build(names: Sequence[str], env_for: Callable[[str], TeamEnv]) -> dict[str, Specialist]:
    registry = available()
    unknown = [n for n in names if family(n) not in registry]
    if unknown:
        raise OrchestratorError(
            f"unknown specialist(s): {', '.join(unknown)}; available: {', '.join(sorted(registry))}"
        )
    team: dict[str, Specialist] = {}
    for name in names:
        try:
            factory = registry[family(name)]()
        except (ImportError, AttributeError) as exc:
            raise OrchestratorError(
                f"specialist {name!r} could not be loaded ({exc}); is its package installed?"
            ) from exc
        env = env_for(name)
        if family(name) != name and not env.settings:
            env = replace(env, settings=env_for(family(name)).settings)
        try:
            team[name] = factory(env)
        except (ValueError, ModelError) as exc:  # settings or model unusable: say which
            raise OrchestratorError(f"specialist {name!r} cannot start: {exc}") from exc
    return team


def describe(team: Mapping[str, Specialist]) -> list[tuple[str, str]]:
    return [(name, s.description) for name, s in team.items()]
