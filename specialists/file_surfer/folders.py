"""Looking around the allowed roots: list a folder, find files, describe one file.

These never follow a symlink out of the roots: listings mark such links, the search walks
without following links, and every path goes through `Roots.resolve` first.
"""

from __future__ import annotations

import fnmatch
import mimetypes
import os
from datetime import UTC, datetime
from pathlib import Path

from specialists.file_surfer.confine import Roots

MAX_VISITED = 50_000  # entries a find_files walk looks at before it gives up
SIGNATURES = {
    b"%PDF-": "PDF document",
    b"PK\x03\x04": "ZIP container (ZIP, DOCX, XLSX, PPTX, ODT, EPUB, ...)",
    b"\xd0\xcf\x11\xe0": "legacy Office file (DOC, XLS, PPT) or encrypted Office file",
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"\x7fELF": "ELF executable",
}


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def list_folder(roots: Roots, path: str, limit: int) -> str:
    real = roots.resolve(path)
    if not real.is_dir():
        return f"'{path}' is not a folder; use open_file or file_info on it"
    with os.scandir(real) as found:
        entries = sorted(found, key=lambda e: (not e.is_dir(), e.name.lower()))
    lines = [f"Folder {roots.display(real)} ({len(entries)} entries):"]
    for entry in entries[:limit]:
        lines.append("- " + _entry(roots, entry))
    if len(entries) > limit:
        lines.append(f"… and {len(entries) - limit} more (use find_files to narrow down)")
    if not entries:
        lines.append("(empty folder)")
    return "\n".join(lines)


def _entry(roots: Roots, entry: os.DirEntry[str]) -> str:
    if entry.is_symlink() and not roots.contains(Path(os.path.realpath(entry.path))):
        return f"{entry.name} (a link leading outside the allowed roots: cannot be opened)"
    if entry.is_dir():
        return f"{entry.name}/"
    try:
        return f"{entry.name} ({size_text(entry.stat().st_size)})"
    except OSError:
        return f"{entry.name} (unreadable)"


def find_files(roots: Roots, pattern: str, folder: str, limit: int) -> str:
    """Names matching a glob (`*.pdf`, `reports/**/q3*`) or containing `pattern`."""
    start = roots.resolve(folder)
    if not start.is_dir():
        return f"'{folder}' is not a folder"
    is_glob = any(c in pattern for c in "*?[")
    wanted = pattern.lower()
    matches: list[str] = []
    visited = 0
    for dirpath, dirnames, filenames in os.walk(start):  # does not follow links
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            visited += 1
            relative = Path(dirpath, name).relative_to(start).as_posix().lower()
            if is_glob:
                hit = fnmatch.fnmatch(name.lower(), wanted) or fnmatch.fnmatch(relative, wanted)
            else:
                hit = wanted in name.lower()
            if hit:
                shown = roots.display(Path(dirpath, name))
                matches.append(shown + ("/" if name in dirnames else ""))
        if len(matches) >= limit or visited >= MAX_VISITED:
            break
    where = roots.display(start)
    if not matches:
        return f"No files matching '{pattern}' under {where} ({visited} entries searched)."
    lines = [f"Files matching '{pattern}' under {where}:"]
    lines += [f"- {m}" for m in matches[:limit]]
    if len(matches) >= limit or visited >= MAX_VISITED:
        lines.append("(the search stopped early: narrow the pattern or the folder)")
    return "\n".join(lines)


def file_info(roots: Roots, path: str) -> str:
    real = roots.resolve(path)
    if not real.exists():
        return f"No such file or folder: '{path}'"
    stat = real.stat()
    modified = datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds")
    lines = [f"File info for {roots.display(real)}:"]
    if real.is_dir():
        lines.append(f"- Type: folder ({sum(1 for _ in real.iterdir())} entries)")
    else:
        lines.append(f"- Type: {_describe(real)}")
        lines.append(f"- Size: {size_text(stat.st_size)} ({stat.st_size} bytes)")
    lines.append(f"- Modified: {modified}")
    if Path(os.path.abspath(roots.home / path)) != real:
        lines.append(f"- Real location: {real}")
    return "\n".join(lines)


def _describe(real: Path) -> str:
    guessed = mimetypes.guess_type(real.name)[0]
    try:
        with real.open("rb") as stream:
            head = stream.read(16)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    sniffed = next((kind for magic, kind in SIGNATURES.items() if head.startswith(magic)), None)
    if not head:
        sniffed = "empty file"
    parts = [p for p in (sniffed, f"named as {guessed}" if guessed else None) if p]
    return "; ".join(parts) or "unknown type"
