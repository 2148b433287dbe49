"""`orchestrator serve --backend ray` over real HTTP on 127.0.0.1, with runs executing as
Ray tasks on a real local Ray cluster the server starts (as the evaluation's Ray tests do):
events streamed from the log the worker writes, a question and an approval answered over
HTTP while the remote run waits, cancel, parking, a worker killed, the concurrency limit,
kill -9 of the server and restart."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import service
from test_service import (
    ASK,
    PLAIN,
    SLOW,
    create,
    finished,
    parked_then_answered,
    pending,
    run_state,
    until,
)

from orchestrator.ray_runs import CANCEL_MARK, run_in_worker
from orchestrator.store import RESULT, RunStore

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="the Ray backend is an optional extra")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[service.Server]:
    runs = tmp_path_factory.mktemp("ray-service") / "runs"
    running = service.start(runs, "--backend", "ray", "--max-concurrent", "3")
    yield running
    running.stop()


@pytest.fixture
def client(server: service.Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def executed_by(run: Path) -> str:
    """Who took the run's lock last: 'pid N on HOST (orchestrator ...)'."""
    return (run / ".lock").read_text()


def one_log(store: RunStore) -> None:
    """No number repeats; those missing were set aside on a resume (a round cut short)."""
    seqs = [e.seq for e in store.events()]
    assert seqs == sorted(set(seqs))
    aside = {e.seq for e in store.abandoned()}
    assert not aside & set(seqs)
    assert sorted(aside | set(seqs)) == list(range(1, max(seqs) + 1))


def test_a_run_executes_on_a_ray_worker_and_its_events_stream_to_the_end(
    client: httpx.Client, server: service.Server
) -> None:
    assert "runs execute on a local Ray cluster (3 CPUs)" in server.output()
    run_id = create(client, scenario=PLAIN)
    events = list(service.sse_events(client, run_id))
    assert events[0]["event"] == "run_started"
    assert events[-1]["event"] == "run_finished"
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    run = finished(client, run_id)
    assert (run["status"], run["stop_reason"], run["answer"]) == (
        "solved",
        "satisfied",
        "46.90 EUR",
    )
    assert run["last_seq"] == len(events)
    root = server.runs_dir / run_id
    assert RunStore(root).load_result() is not None
    assert not executed_by(root).startswith(f"pid {server.proc.pid} ")  # not in the server


def test_a_question_and_an_approval_reach_the_remote_run(client: httpx.Client) -> None:
    run_id = create(client, scenario=ASK)
    question = pending(client, run_id, "question")
    until(lambda: run_state(client, run_id)["state"] == "waiting")
    client.post(f"/api/runs/{run_id}/questions/{question['id']}", json={"answer": "7"})
    approval = pending(client, run_id, "approval")
    assert (approval["prompt"], approval["specialist"]) == ("run code", "coder")
    assert "print(7 * 7)" in approval["detail"]
    decided = client.post(f"/api/runs/{run_id}/approvals/{approval['id']}", json={"approved": True})
    assert decided.status_code == 200, decided.text
    run = finished(client, run_id)
    assert (run["status"], run["answer"]) == ("solved", "49")
    assert [(a["kind"], a["status"]) for a in run["asks"]] == [
        ("question", "answered"),
        ("approval", "answered"),
    ]
    events = [e["event"] for e in service.sse_events(client, run_id)]
    assert events.count("human_waiting") == 2
    assert events.count("human_answered") == 2
    assert "approval_decided" in events


def test_sse_reconnects_to_a_remote_run_without_losing_or_repeating_events(
    client: httpx.Client, server: service.Server
) -> None:
    run_id = create(client, scenario=SLOW)
    seen: list[int] = []
    last: int | None = None
    while True:  # three events at a time, reconnecting after the last one seen
        batch = list(service.sse_events(client, run_id, last=last, stop_after=3))
        seen += [int(e["id"]) for e in batch]
        if not batch or batch[-1]["event"] == "run_finished":
            break
        last = seen[-1]
    logged = [e.seq for e in RunStore(server.runs_dir / run_id).events()]
    assert seen == logged == list(range(1, len(logged) + 1))
    assert finished(client, run_id)["rounds"] == 6


def test_cancel_reaches_the_remote_run_mid_round(
    client: httpx.Client, server: service.Server
) -> None:
    run_id = create(client, scenario=SLOW)
    for event in service.sse_events(client, run_id):
        if event["event"] == "round_started" and event["data"]["round"] == 2:
            break
    assert client.post(f"/api/runs/{run_id}/cancel").status_code == 202
    run = finished(client, run_id)
    assert run["stop_reason"] == "cancelled"
    assert run["rounds"] == 2  # the round in flight was abandoned on the worker
    root = server.runs_dir / run_id
    assert (root / RESULT).is_file()
    assert (root / CANCEL_MARK).is_file()
    events = [e["event"] for e in service.sse_events(client, run_id)]
    assert events[-3:] == ["final_answer", "checkpoint_saved", "run_finished"]
    assert client.post(f"/api/runs/{run_id}/cancel").status_code == 409


def test_a_run_whose_worker_dies_is_resumed_from_its_checkpoint(
    client: httpx.Client, server: service.Server
) -> None:
    run_id = create(client, scenario=SLOW)
    root = server.runs_dir / run_id
    until(
        lambda: any(e.type == "checkpoint_saved" and e.round == 2 for e in RunStore(root).events())
    )
    worker = int(executed_by(root).split()[1])
    assert worker != server.proc.pid
    os.kill(worker, signal.SIGKILL)  # as when a node is lost
    run = finished(client, run_id, 90)
    assert (run["status"], run["rounds"]) == ("solved", 6)
    assert int(executed_by(root).split()[1]) != worker  # another worker took it over
    events = list(RunStore(root).events())
    assert [e.type for e in events].count("run_resumed") == 1
    one_log(RunStore(root))


def test_kill_9_then_restart_on_ray_accounts_for_every_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    server = service.start(runs, "--backend", "ray", "--max-concurrent", "2")
    with server.client() as client:
        asking = create(client, scenario=ASK)
        slow = [create(client, scenario=SLOW) for _ in range(3)]
        question = pending(client, asking, "question")
        until(lambda: any(e.type == "round_started" for e in RunStore(runs / slow[0]).events()))
        states = [r["state"] for r in client.get("/api/runs").json()["runs"]]
        assert states.count("queued") >= 1, states  # at most 2 execute at once
    server.kill()
    assert all(RunStore(runs / r).load_result() is None for r in slow)

    server = service.start(runs, "--backend", "ray", "--max-concurrent", "2")
    try:
        with server.client() as client:
            listed = {r["run_id"] for r in client.get("/api/runs").json()["runs"]}
            assert listed == {*slow, asking}
            again = pending(client, asking, "question")
            assert again["id"] == question["id"]  # the same ask, survived the restart
            client.post(f"/api/runs/{asking}/questions/{again['id']}", json={"answer": "7"})
            approval = pending(client, asking, "approval")
            client.post(f"/api/runs/{asking}/approvals/{approval['id']}", json={"approved": True})
            assert finished(client, asking, 90)["answer"] == "49"
            for run_id in slow:
                run = finished(client, run_id, 90)
                assert (run["status"], run["rounds"]) == ("solved", 6), run
                one_log(RunStore(runs / run_id))
    finally:
        server.stop()


def test_a_remote_run_waiting_for_a_person_is_parked_and_frees_its_slot(tmp_path: Path) -> None:
    parked_then_answered(tmp_path / "runs", "--backend", "ray")  # the park is asked on the worker


def test_stopping_the_server_interrupts_remote_runs_which_resume_on_restart(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    server = service.start(runs, "--backend", "ray")
    with server.client() as client:
        run_id = create(client, scenario=SLOW)
    root = runs / run_id
    until(
        lambda: any(e.type == "checkpoint_saved" and e.round == 1 for e in RunStore(root).events())
    )
    server.stop()  # SIGINT: the worker is asked to stop, and keeps the checkpoint
    assert server.proc.returncode != -signal.SIGKILL, server.output()  # it stopped by itself
    last = list(RunStore(root).events())[-1]
    assert last.type == "run_interrupted"
    assert last.reason.startswith("the server stopped")  # type: ignore[attr-defined]
    assert RunStore(root).load_result() is None

    server = service.start(runs, "--backend", "ray")
    try:
        with server.client() as client:
            run = finished(client, run_id, 90)
            assert (run["status"], run["rounds"]) == ("solved", 6)
    finally:
        server.stop()


def test_serve_on_a_dead_ray_cluster_fails_within_seconds_in_one_line(tmp_path: Path) -> None:
    address = "127.0.0.1:9"  # the discard port: nothing listens
    started = time.monotonic()
    done = subprocess.run(
        [
            str(service.ORCHESTRATOR),
            "serve",
            "--backend",
            "ray",
            "--ray-address",
            address,
            "--runs-dir",
            str(tmp_path / "runs"),
            "--port",
            str(service.free_port()),
        ],
        env=service.clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert time.monotonic() - started < 30
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: cannot reach Ray at {address}: ")
    assert "is the cluster up (`ray status` on its head)" in lines[0]


def test_a_worker_that_cannot_see_the_runs_dir_says_so(tmp_path: Path) -> None:
    reply = run_in_worker(str(tmp_path / "not-mounted" / "run"), None, 0.1)  # what a task does
    assert reply["state"] == "error"
    assert "not visible on node" in reply["error"]
    assert "shared by every node" in reply["error"]
