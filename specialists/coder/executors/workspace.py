"""The workspace around a run: what changed in it, who may write to it, where code goes.

Files created or changed are found by comparing a snapshot (size, mtime, inode) taken
before the run with one taken after. Sandboxed code runs as an unprivileged uid, so
before a run the workspace is handed to that uid; the walk that takes the snapshot does
that too, without following symlinks (a link to /etc/passwd must not be chowned). The
walk cannot be raced by swapping a folder for a symlink mid-walk: it runs between runs,
and no process of the sandbox user outlives its run (which every executor verifies).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from specialists.coder.executors.base import CodeBlock

MAX_ENTRIES = 20_000  # a workspace bigger than this is only partly compared
SUFFIX = {"python": ".py", "sh": ".sh"}

Snapshot = dict[str, tuple[int, int, int]]  # relative path -> (size, mtime_ns, inode)


def snapshot(root: Path, *, owner: int | None = None) -> Snapshot:
    """Regular files under `root`; with `owner`, hand every entry to that uid/gid."""
    found: Snapshot = {}
    if owner is not None:
        _own(root, owner)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            if owner is not None and (info.st_uid != owner or info.st_gid != owner):
                _own(Path(path), owner)
            if stat.S_ISREG(info.st_mode):
                found[os.path.relpath(path, root)] = (info.st_size, info.st_mtime_ns, info.st_ino)
            if len(found) >= MAX_ENTRIES:
                return found
    return found


def before_run(workspace: Path, owner: int | None) -> tuple[Path, Snapshot]:
    """The workspace's real path and its snapshot, taken (and owned) before a run."""
    root = workspace.resolve()
    return root, snapshot(root, owner=owner)


def changes(before: Snapshot, after: Snapshot) -> tuple[Path, ...]:
    """Files created or changed between two snapshots, sorted."""
    return tuple(Path(p) for p in sorted(after) if before.get(p) != after[p])


def _own(path: Path, uid: int) -> None:
    # A file may vanish mid-walk; what the code then cannot write, its run will report.
    with contextlib.suppress(OSError):
        os.chown(path, uid, uid, follow_symlinks=False)


class CodeDir:
    """A private folder holding each block's source, readable by the sandbox user.

    The sources live outside the workspace so they do not show up as produced files;
    sandboxes mount this folder read-only at /code.
    """

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="orchestrator-code-"))
        self.path.chmod(0o755)  # the unprivileged sandbox user must reach the files
        self._count = 0

    def write(self, block: CodeBlock) -> str:
        """Write the block; return its file name inside this folder."""
        self._count += 1
        name = f"block{self._count}{SUFFIX[block.language]}"
        target = self.path / name
        target.write_text(block.source, encoding="utf-8")
        target.chmod(0o644)
        return name

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
