"""Settings from one YAML file plus environment variables; per-role models inherit a default."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import Settings, load_settings
from orchestrator.errors import ConfigFileError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orchestrator.yaml"
    path.write_text(text)
    return path


def test_roles_inherit_the_default_model(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models:\n  default: openai:gpt-4o\n  web_surfer: {model: ollama:qwen2.5-vl, timeout: 30}\n",
    )
    settings, found = load_settings(path, {})
    assert found == path
    assert settings.model_for("orchestrator").model == "openai:gpt-4o"  # type: ignore[union-attr]
    surfer = settings.model_for("web_surfer")
    assert surfer is not None
    assert (surfer.model, surfer.timeout, surfer.provider, surfer.model_name) == (
        "ollama:qwen2.5-vl",
        30,
        "ollama",
        "qwen2.5-vl",
    )


def test_a_plain_string_is_the_default_model(tmp_path: Path) -> None:
    settings, _ = load_settings(write(tmp_path, "models: vllm:llama-3\n"), {})
    assert settings.model_for("coder").model == "vllm:llama-3"  # type: ignore[union-attr]


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "models:\n  default: {model: openai:gpt-4o, timeout: 45}\nruns_dir: here\n"
    )
    env = {
        "ORCHESTRATOR_MODEL": "openai:gpt-4.1",
        "ORCHESTRATOR_MODEL_CODER": "ollama:qwen2.5-coder",
        "ORCHESTRATOR_RUNS_DIR": "/tmp/elsewhere",
    }
    settings, _ = load_settings(path, env)
    default = settings.model_for("orchestrator")
    assert default is not None
    assert (default.model, default.timeout) == ("openai:gpt-4.1", 45)  # other fields kept
    assert settings.model_for("coder").model == "ollama:qwen2.5-coder"  # type: ignore[union-attr]
    assert settings.runs_dir == Path("/tmp/elsewhere")


def test_config_file_is_found_through_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "approvals: always\n")
    settings, found = load_settings(None, {"ORCHESTRATOR_CONFIG": str(path)})
    assert found == path
    assert settings.approvals == "always"


def test_no_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings, found = load_settings(None, {})
    assert found is None
    assert settings == Settings()
    assert settings.model_for("orchestrator") is None


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "models:\n  default: {model: openai:gpt-4o, timeout: -1}\n")
    with pytest.raises(ConfigFileError) as error:
        load_settings(path, {})
    assert str(error.value).startswith(f"{path}:2:")
    assert "models.default.timeout: Input should be greater than 0" in str(error.value)


def test_an_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="file not found"):
        load_settings(tmp_path / "nope.yaml", {})
