"""`orchestrator serve` over real HTTP on 127.0.0.1: a real server subprocess, scripted
models, run directories on disk. The whole API, SSE resumption, people answering over
HTTP, cancel, kill -9 and restart, and bad requests answered with a located 4xx."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import service

from orchestrator.store import RESULT, RunStore

DATA = Path(__file__).parent / "data"
ASK = (DATA / "service" / "ask_and_approve.yaml").read_text()
SLOW = (DATA / "resume" / "slow_run.yaml").read_text()
PLAIN = (Path(__file__).parent.parent / "scenarios" / "core" / "plain_success.yaml").read_text()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[service.Server]:
    runs = tmp_path_factory.mktemp("service") / "runs"
    running = service.start(runs, "--max-concurrent", "3", "--max-body-mb", "1")
    yield running
    running.stop()


@pytest.fixture
def client(server: service.Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def create(client: httpx.Client, **body: Any) -> str:
    reply = client.post("/api/runs", json=body)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["run_id"])


def until(check: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {check}")


def run_state(client: httpx.Client, run_id: str) -> dict[str, Any]:
    reply = client.get(f"/api/runs/{run_id}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def finished(client: httpx.Client, run_id: str, seconds: float = 60.0) -> dict[str, Any]:
    return dict(
        until(lambda: (r := run_state(client, run_id))["state"] == "finished" and r, seconds)
    )


def pending(client: httpx.Client, run_id: str, kind: str) -> dict[str, Any]:
    def one() -> dict[str, Any] | None:
        asks = [a for a in run_state(client, run_id)["asks"] if a["status"] == "pending"]
        return next((a for a in asks if a["kind"] == kind), None)

    return dict(until(one))


def scripted(scenario_text: str) -> dict[str, Any]:
    """The `model:` section of a scenario, as a request's `model` field."""
    import yaml

    return dict(yaml.safe_load(scenario_text)["model"])


# --- the API -------------------------------------------------------------------------------


def test_openapi_describes_the_api(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/runs/{run_id}/events",
        "/api/runs/{run_id}/questions/{ask_id}",
        "/api/runs/{run_id}/approvals/{ask_id}",
        "/api/runs/{run_id}/cancel",
        "/api/runs/{run_id}/resume",
        "/api/runs/{run_id}/files/{path}",
    ):
        assert path in spec["paths"], path
    assert "CreateRun" in spec["components"]["schemas"]


def test_a_scenario_runs_and_its_events_stream_to_the_end(
    client: httpx.Client, server: service.Server
) -> None:
    run_id = create(client, scenario=PLAIN)
    events = list(service.sse_events(client, run_id))
    assert events[0]["event"] == "run_started"
    assert events[-1]["event"] == "run_finished"
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    assert [e["data"]["seq"] for e in events] == [int(e["id"]) for e in events]
    run = finished(client, run_id)
    assert (run["status"], run["stop_reason"], run["answer"], run["rounds"]) == (
        "solved",
        "satisfied",
        "46.90 EUR",
        2,
    )
    assert run["task_ledger"]["plan"]["steps"][0]["owner"] == "user"
    assert run["progress_ledger"]["request_satisfied"]["answer"] is True
    assert run["result"]["answer"] == "46.90 EUR"
    assert run["last_seq"] == len(events)
    listed = client.get("/api/runs", params={"state": "finished", "q": "EXPENSE claim"}).json()
    assert run_id in [r["run_id"] for r in listed["runs"]]
    assert client.get("/api/runs", params={"q": "no such task text"}).json()["runs"] == []
    # the run directory is the source of truth, as for any run
    assert RunStore(server.runs_dir / run_id).load_result() is not None


