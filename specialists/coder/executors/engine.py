"""The Docker engine, seen from the docker executor: reaching it, and keeping it clean.

Our containers carry three labels: `orchestrator.managed=coder`, `orchestrator.owner=
<host>:<pid>` (the orchestrator process that made it) and `orchestrator.run=<run id>`.
An owner removes its own containers after each block and when it closes; at start-up,
containers whose owner on this host is no longer alive (a crashed or killed run) are
reaped. Containers of other hosts sharing the engine are left alone.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from specialists.coder.executors.base import ExecutorUnavailable

MANAGED = "orchestrator.managed"
OWNER = "orchestrator.owner"
RUN = "orchestrator.run"
START_ONE = (
    "start one (e.g. `bash sandbox-image/start-dockerd.sh`) or set "
    "specialists.coder.executor: sandbox"
)


def owner_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def labels(owner: str, run_id: str) -> dict[str, str]:
    return {MANAGED: "coder", OWNER: owner, RUN: run_id}


def connect(image: str) -> Any:
    """A client for the engine that has `image`; ExecutorUnavailable says what to fix."""
    import docker  # imported here: only docker runs need the SDK loaded

    problem = engine_socket_problem()
    if problem is not None:
        raise ExecutorUnavailable(f"no Docker engine answers ({problem}); {START_ONE}")
    try:
        client = docker.from_env()
    except docker.errors.DockerException as exc:
        raise ExecutorUnavailable(f"no Docker engine answers ({exc}); {START_ONE}") from exc
    try:
        client.ping()
        client.images.get(image)
    except docker.errors.ImageNotFound as exc:
        client.close()
        raise ExecutorUnavailable(
            f"the Docker image {image!r} does not exist; build it with "
            "`bash sandbox-image/build.sh` (or set specialists.coder.image)"
        ) from exc
    except docker.errors.DockerException as exc:
        client.close()
        raise ExecutorUnavailable(f"the Docker engine failed ({exc}); {START_ONE}") from exc
    return client


def engine_socket_problem() -> str | None:
    """Why the engine's local socket refuses us, if it does. Checked before the SDK
    connects, because the SDK leaks a socket when it fails to."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return None
    path = host.removeprefix("unix://")
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except OSError as exc:
            return f"cannot connect to {path}: {exc.strerror or exc}"
    return None


def remove(container: Any) -> None:
    """Remove a container, killing it first if it still runs."""
    import docker

    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)


def remove_owned(client: Any, owner: str) -> int:
    """Remove every container this owner made; return how many there were."""
    wanted = [f"{MANAGED}=coder", f"{OWNER}={owner}"]
    # sparse: no inspection per container, which fails (404) for one removed meanwhile
    found = client.containers.list(all=True, sparse=True, filters={"label": wanted})
    for container in found:
        remove(container)
    return len(found)


def reap_orphans(client: Any) -> int:
    """Remove our containers whose orchestrator process (on this host) is gone."""
    host = socket.gethostname()
    removed = 0
    for container in client.containers.list(all=True, filters={"label": f"{MANAGED}=coder"}):
        owner_host, _, pid = container.labels.get(OWNER, "").rpartition(":")
        if owner_host == host and pid.isdigit() and not _alive(int(pid)):
            remove(container)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
