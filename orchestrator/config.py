"""User settings: one validated YAML file, with environment variables on top.

Lookup order for the file: `--config PATH`, `$ORCHESTRATOR_CONFIG`, `./orchestrator.yaml`,
`~/.config/orchestrator/config.yaml`. Environment variables override it:
`ORCHESTRATOR_MODEL` (the default model), `ORCHESTRATOR_MODEL_<ROLE>` (e.g.
`ORCHESTRATOR_MODEL_WEB_SURFER`) and `ORCHESTRATOR_RUNS_DIR`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledgers import ContextRules, Limits, StallRules
from orchestrator.models.scripted import ScriptedReply
from orchestrator.models.spec import CapabilityOverrides, ModelSpec, Pricing
from orchestrator.purposes import Purpose

ApprovalMode = Literal["never", "risky", "always"]
DEFAULT_TEAM = ["web_surfer", "file_surfer", "coder", "user"]
CONFIG_ENV = "ORCHESTRATOR_CONFIG"


def _spec_shorthand(value: Any) -> Any:
    return {"model": value} if isinstance(value, str) else value


Durability = Literal["round", "event", "none"]  # see orchestrator.store


class ScriptedModelConfig(BaseModel):
    """A scripted model for offline runs: replies keyed by purpose."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    script: dict[Purpose, list[ScriptedReply]] = Field(
        description="Purpose → its replies, in order (see the script keys)."
    )
    capabilities: CapabilityOverrides = Field(
        default_factory=CapabilityOverrides,
        description="What the scripted model can do (default: everything but vision); "
        "`tools: false` makes specialists ask for one JSON action per turn instead.",
    )
    pricing: Pricing | None = Field(default=None, description="To test cost limits.")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    models: dict[str, ModelSpec] = Field(
        default_factory=dict,
        description="Models by role: 'default', 'orchestrator' or a specialist's name.",
    )
    team: list[str] = Field(default_factory=lambda: list(DEFAULT_TEAM), min_length=1)
    limits: Limits = Field(default_factory=Limits)
    stall: StallRules = Field(default_factory=StallRules)
    context: ContextRules = Field(default_factory=ContextRules)
    approvals: ApprovalMode = "risky"
    headed: bool = Field(default=False, description="Show the browser's window.")
    runs_dir: Path = Path("runs")
    durability: Durability = Field(
        default="round",
        description=(
            "When the run dir is fsynced: once per round with the checkpoint (a group "
            "commit), after every event too, or never (a crash of the machine, not of "
            "the process, may then lose rounds)."
        ),
    )
    specialists: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Settings passed to each specialist by name."
    )
    final_answer_seconds: float = Field(
        default=120, gt=0, description="Time allowed for the final answer, even after a limit."
    )

    @field_validator("models", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"default": {"model": value}}
        if isinstance(value, Mapping):
            return {role: _spec_shorthand(spec) for role, spec in value.items()}
        return value

    def model_for(self, role: str) -> ModelSpec | None:
        return self.models.get(role) or self.models.get("default")


def find_config(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    for candidate in (Path("orchestrator.yaml"), Path.home() / ".config/orchestrator/config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def apply_env(settings: Settings, environ: Mapping[str, str]) -> Settings:
    models = dict(settings.models)
    if environ.get("ORCHESTRATOR_MODEL"):
        models["default"] = _merge(models.get("default"), environ["ORCHESTRATOR_MODEL"])
    prefix = "ORCHESTRATOR_MODEL_"
    for key, value in environ.items():
        if key.startswith(prefix) and value:
            role = key[len(prefix) :].lower()
            models[role] = _merge(models.get(role), value)
    update: dict[str, Any] = {"models": models}
    if environ.get("ORCHESTRATOR_RUNS_DIR"):
        update["runs_dir"] = Path(environ["ORCHESTRATOR_RUNS_DIR"])
    return settings.model_copy(update=update)


def with_model(settings: Settings, model: str) -> Settings:
    """Every role on `model` (a `--model` flag). The configured default's other settings
    (timeout, base_url, key variable, ...) are kept if it names the same provider; a
    different provider starts from its own defaults, since another server's URL or
    capability overrides would be wrong for it."""
    spec = ModelSpec(model=model)
    default = settings.models.get("default")
    if default is not None and default.provider == spec.provider:
        spec = default.model_copy(update={"model": model})
    return settings.model_copy(update={"models": {"default": spec}})


def _merge(existing: ModelSpec | None, model: str) -> ModelSpec:
    return existing.model_copy(update={"model": model}) if existing else ModelSpec(model=model)


def load_settings(
    explicit: Path | None, environ: Mapping[str, str]
) -> tuple[Settings, Path | None]:
    """The effective settings and the file they came from (None: defaults only)."""
    path = find_config(explicit, environ)
    settings = _load_file(path) if path is not None else Settings()
    return apply_env(settings, environ), path


def _load_file(path: Path) -> Settings:
    """The file's settings; names that only mean something at run time (a specialist, a
    model's provider) are checked now, so their error points at the file's line too."""
    from orchestrator import team as team_registry
    from orchestrator.models.providers import PROVIDERS
    from orchestrator.yamlfile import load_located

    located = load_located(path, Settings)
    known = team_registry.available()
    for i, name in enumerate(located.value.team):
        if name not in known:
            listed = ", ".join(sorted(known))
            raise located.error(("team", i), f"unknown specialist {name!r}; available: {listed}")
    for role, spec in located.value.models.items():
        if spec.provider not in PROVIDERS:
            listed = ", ".join(sorted(PROVIDERS))
            raise located.error(
                ("models", role), f"unknown provider {spec.provider!r}; use one of {listed}"
            )
    return located.value