def test_a_task_with_team_model_limits_and_attachments(
    client: httpx.Client, server: service.Server
) -> None:
    receipt = b"TOTAL 187.60 EUR\n"
    run_id = create(
        client,
        task="Split the dinner receipt (receipt.txt) four ways.",
        team=["user"],
        model=scripted(PLAIN),
        limits={"max_rounds": 4},
        attachments=[{"name": "receipt.txt", "content_base64": base64.b64encode(receipt).decode()}],
    )
    question = pending(client, run_id, "question")
    assert question["prompt"] == "What is the total on the dinner receipt, in euros?"
    assert run_state(client, run_id)["state"] == "waiting"
    reply = client.post(
        f"/api/runs/{run_id}/questions/{question['id']}", json={"answer": "187.60 EUR"}
    )
    assert reply.status_code == 200, reply.text
    run = finished(client, run_id)
    assert run["answer"] == "46.90 EUR"
    assert run["limits"]["max_rounds"] == 4
    assert run["attachments"] == [
        {"name": "receipt.txt", "media_type": "text/plain", "size": len(receipt)}
    ]
    assert client.get(f"/api/runs/{run_id}/files").json()["files"] == [
        {"path": "receipt.txt", "size": len(receipt)}
    ]
    assert client.get(f"/api/runs/{run_id}/files/receipt.txt").content == receipt
    shots = server.runs_dir / run_id / "screenshots"  # as a web surfer's reply leaves them
    shots.mkdir()
    (shots / "round-001-web_surfer.png").write_bytes(b"\x89PNG fake")
    got = client.get(f"/api/runs/{run_id}/screenshots/round-001-web_surfer.png")
    assert got.content == b"\x89PNG fake"
    bad(client.get(f"/api/runs/{run_id}/screenshots/..%2Fconfig.json"), 404)
    bad(client.get(f"/api/runs/{run_id}/screenshots/.x.png"), 404, "no such screenshot")
    for escape in ("../config.json", "..%2Fconfig.json", "%2E%2E/%2E%2E/etc/passwd", "/etc/passwd"):
        got = client.get(f"/api/runs/{run_id}/files/{escape}")
        assert got.status_code == 404, (escape, got.text)
        assert "no such file" in got.json()["error"] or "Not Found" in got.json()["error"]


def test_a_question_and_an_approval_answered_while_the_run_waits(client: httpx.Client) -> None:
    run_id = create(client, scenario=ASK)
    question = pending(client, run_id, "question")
    assert run_state(client, run_id)["state"] == "waiting"
    wrong = client.post(f"/api/runs/{run_id}/approvals/{question['id']}", json={"approved": True})
    assert wrong.status_code == 404
    assert "names no approval" in wrong.json()["error"]
    answered = client.post(f"/api/runs/{run_id}/questions/{question['id']}", json={"answer": "7"})
    assert answered.json()["status"] == "answered"
    again = client.post(f"/api/runs/{run_id}/questions/{question['id']}", json={"answer": "8"})
    assert again.status_code == 409
    assert "already answered" in again.json()["error"]
    approval = pending(client, run_id, "approval")
    assert (approval["prompt"], approval["specialist"]) == ("run code", "coder")
    assert "print(7 * 7)" in approval["detail"]
    missing = client.post(f"/api/runs/{run_id}/approvals/{approval['id']}", json={})
    assert missing.status_code == 422
    assert "body.approved" in missing.json()["error"]
    client.post(f"/api/runs/{run_id}/approvals/{approval['id']}", json={"approved": True})
    run = finished(client, run_id)
    assert (run["status"], run["answer"]) == ("solved", "49")
    events = [e["event"] for e in service.sse_events(client, run_id)]
    assert events.count("human_waiting") == 2
    assert events.count("human_answered") == 2
    assert "approval_decided" in events


