"""The command lines that confine one run: bubblewrap's, and the fallback's.

Bubblewrap: every namespace unshared, system folders bound read-only, the workspace
bound read-write at /workspace, the block's source read-only at /code, a private /tmp
(size-capped), /proc and a minimal /dev, no network. rlimits are applied by `prlimit`
inside, just before the interpreter starts.

Why root is different: a user namespace made by root maps the sandbox's uid back to
host root, and the kernel does not enforce RLIMIT_NPROC for root, so a fork bomb would
not be held. As root we therefore keep the initial user namespace (all the others are
still unshared) and `setpriv` drops to an unprivileged uid (nobody, 65534), clears every
capability (effective, inheritable, ambient and the bounding set) and sets no_new_privs
before the interpreter starts; as any other user, bubblewrap's own user namespace maps
the sandbox uid to that user, where the limit applies. Either way the limit is held by
the kernel: the fork-bomb test proves it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from specialists.coder.executors.base import ExecLimits, Language

MB = 1024 * 1024
WORKSPACE = "/workspace"
CODE = "/code"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = (
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "passwd",
    "group",
    "nsswitch.conf",
    "ssl",
    "ca-certificates",
    "mime.types",
    "fonts",
    "os-release",
    "debian_version",
)
NETWORK_FILES = ("resolv.conf", "hosts", "host.conf", "gai.conf")
SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def is_root() -> bool:
    return os.geteuid() == 0


def interpreter(language: Language, python: str) -> str:
    if language == "python":
        return python
    return "bash" if shutil.which("bash") else "sh"


def rlimits(limits: ExecLimits, *, processes: bool = True) -> list[str]:
    """prlimit's arguments: each limit is soft and hard at once, so code cannot raise it.

    RLIMIT_NPROC counts every process of the uid, so it is only set where that uid is
    the sandbox's own (`processes=False` for code running as you).
    """
    cpu = max(1, int(limits.cpu_seconds))
    nproc = [f"--nproc={limits.processes}"] if processes else []
    return [
        "prlimit",
        f"--as={limits.memory_mb * MB}",
        f"--cpu={cpu}:{cpu + 1}",  # SIGXCPU at the soft limit, SIGKILL a second later
        f"--fsize={limits.file_size_mb * MB}",
        f"--nofile={limits.open_files}",
        *nproc,
        "--core=0",
        "--",
    ]


def drop_privileges(uid: int) -> list[str]:
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def environment(token_var: str, token: str, home: str) -> dict[str, str]:
    return {
        "PATH": SANDBOX_PATH,
        "HOME": home,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        token_var: token,
    }


def _system_binds(allow_network: bool, extra: Sequence[str]) -> list[str]:
    args: list[str] = []
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    names = ETC_FILES + (NETWORK_FILES if allow_network else ())
    names += tuple(p.name for p in Path("/etc").glob("python3*"))
    for name in names:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for path in extra:
        args += ["--ro-bind-try", path, path]
    return args


def bwrap_argv(
    bwrap: str,
    *,
    workspace: Path,
    code_dir: Path,
    env: dict[str, str],
    limits: ExecLimits,
    uid: int,
    allow_network: bool,
    extra_binds: Sequence[str] = (),
    seccomp_fd: int | None = None,
    disable_userns: bool = False,
) -> list[str]:
    """bubblewrap up to its `--`; the command to run inside follows (see `inner`).

    Code must not make user namespaces of its own: `disable_userns` (bubblewrap's flag,
    only where bubblewrap made one, i.e. not as root) or a seccomp program read from
    `seccomp_fd` (see `seccomp.py`)."""
    if is_root():  # see the module docstring: keep the host user ns, drop uid inside
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        namespaces += [] if allow_network else ["--unshare-net"]
        identity: list[str] = []  # `inner` drops the uid and every capability
    else:
        namespaces = ["--unshare-all", *(["--share-net"] if allow_network else [])]
        identity = ["--uid", str(uid), "--gid", str(uid)]
    if disable_userns and not is_root():
        namespaces.append("--disable-userns")
    args = [bwrap, *namespaces, "--die-with-parent", "--new-session", *identity]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    args += _system_binds(allow_network, extra_binds)
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(limits.file_size_mb * MB), "--tmpfs", "/tmp"]
    args += ["--bind", str(workspace), WORKSPACE, "--ro-bind", str(code_dir), CODE]
    args += ["--chdir", WORKSPACE, "--hostname", "sandbox", "--remount-ro", "/", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--"]


def supports_disable_userns(bwrap: str) -> bool:
    """Whether this bubblewrap has `--disable-userns` (0.8 and later)."""
    try:
        shown = subprocess.run(
            [bwrap, "--help"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--disable-userns" in shown.stdout + shown.stderr


def inner(limits: ExecLimits, uid: int, command: Sequence[str]) -> list[str]:
    """What runs inside the confinement: drop to `uid` (as root), set rlimits, run."""
    drop = drop_privileges(uid) if is_root() else []
    return [*drop, *rlimits(limits), *command]


def fallback_prefixes(allow_network: bool) -> list[tuple[list[str], set[str]]]:
    """Confinement without bubblewrap, best first, each with what it isolates."""
    user = [] if is_root() else ["--user", "--map-root-user"]
    net = [] if allow_network else ["--net"]
    pid = ["--pid", "--fork", "--kill-child"]
    # unshare --fork loses a child's death by signal (SIGXCPU, ...): a shell as the
    # namespace's init keeps it, as the usual 128+n exit status.
    keep_status = ["sh", "-c", '"$@"; exit $?', "sh"]
    isolated = set() if allow_network else {"network"}
    return [
        (["unshare", *user, *net, *pid, "--", *keep_status], isolated | {"processes"}),
        (["unshare", *user, *net, "--"], isolated),
        ([], set()),
    ]
