"""A whole `orchestrator run` with the real OpenAI-compatible client, over real HTTP, against
a local server speaking the chat-completions API — the path a user with a real model takes."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from support.fake_openai import FakeOpenAI, Reply, chat_completion

from orchestrator.store import RunStore, list_runs

CLI = str(Path(sys.executable).parent / "orchestrator")


def judgement(answer: bool, reason: str) -> dict[str, Any]:
    return {"reason": reason, "answer": answer}


def ledger(done: bool, instruction: str) -> dict[str, Any]:
    return {
        "request_satisfied": judgement(done, "checked"),
        "in_loop": judgement(False, "no"),
        "progress_made": judgement(True, "yes"),
        "next_speaker": {"reason": "only they know", "answer": "user"},
        "instruction": {"reason": "needed", "answer": instruction},
    }


def reply(obj: dict[str, Any], tokens: tuple[int, int] = (120, 30)) -> Reply:
    return Reply(body=chat_completion(json.dumps(obj), usage=tokens, model="fake-model"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ORCHESTRATOR_", "OPENAI_", "AZURE_"))
    }
    env.update(COLUMNS="120", **extra)
    return env


def write_config(tmp_path: Path, base_url: str) -> Path:
    config = tmp_path / "orchestrator.yaml"
    config.write_text(
        "models:\n"
        "  default:\n"
        "    model: compatible:fake-model\n"
        f"    base_url: {base_url}\n"
        "    capabilities: {structured_output: true}\n"
        "    pricing: {input_per_mtok: 1.0, output_per_mtok: 2.0}\n"
        "team: [user]\n"
        "limits: {max_rounds: 5, max_seconds: 60}\n"
    )
    return config


def test_run_with_a_real_client_over_http(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        server.reply(
            reply({"given": ["a question"], "to_look_up": [], "to_derive": [], "guesses": ["42"]}),
            reply({"steps": [{"owner": "user", "action": "ask"}]}),
            Reply(
                status=429,
                body={"error": {"message": "slow down", "type": "rate_limit"}},
                headers={"Retry-After": "0"},
            ),
            reply(ledger(False, "Which answer do you want?")),
            reply(ledger(True, "none")),
            reply({"answer": "42", "evidence": ["nobody objected"], "confidence": "best_guess"}),
        )
        done = subprocess.run(
            [
                CLI,
                "run",
                "What is the answer?",
                "--config",
                str(write_config(tmp_path, server.base_url)),
                "--runs-dir",
                str(tmp_path / "runs"),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        requests = list(server.requests)
    assert done.returncode == 3, done.stderr  # best_guess
    assert done.stdout.splitlines()[0] == "42"
    assert done.stderr.startswith("best_guess (stop: satisfied)")
    assert len(requests) == 6
    first = requests[0].json
    assert first["model"] == "fake-model"
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["name"] == "Facts"
    # the 429 was retried with the same request
    assert requests[2].json == requests[3].json
    (run_dir,) = list_runs(tmp_path / "runs")
    store = RunStore(run_dir)
    result = store.load_result()
    assert result is not None
    assert result.status.value == "best_guess"
    assert result.stop_reason.value == "satisfied"
    assert result.tokens == 5 * 150
    assert result.cost_usd == round(5 * (120 * 1e-6 + 30 * 2e-6), 6)
    types = [getattr(e, "type", "") for e in store.events()]
    assert "model_retry" in types
    # the person was asked, and with nobody at a terminal the user specialist said so
    replied = [e for e in store.events() if getattr(e, "type", "") == "replied"]
    assert "No human is available" in replied[0].text  # type: ignore[attr-defined]


def test_doctor_makes_one_tiny_call(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        server.reply_completion("OK", usage=(12, 1))
        done = subprocess.run(
            [CLI, "doctor", "--config", str(write_config(tmp_path, server.base_url))],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=clean_env(),
            timeout=120,
        )
        requests = list(server.requests)
    assert len(requests) == 1
    assert requests[0].json["max_completion_tokens"] == 16
    assert "compatible:fake-model answered" in done.stdout
    assert "13 tokens" in done.stdout
    assert "Traceback" not in done.stderr
    # the model is fine; browser and sandbox may only warn on this machine
    assert done.returncode == 0, done.stdout


def test_doctor_reports_an_unreachable_model(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/v1")
    config.write_text(
        config.read_text().replace("    pricing", "    max_retries: 0\n    timeout: 5\n    pricing")
    )
    done = subprocess.run(
        [CLI, "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 1
    assert "compatible:fake-model" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def _read_until(fd: int, needle: str, deadline: float) -> str:
    seen = ""
    while needle not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {needle!r}; output so far:\n{seen}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
    return seen


def test_the_person_at_the_terminal_answers_the_teams_question(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        server.reply(
            reply({"given": [], "to_look_up": ["the city"], "to_derive": [], "guesses": []}),
            reply({"steps": [{"owner": "user", "action": "ask for the city"}]}),
            reply(ledger(False, "Which city is the team in?")),
            reply(ledger(True, "none")),
            reply(
                {
                    "answer": "Europe/Berlin",
                    "evidence": ["the person said Berlin"],
                    "confidence": "certain",
                }
            ),
        )
        main, child = pty.openpty()
        proc = subprocess.Popen(
            [
                CLI,
                "run",
                "Which time zone?",
                "--config",
                str(write_config(tmp_path, server.base_url)),
                "--runs-dir",
                str(tmp_path / "runs"),
            ],
            stdin=child,
            stdout=child,
            stderr=child,
            cwd=tmp_path,
            env=clean_env(NO_COLOR="1", TERM="dumb"),
        )
        os.close(child)
        try:
            deadline = time.monotonic() + 60
            _read_until(main, "The team asks you:", deadline)
            os.write(main, b"Berlin, all of us\n")
            output = _read_until(main, "run directory:", deadline)
            assert proc.wait(timeout=30) == 0
        finally:
            proc.kill()
            proc.wait()
            os.close(main)
        fourth = server.requests[3].json
    assert "Berlin, all of us" in json.dumps(
        fourth["messages"]
    )  # the answer reached the orchestrator
    assert "Europe/Berlin" in output
    assert "solved" in output


def test_run_flags_choose_the_model_and_the_limits(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/v1")
    with FakeOpenAI() as server:
        # Same provider as the config's default: its settings stay, with our server's URL.
        config.write_text(config.read_text().replace("http://127.0.0.1:9/v1", server.base_url))
        server.reply(
            reply({"given": [], "to_look_up": [], "to_derive": [], "guesses": []}),
            reply({"steps": [{"owner": "user", "action": "ask"}]}),
            reply(ledger(False, "Which answer?")),
            reply({"answer": "7", "evidence": [], "confidence": "best_guess"}),
        )
        done = subprocess.run(
            [
                *(CLI, "run", "What is the answer?", "--config", str(config)),
                *("--model", "compatible:other-model", "--max-rounds", "1"),
                *("--max-seconds", "50", "--max-cost", "0.25"),
                *("--runs-dir", str(tmp_path / "runs"), "--quiet"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        requests = list(server.requests)
    assert done.returncode == 3, done.stderr  # best_guess: the one round ran out
    assert {r.json["model"] for r in requests} == {"other-model"}
    (run_dir,) = list_runs(tmp_path / "runs")
    store = RunStore(run_dir)
    settings = store.load_config().settings
    assert settings.limits.max_rounds == 1
    assert settings.limits.max_seconds == 50
    assert settings.limits.max_cost_usd == 0.25
    result = store.load_result()
    assert result is not None
    assert result.stop_reason.value == "max_rounds"


def test_run_flags_out_of_range_are_refused_before_a_run_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/v1")
    for flag, value in (("--max-rounds", "-5"), ("--max-seconds", "0"), ("--max-cost", "0")):
        done = subprocess.run(
            [CLI, "run", "task", "--config", str(config), flag, value],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        assert done.returncode == 2, (flag, done.stderr)
        assert f"{flag}: Input should be greater than" in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()
