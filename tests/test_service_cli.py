"""The CLI as a client: `orchestrator run --server URL` and `orchestrator runs --server URL`
against a real `orchestrator serve`, whose model is the real OpenAI-compatible client
talking to a local fake server; the team's question is answered over HTTP meanwhile."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from support import service
from support.fake_openai import FakeOpenAI
from test_real_model_run import ledger, reply, write_config


def test_run_and_runs_against_a_server(tmp_path: Path) -> None:
    with FakeOpenAI() as model:
        model.reply(
            reply({"given": ["a question"], "to_look_up": [], "to_derive": [], "guesses": []}),
            reply({"steps": [{"owner": "user", "action": "ask"}]}),
            reply(ledger(False, "Which colour do you want?")),
            reply(ledger(True, "none")),
            reply({"answer": "teal", "evidence": ["the person said so"], "confidence": "certain"}),
        )
        config = write_config(tmp_path, model.base_url)
        server = service.start(tmp_path / "runs", "--config", str(config))
        try:
            client = subprocess.Popen(
                [
                    str(service.ORCHESTRATOR),
                    "run",
                    "--server",
                    server.url,
                    "--team",
                    "user",
                    "--max-rounds",
                    "4",
                    "Pick a colour for me.",
                ],
                env=service.clean_env(COLUMNS="120"),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            with server.client() as http:
                deadline = time.monotonic() + 60
                asked = None
                while asked is None and time.monotonic() < deadline:
                    for run in http.get("/api/runs").json()["runs"]:
                        asks = http.get(f"/api/runs/{run['run_id']}").json()["asks"]
                        asked = next(
                            ((run["run_id"], a["id"]) for a in asks if a["status"] == "pending"),
                            None,
                        )
                    time.sleep(0.05)
                assert asked is not None, "the question never arrived"
                http.post(
                    f"/api/runs/{asked[0]}/questions/{asked[1]}", json={"answer": "teal, please"}
                )
            out, err = client.communicate(timeout=60)
            assert client.returncode == 0, err
            assert "The team waits for a person: Which colour do you want?" in out
            assert "teal" in out
            assert "run_finished" not in err
            assert f"run {asked[0]} at {server.url} (finished)" in " ".join(out.split())
            listing = subprocess.run(
                [str(service.ORCHESTRATOR), "runs", "--server", server.url],
                env=service.clean_env(COLUMNS="200"),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert listing.returncode == 0, listing.stderr
            assert asked[0] in listing.stdout
            assert "finished" in listing.stdout
            down = subprocess.run(
                [str(service.ORCHESTRATOR), "runs", "--server", "http://127.0.0.1:9"],
                env=service.clean_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert down.returncode == 2
            assert "cannot reach the server" in down.stderr
            assert "Traceback" not in down.stderr
        finally:
            server.stop()
