"""`orchestrator doctor`'s checks of the coder's executor, as `specialists.coder` sets it.

The configured executor is tried for real: the sandbox runs a trivial Python program in
bubblewrap (the `bwrap` it is given, not whichever is on PATH), docker reaches the engine
(`DOCKER_HOST`) and finds the image. When the coder is on the team, an executor that
cannot run is a ✗ with the reason and the fix; off the team it is a warning.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.checks import FAIL, OK, WARN, Check
from orchestrator.config import Settings
from orchestrator.team import family

if TYPE_CHECKING:
    from specialists.coder.settings import CoderSettings

NAME = "coder executor"
PROBE = "print('sandbox ok')"
PROBE_LIMITS_SECONDS = 20.0
SANDBOX_SETTING = "specialists.coder.executor: sandbox"
NO_BWRAP_FIX = (
    "install bubblewrap (apt-get install bubblewrap) or point specialists.coder.bwrap at it; "
    "or choose specialists.coder.executor: docker"
)


async def check_coder(settings: Settings) -> list[Check]:
    from specialists.coder.settings import CoderConfigError, load

    try:
        coder = load(settings.specialists.get("coder", {}))
    except CoderConfigError as exc:
        return [Check(NAME, FAIL, str(exc))]
    if coder.executor == "docker":
        checks = [await asyncio.to_thread(check_docker, coder.image, required=True)]
    elif coder.executor == "local":
        checks = [
            Check(
                f"{NAME} (local)",
                WARN,
                "code runs UNSANDBOXED, as you, with your files and network "
                "(specialists.coder.executor: local); choose sandbox or docker to confine it",
            ),
        ]
    else:
        checks = [await check_sandbox(coder)]
        checks.append(await asyncio.to_thread(check_docker, coder.image, required=False))
    if not any(family(name) == "coder" for name in settings.team):
        checks = [_not_needed(c) for c in checks]
    return checks


def _not_needed(check: Check) -> Check:
    if check.outcome != FAIL:
        return check
    return Check(check.name, WARN, f"the coder is not on the team, but: {check.detail}")


async def check_sandbox(coder: CoderSettings) -> Check:
    """The bubblewrap sandbox with the coder's own settings: found, and running code."""
    from specialists.coder.executors.base import CodeBlock, ExecLimits
    from specialists.coder.executors.sandbox import SandboxExecutor

    name = f"{NAME} (sandbox)"
    found = shutil.which(coder.bwrap)
    if found is None:
        where = "does not exist" if "/" in coder.bwrap else "was not found on PATH"
        return Check(
            name,
            FAIL,
            f"specialists.coder.bwrap: {coder.bwrap!r} {where}, so code would run DEGRADED "
            f"(no filesystem isolation); {NO_BWRAP_FIX}",
        )
    executor = SandboxExecutor(
        bwrap_path=coder.bwrap,
        uid=coder.sandbox_uid,
        python=coder.python,
        allow_network=coder.allow_network,
        extra_binds=tuple(coder.extra_binds),
    )
    try:
        await executor.start()
        if not executor.isolated:
            detail = "; ".join(executor.warnings) or f"{found} cannot sandbox here"
            return Check(
                name,
                FAIL,
                f"{detail} Fix: let bubblewrap create namespaces here (unprivileged user "
                "namespaces, or run as root), or choose specialists.coder.executor: docker",
            )
        with tempfile.TemporaryDirectory(prefix="orchestrator-doctor-") as folder:
            started = time.monotonic()
            result = await executor.run(
                CodeBlock("python", PROBE),
                Path(folder),
                ExecLimits(timeout_seconds=PROBE_LIMITS_SECONDS),
            )
            took = time.monotonic() - started
    finally:
        await executor.close()
    if not result.ok or "sandbox ok" not in result.stdout:
        said = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        return Check(
            name,
            FAIL,
            f"bubblewrap ({found}) started, but a one-line {coder.python} program failed: "
            f"{result.status()} {said[0]}".rstrip()
            + "; check specialists.coder.python and specialists.coder.extra_binds",
        )
    network = "network allowed" if coder.allow_network else "no network"
    return Check(
        name,
        OK,
        f"bubblewrap ({found}) ran a {coder.python} program in {took:.2f}s: "
        f"{network}, read-only system, own uid",
    )


def check_docker(image: str, *, required: bool) -> Check:
    """The Docker engine (`DOCKER_HOST`) answers and has `image`. Only `executor: docker`
    needs it; otherwise it is reported as an option."""
    from specialists.coder.executors.base import ExecutorUnavailable
    from specialists.coder.executors.engine import connect

    name = f"{NAME} (docker)" if required else "docker"
    try:
        client = connect(image)
    except ExecutorUnavailable as exc:
        if required:
            return Check(name, FAIL, f"specialists.coder.executor is docker, but {exc}")
        unused = str(exc).replace(f" or set {SANDBOX_SETTING}", "")  # it is set already
        return Check(name, WARN, f"optional (the coder uses the sandbox): {unused}")
    try:
        version = client.version().get("Version", "?")
    finally:
        client.close()
    return Check(name, OK, f"Docker engine {version} with image {image}")
