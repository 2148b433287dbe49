"""Confinement: every path the model names must resolve inside the allowed roots.

The first root is the run's workspace, where relative paths start. A path is refused if it
has a `..` part, if it is absolute and outside every root, or if it (or a folder on the
way) is a symlink whose target lies outside. Checks run on the fully resolved path
(realpath), so a link cannot smuggle the reader out.

Paths are taken exactly as given (a file may be named `"x.txt "`), and every name shown
to the model goes through `names.shown`. `regular_file` refuses pipes, sockets and
devices by their `stat`, before anything opens them (opening a FIFO blocks forever).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from specialists.file_surfer.document import FileProblem
from specialists.file_surfer.names import has_escapes, shown, unescaped

_SPECIAL = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_kind(mode: int) -> str | None:
    """What a non-regular, non-folder file is ("a named pipe (FIFO)", ...), else None."""
    return next((kind for test, kind in _SPECIAL if test(mode)), None)


def regular_file(real: Path, name: str) -> os.stat_result:
    """The `stat` of `real`, or FileProblem if it is not a regular file: a pipe, socket or
    device would block or never end when read."""
    try:
        info = os.stat(real)
    except FileNotFoundError:
        raise FileProblem(f"no such file '{name}'; list_folder or find_files can find it") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileProblem(f"'{name}' is a folder: use list_folder")
    if not stat.S_ISREG(info.st_mode):
        kind = special_kind(info.st_mode) or "not a regular file"
        raise FileProblem(f"'{name}' is {kind}, not a regular file: it cannot be opened")
    return info


def open_regular(path: Path) -> io.BufferedReader:
    """`path` opened for reading, refused unless it is a regular file. The open itself
    cannot block (O_NONBLOCK), and the check is on the opened file (fstat), so a FIFO
    swapped in after an earlier `stat` is refused too."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = special_kind(mode) or ("a folder" if stat.S_ISDIR(mode) else "not a file")
            raise FileProblem(f"'{shown(str(path))}' is {kind}, not a regular file")
        os.set_blocking(fd, True)
        return open(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def stream_of(source: Path | bytes) -> Iterator[io.BufferedIOBase]:
    """A binary stream over `source`: the bytes, or the regular file at that path."""
    if isinstance(source, bytes):
        yield io.BytesIO(source)
        return
    with open_regular(source) as stream:
        yield stream


def read_regular(source: Path | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    with open_regular(source) as stream:
        return stream.read()


class PathRefused(Exception):
    """The path leaves the allowed roots; the message lists them."""


@dataclass(frozen=True)
class Roots:
    folders: tuple[Path, ...]  # resolved; the first is where relative paths start

    @staticmethod
    def of(workspace: Path, extra: Sequence[Path] = ()) -> Roots:
        folders: list[Path] = []
        for folder in (workspace, *extra):
            real = Path(os.path.realpath(folder))
            if real not in folders:
                folders.append(real)
        return Roots(tuple(folders))

    @property
    def home(self) -> Path:
        return self.folders[0]

    def describe(self) -> str:
        return ", ".join(shown(str(f)) for f in self.folders)

    def contains(self, real: Path) -> bool:
        return any(real == f or real.is_relative_to(f) for f in self.folders)

    def resolve(self, text: str) -> Path:
        """The real path of `text` inside the roots, or PathRefused saying why not.

        `text` is used exactly as given, never stripped; if nothing is there and it holds
        escapes as `shown` writes them, the name they stand for is tried too."""
        real = self._resolve(text or ".")
        if not real.exists() and has_escapes(text):
            try:
                other = self._resolve(unescaped(text))
            except PathRefused:
                return real
            if other.exists():
                return other
        return real

    def _resolve(self, text: str) -> Path:
        if ".." in PurePosixPath(text.replace("\\", "/")).parts:
            raise PathRefused(
                f"'{shown(text)}': paths with '..' are not allowed; "
                f"allowed roots: {self.describe()}"
            )
        if "\x00" in text:
            raise PathRefused(f"'{shown(text)}' is not a valid path (it contains a NUL character)")
        given = Path(text).expanduser()
        candidate = given if given.is_absolute() else self.home / given
        real = Path(os.path.realpath(candidate))
        if self.contains(real):
            return real
        why = "is outside" if not self._lexically_inside(candidate) else "is a link leading outside"
        raise PathRefused(f"'{shown(text)}' {why} the allowed roots: {self.describe()}")

    def display(self, real: Path) -> str:
        """How to name `real` to the model: relative to the workspace where possible, with
        controls and non-UTF-8 bytes escaped (`names.shown`)."""
        if real == self.home:
            return "."
        if real.is_relative_to(self.home):
            return shown(real.relative_to(self.home).as_posix())
        return shown(str(real))

    def _lexically_inside(self, candidate: Path) -> bool:
        plain = Path(os.path.abspath(candidate))
        return any(plain.is_relative_to(f) for f in self.folders)