def test_sse_reconnects_with_last_event_id_and_loses_or_repeats_nothing(
    client: httpx.Client, server: service.Server
) -> None:
    run_id = create(client, scenario=SLOW)
    seen: list[int] = []
    last: int | None = None
    while True:  # read three events, drop the connection, reconnect after the last one
        batch = list(service.sse_events(client, run_id, last=last, stop_after=3))
        seen += [int(e["id"]) for e in batch]
        if not batch or batch[-1]["event"] == "run_finished":
            break
        last = seen[-1]
    logged = [e.seq for e in RunStore(server.runs_dir / run_id).events()]
    assert seen == logged == list(range(1, len(logged) + 1))
    assert len(seen) > 30  # many reconnections, live as well as from the log
    # ?after= does the same for clients that cannot set headers
    tail = list(service.sse_events(client, run_id, last=len(seen) - 2))
    assert [int(e["id"]) for e in tail] == seen[-2:]


def test_cancel_mid_round_writes_a_best_guess_and_the_result(
    client: httpx.Client, server: service.Server
) -> None:
    run_id = create(client, scenario=SLOW)
    for event in service.sse_events(client, run_id):
        if event["event"] == "round_started" and event["data"]["round"] == 2:
            break
    reply = client.post(f"/api/runs/{run_id}/cancel")
    assert reply.status_code == 202, reply.text
    run = finished(client, run_id)
    assert run["stop_reason"] == "cancelled"
    assert run["status"] in ("best_guess", "failed")
    assert run["rounds"] == 2  # the round in flight was abandoned, not completed
    assert (server.runs_dir / run_id / RESULT).is_file()
    events = [e["event"] for e in service.sse_events(client, run_id)]
    assert events[-3:] == ["final_answer", "checkpoint_saved", "run_finished"]
    assert "limit_reached" in events
    again = client.post(f"/api/runs/{run_id}/cancel")
    assert again.status_code == 409
    assert "already finished" in again.json()["error"]
    assert client.post(f"/api/runs/{run_id}/resume").status_code == 409


# --- bad requests ---------------------------------------------------------------------------


def bad(reply: httpx.Response, status: int, *needles: str) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert isinstance(body["error"], str)
    assert "Traceback" not in reply.text
    for needle in needles:
        assert needle in body["error"], (needle, body["error"])


