"""Where the browser comes from, how it is started, and how its processes are found.

Discovery order: the configured `executable_path` → the browser Playwright manages
(`playwright install chromium`) → a system Chromium/Chrome on PATH. Each browser is
started with an inert marker switch so its processes can be found (Linux /proc) and
killed if it hangs.
"""

from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

SYSTEM_BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
)
# Without the background-networking flags Chromium phones home at start-up; on a closed
# network those connections are refused and slow everything down.
BASE_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
INSTALL_ADVICE = (
    "install one with `playwright install chromium` or your system's package "
    "(`apt-get install chromium`), or set specialists.web_surfer.executable_path"
)


class BrowserUnavailable(Exception):
    """No browser could be found or started; the message says what to do."""


@dataclass(frozen=True)
class BrowserExecutable:
    path: str
    source: str  # "configured", "playwright" or "system"


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def find_executable(configured: str | None, managed: str | None) -> BrowserExecutable:
    """The browser to launch; `managed` is Playwright's own path (it may not exist)."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise BrowserUnavailable(
                f"specialists.web_surfer.executable_path: {configured} does not exist"
            )
        return BrowserExecutable(str(path), "configured")
    if managed and Path(managed).is_file():
        return BrowserExecutable(managed, "playwright")
    for name in SYSTEM_BROWSERS:
        if found := shutil.which(name):
            return BrowserExecutable(found, "system")
    raise BrowserUnavailable(f"no Chromium or Chrome found: {INSTALL_ADVICE}")


def launch_args(marker: str) -> list[str]:
    # The marker is an inert switch that lets us find this browser's processes by command
    # line, to kill them if it hangs.
    return [*BASE_ARGS, f"--orchestrator-browser={marker}"]


def browser_pids(marker: str) -> list[int]:
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    needle = f"--orchestrator-browser={marker}".encode()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_pids(pids: list[int]) -> int:
    killed = 0
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed
