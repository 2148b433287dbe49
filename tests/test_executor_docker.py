"""The docker executor's housekeeping, against a real engine: how containers are made,
that none outlives its block or its orchestrator, and that orphans are reaped at start-up.

Skipped without a reachable engine and the sandbox image; with ORCHESTRATOR_REQUIRE_DOCKER=1
(CI) the tests start dockerd and build the image with the scripts in sandbox-image/, and
fail if that does not work.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_executor_escapes import IMAGE, require_docker

from specialists.coder.executors import CodeBlock, DockerExecutor, ExecLimits
from specialists.coder.executors.engine import MANAGED, OWNER, RUN, owner_label


@pytest.fixture
def client() -> Iterator[Any]:
    require_docker()
    import docker

    made = docker.from_env()
    yield made
    made.close()


def ours(client: Any, **labels: str) -> list[Any]:
    """Our containers, inspected. One removed between the listing and its inspection is
    gone, not an error: `list()` without `sparse` would raise NotFound (a 404) for it."""
    import docker

    wanted = [f"{MANAGED}=coder", *(f"{k}={v}" for k, v in labels.items())]
    found = []
    for listed in client.containers.list(all=True, sparse=True, filters={"label": wanted}):
        with contextlib.suppress(docker.errors.NotFound):
            found.append(client.containers.get(listed.id))
    return found


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def left_container(client: Any, owner: str) -> Any:
    return client.containers.create(
        IMAGE, ["sleep", "1"], labels={MANAGED: "coder", OWNER: owner, RUN: "crashed"}
    )


async def test_a_block_runs_in_a_locked_down_labelled_container_removed_after(
    client: Any, tmp_path: Path
) -> None:
    executor = DockerExecutor(image=IMAGE, run_id="run-42")
    running = asyncio.ensure_future(
        executor.run(CodeBlock("sh", "sleep 3"), tmp_path, ExecLimits(timeout_seconds=20))
    )
    try:
        seen: list[Any] = []
        for _ in range(100):
            seen = ours(client, **{RUN: "run-42"})
            if seen and seen[0].status == "running":
                break
            await asyncio.sleep(0.05)
        (container,) = seen
        host = container.attrs["HostConfig"]
        assert container.labels[OWNER] == owner_label()
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert host["PidsLimit"] == 64
        assert host["Memory"] == 1024 * 1024 * 1024
        assert host["LogConfig"]["Type"] == "none"
        assert container.attrs["Config"]["User"] == "65534:65534"
        result = await running
        assert result.exit_code == 0
        assert ours(client, **{RUN: "run-42"}) == []
    finally:
        running.cancel()
        await executor.close()


async def test_orphans_of_dead_orchestrators_are_reaped_at_start_up(client: Any) -> None:
    host = socket.gethostname()
    orphan = left_container(client, f"{host}:{dead_pid()}")
    alive = left_container(client, f"{host}:1")  # its orchestrator (pid 1) still runs
    elsewhere = left_container(client, "another-host:123")
    executor = DockerExecutor(image=IMAGE)
    try:
        await executor.start()
        remaining = {c.id for c in ours(client)}
        assert orphan.id not in remaining
        assert {alive.id, elsewhere.id} <= remaining
        assert executor.reaped_at_start >= 1
    finally:
        await executor.close()
        alive.remove(force=True)
        elsewhere.remove(force=True)


async def test_close_removes_every_container_this_orchestrator_left(client: Any) -> None:
    executor = DockerExecutor(image=IMAGE)
    await executor.start()
    stray = left_container(client, owner_label())  # as if a block was interrupted mid-run
    assert stray.id in {c.id for c in ours(client)}
    await executor.close()
    assert ours(client, **{OWNER: owner_label()}) == []


async def test_a_missing_image_says_how_to_build_it(client: Any) -> None:
    from specialists.coder.executors import ExecutorUnavailable

    executor = DockerExecutor(image="orchestrator-no-such-image:never")
    with pytest.raises(ExecutorUnavailable, match=r"bash sandbox-image/build\.sh"):
        await executor.start()
    await executor.close()