def test_bad_requests_get_a_located_4xx(client: httpx.Client) -> None:
    bad(
        client.post("/api/runs", json={"task": "x", "colour": "red"}),
        422,
        "body.colour",
        "unknown field",
    )
    bad(
        client.post("/api/runs", json={"task": "x", "limits": {"max_rounds": 0}}),
        422,
        "body.limits.max_rounds",
    )
    bad(
        client.post("/api/runs", json={"task": "x", "limits": {"max_round": 3}}),
        422,
        "body.limits.max_round",
    )
    bad(client.post("/api/runs", json={}), 422, "exactly one of `task` or `scenario`")
    bad(client.post("/api/runs", json={"task": "x", "scenario": PLAIN}), 422, "exactly one")
    bad(
        client.post(
            "/api/runs", json={"task": "x", "team": ["websurfer"], "model": scripted(PLAIN)}
        ),
        422,
        "unknown specialist(s): websurfer",
    )
    bad(
        client.post(
            "/api/runs", json={"task": "x", "attachments": [{"name": "../x", "content_base64": ""}]}
        ),
        422,
        "body.attachments.0.name",
    )
    bad(
        client.post(
            "/api/runs",
            json={
                "task": "x",
                "model": scripted(PLAIN),
                "team": ["user"],
                "attachments": [{"name": "a.txt", "content_base64": "!!"}],
            },
        ),
        422,
        "attachments.0.content_base64",
    )
    broken = PLAIN.replace("limits: {", "limits: {max_round: 3, ", 1)
    bad(
        client.post("/api/runs", json={"scenario": broken}), 422, "scenario:12:", "limits.max_round"
    )
    bad(
        client.post("/api/runs", json={"scenario": "name: [unclosed"}),
        422,
        "scenario:1:",
        "invalid YAML",
    )
    with_fixtures = PLAIN.replace("team: [user]", "team: [user]\nfixtures: {files: [/etc/passwd]}")
    bad(
        client.post("/api/runs", json={"scenario": with_fixtures}),
        422,
        "scenario:",
        "fixtures are not available over HTTP",
    )
    bad(
        client.post(
            "/api/runs", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "not valid JSON",
    )
    bad(client.get("/api/runs/no-such-run"), 404, "no run 'no-such-run'")
    bad(client.get("/api/runs/no-such-run/events"), 404, "no run")
    bad(client.post("/api/runs/no-such-run/cancel"), 404, "no run")
    bad(client.get("/api/runs", params={"limit": 0}), 422, "query.limit")
    bad(client.get("/api/nothing-here"), 404, "/api/nothing-here")
    run_id = create(client, scenario=PLAIN)
    bad(
        client.get(f"/api/runs/{run_id}/events", headers={"Last-Event-ID": "abc"}),
        400,
        "Last-Event-ID",
    )
    bad(
        client.post(f"/api/runs/{run_id}/questions/question-99", json={"answer": "x"}),
        404,
        "question-99",
    )
    bad(
        client.post(f"/api/runs/{run_id}/questions/q", json={"answer": "x", "extra": 1}),
        422,
        "body.extra",
    )


def test_a_huge_body_is_refused_with_413(client: httpx.Client) -> None:
    huge = json.dumps({"task": "x" * (2 * 1024 * 1024)}).encode()
    bad(
        client.post("/api/runs", content=huge, headers={"content-type": "application/json"}),
        413,
        "limit",
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"task": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    bad(
        client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"}),
        413,
        "larger than",
    )


def test_a_token_is_required_when_set_and_off_localhost(tmp_path: Path) -> None:
    server = service.start(tmp_path / "runs", "--token", "s3cret")
    try:
        with server.client() as anonymous:
            bad(anonymous.get("/api/runs"), 401, "bearer token")
        with server.client("wrong") as wrong:
            bad(wrong.get("/api/runs"), 401, "bearer token")
        with server.client("s3cret") as right:
            assert right.get("/api/runs").status_code == 200
        assert httpx.get(f"{server.url}/api/runs?access_token=s3cret").status_code == 200
    finally:
        server.stop()
    refused = subprocess.run(
        [
            str(service.ORCHESTRATOR),
            "serve",
            "--host",
            "0.0.0.0",
            "--runs-dir",
            str(tmp_path / "r"),
        ],
        env=service.clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in refused.stderr
    assert "ORCHESTRATOR_TOKEN" in refused.stderr
    assert "Traceback" not in refused.stderr


# --- kill -9 and restart --------------------------------------------------------------------


def test_kill_9_then_restart_accounts_for_every_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    server = service.start(runs, "--max-concurrent", "2")
    with server.client() as client:
        asking = create(client, scenario=ASK)
        slow = [create(client, scenario=SLOW) for _ in range(3)]
        question = pending(client, asking, "question")
        until(lambda: any(e.type == "round_started" for e in RunStore(runs / slow[0]).events()))
        states = {r["run_id"]: r["state"] for r in client.get("/api/runs").json()["runs"]}
        assert sorted(states.values()).count("queued") >= 1  # at most 2 execute at once
    server.kill()
    assert all(RunStore(runs / r).load_result() is None for r in slow)

    server = service.start(runs, "--max-concurrent", "2")
    try:
        with server.client() as client:
            listed = {r["run_id"] for r in client.get("/api/runs").json()["runs"]}
            assert listed == {*slow, asking}
            again = pending(client, asking, "question")
            assert again["id"] == question["id"]  # the same ask, survived the restart
            client.post(f"/api/runs/{asking}/questions/{again['id']}", json={"answer": "7"})
            approval = pending(client, asking, "approval")
            client.post(f"/api/runs/{asking}/approvals/{approval['id']}", json={"approved": True})
            assert finished(client, asking)["answer"] == "49"
            for run_id in slow:
                run = finished(client, run_id)
                assert (run["status"], run["rounds"]) == ("solved", 6), run
                store = RunStore(runs / run_id)
                seqs = [e.seq for e in store.events()]
                assert seqs == sorted(set(seqs))  # one log, no repeat
                # A gap is a cut round's events, set aside on resume: every number is somewhere.
                aside = {e.seq for e in store.abandoned()}
                assert not aside & set(seqs)
                assert sorted(aside | set(seqs)) == list(range(1, max(seqs) + 1))
    finally:
        server.stop()


def test_restart_can_leave_runs_interrupted_for_a_person(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    server = service.start(runs)
    with server.client() as client:
        to_resume = create(client, scenario=SLOW)
        to_cancel = create(client, scenario=SLOW)
        asking = create(client, scenario=ASK)
        question = pending(client, asking, "question")
        until(
            lambda: any(e.type == "checkpoint_saved" for e in RunStore(runs / to_resume).events())
        )
    server.kill()
    server = service.start(runs, "--on-restart", "interrupt")
    try:
        with server.client() as client:
            for run_id in (to_resume, to_cancel, asking):
                assert run_state(client, run_id)["state"] == "interrupted"
            # a question survives while nobody runs: answer it now, it is used on resume
            client.post(f"/api/runs/{asking}/questions/{question['id']}", json={"answer": "7"})
            assert client.post(f"/api/runs/{to_resume}/resume").status_code == 202
            assert client.post(f"/api/runs/{to_cancel}/cancel").status_code == 202
            assert client.post(f"/api/runs/{asking}/resume").status_code == 202
            assert finished(client, to_resume)["status"] == "solved"
            assert finished(client, to_cancel)["stop_reason"] == "cancelled"
            approval = pending(client, asking, "approval")
            client.post(f"/api/runs/{asking}/approvals/{approval['id']}", json={"approved": False})
            run = finished(client, asking)
            assert run["state"] == "finished"
            asks = run["asks"]
            assert [(a["kind"], a["status"]) for a in asks] == [
                ("question", "answered"),
                ("approval", "answered"),
            ]
    finally:
        server.stop()


# --- a run that waits for a person does not keep its slot ------------------------------------


def parked_then_answered(runs: Path, *args: str) -> None:
    """With one slot: a run asks, is parked after 1 s, another run uses the slot meanwhile;
    the answer resumes the parked run, and a stream opened before the park reads on."""
    server = service.start(runs, "--max-concurrent", "1", "--park-after", "1", *args)
    try:
        with server.client() as client:
            asking = create(client, scenario=ASK)
            question = pending(client, asking, "question")
            stream = service.sse_events(client, asking)
            assert next(stream)["event"] == "run_started"
            other = create(client, scenario=PLAIN)
            assert finished(client, other)["answer"] == "46.90 EUR"  # in the freed slot
            assert run_state(client, asking)["state"] == "waiting"
            logged = [e.type for e in RunStore(runs / asking).events()]
            assert logged[-1] == "run_interrupted"
            client.post(f"/api/runs/{asking}/questions/{question['id']}", json={"answer": "7"})
            approval = pending(client, asking, "approval")
            client.post(f"/api/runs/{asking}/approvals/{approval['id']}", json={"approved": True})
            seen = [e["event"] for e in stream]  # the same connection, across park and resume
            assert seen[-1] == "run_finished"
            assert "run_resumed" in seen
            run = finished(client, asking)
            assert (run["status"], run["answer"]) == ("solved", "49")
            interrupted = [
                e for e in RunStore(runs / asking).events() if e.type == "run_interrupted"
            ]
            assert interrupted
            assert all(e.reason.startswith("parked: waiting for a person") for e in interrupted)  # type: ignore[attr-defined]
    finally:
        server.stop()


def test_a_run_waiting_for_a_person_is_parked_and_frees_its_slot(tmp_path: Path) -> None:
    parked_then_answered(tmp_path / "runs")
