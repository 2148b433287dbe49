"""Joining or starting a Ray cluster, for the evaluation's and the service's Ray backends.

Ray is an optional extra: it is imported only here, when a Ray backend is chosen.
- no address (and no `RAY_ADDRESS`): a local cluster with `cpus` CPUs is started for this
  process and stopped with it;
- `auto` (a cluster started with `ray start --head` on this machine), `HOST:PORT` of a
  head's GCS, or `ray://HEAD:10001` (Ray Client) for a remote cluster; a dead address is
  reported within PROBE_SECONDS rather than after Ray's own long wait.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from orchestrator.errors import OrchestratorError

INSTALL_ADVICE = (
    "the Ray backend needs Ray, an optional extra: pip install 'orchestrator[ray]' "
    "(or: pip install 'ray>=2.40')"
)
PROBE_SECONDS = 5.0


def ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise OrchestratorError(INSTALL_ADVICE) from None
    return ray


def address_or_env(address: str | None) -> str | None:
    return address or os.environ.get("RAY_ADDRESS") or None


def connect(ray: Any, address: str | None, cpus: int) -> bool:
    """Join the cluster at `address`, or start a local one; True if we started Ray here
    (the caller then shuts it down). Raises OrchestratorError with one clear line."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"log_to_driver": False}
    if address is None:  # a local cluster just for this process
        options |= {"num_cpus": cpus, "include_dashboard": False}
    else:
        options["address"] = address
        probe(address)  # ray.init waits on a dead cluster for a very long time
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local cluster"
        raise OrchestratorError(f"cannot start or reach Ray at {where}: {exc}") from exc
    return True


def probe(address: str) -> None:
    """Fail within PROBE_SECONDS, with a clear message, if nothing listens at `address`
    (`ray://HOST:PORT` for Ray Client, or `HOST:PORT` of the head's GCS); `auto` is
    looked up by Ray itself, which fails fast when there is no local cluster."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if address == "auto" or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        client = (
            " (Ray Client needs `pip install 'ray[client]'` here)"
            if address.startswith("ray://")
            else ""
        )
        raise OrchestratorError(
            f"cannot reach Ray at {address}: {reason} within {PROBE_SECONDS:g} s; is the cluster "
            f"up (`ray status` on its head) and the port open?{client}"
        ) from None
