"""Confinement: every path the model names must resolve inside the allowed roots.

The first root is the run's workspace, where relative paths start. A path is refused if it
has a `..` part, if it is absolute and outside every root, or if it (or a folder on the
way) is a symlink whose target lies outside. Checks run on the fully resolved path
(realpath), so a link cannot smuggle the reader out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


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
        return ", ".join(str(f) for f in self.folders)

    def contains(self, real: Path) -> bool:
        return any(real == f or real.is_relative_to(f) for f in self.folders)

    def resolve(self, text: str) -> Path:
        """The real path of `text` inside the roots, or PathRefused saying why not."""
        text = text.strip() or "."
        if ".." in PurePosixPath(text.replace("\\", "/")).parts:
            raise PathRefused(
                f"'{text}': paths with '..' are not allowed; allowed roots: {self.describe()}"
            )
        if "\x00" in text:
            raise PathRefused(f"{text!r} is not a valid path (it contains a NUL character)")
        given = Path(text).expanduser()
        candidate = given if given.is_absolute() else self.home / given
        real = Path(os.path.realpath(candidate))
        if self.contains(real):
            return real
        why = "is outside" if not self._lexically_inside(candidate) else "is a link leading outside"
        raise PathRefused(f"'{text}' {why} the allowed roots: {self.describe()}")

    def display(self, real: Path) -> str:
        """How to name `real` to the model: relative to the workspace where possible."""
        if real == self.home:
            return "."
        if real.is_relative_to(self.home):
            return real.relative_to(self.home).as_posix()
        return str(real)

    def _lexically_inside(self, candidate: Path) -> bool:
        plain = Path(os.path.abspath(candidate))
        return any(plain.is_relative_to(f) for f in self.folders)
