"""Looking around the allowed roots: list a folder, find files, describe one file.

These never follow a symlink out of the roots: listings mark such links, the search walks
without following links, and every path goes through `Roots.resolve` first. Names are
shown escaped (`names.shown`), and listings stop at a character budget as well as a count:
deep trees of long names must not make a result of megabytes.
"""

from __future__ import annotations

import fnmatch
import mimetypes
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from specialists.file_surfer.confine import Roots, open_regular, special_kind
from specialists.file_surfer.document import FileProblem
from specialists.file_surfer.names import shown

MAX_VISITED = 50_000  # entries a find_files walk looks at before it gives up
MAX_LISTING_CHARS = 20_000  # a listing stops here too, whatever the entry count
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
        return f"'{shown(path)}' is not a folder; use open_file or file_info on it"
    with os.scandir(real) as found:
        entries = sorted(found, key=lambda e: (not e.is_dir(), e.name.lower()))
    lines = [f"Folder {roots.display(real)} ({len(entries)} entries):"]
    size = 0
    for count, entry in enumerate(entries[:limit]):
        line = "- " + _entry(roots, entry)
        size += len(line) + 1
        if size > MAX_LISTING_CHARS:
            lines.append(f"… and {len(entries) - count} more (use find_files to narrow down)")
            break
        lines.append(line)
    else:
        if len(entries) > limit:
            lines.append(f"… and {len(entries) - limit} more (use find_files to narrow down)")
    if not entries:
        lines.append("(empty folder)")
    return "\n".join(lines)


def _entry(roots: Roots, entry: os.DirEntry[str]) -> str:
    name = shown(entry.name)
    if name != name.strip():
        name = f"'{name}'"  # leading or trailing spaces are part of the name
    if entry.is_symlink() and not roots.contains(Path(os.path.realpath(entry.path))):
        return f"{name} (a link leading outside the allowed roots: cannot be opened)"
    if entry.is_dir():
        return f"{name}/"
    try:
        info = entry.stat()
    except OSError:
        return f"{name} (unreadable)"
    if kind := special_kind(info.st_mode):
        return f"{name} ({kind}: cannot be opened)"
    return f"{name} ({size_text(info.st_size)})"


def find_files(roots: Roots, pattern: str, folder: str, limit: int) -> str:
    """Names matching a glob (`*.pdf`, `reports/**/q3*`) or containing `pattern`."""
    start = roots.resolve(folder)
    if not start.is_dir():
        return f"'{shown(folder)}' is not a folder"
    is_glob = any(c in pattern for c in "*?[")
    wanted = pattern.lower()
    matches: list[str] = []
    visited = size = 0
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
                match = roots.display(Path(dirpath, name)) + ("/" if name in dirnames else "")
                size += len(match) + 3
                matches.append(match)
        if len(matches) >= limit or visited >= MAX_VISITED or size > MAX_LISTING_CHARS:
            break
    where = roots.display(start)
    if not matches:
        return f"No files matching '{shown(pattern)}' under {where} ({visited} entries searched)."
    lines = [f"Files matching '{shown(pattern)}' under {where}:"]
    size = 0
    for match in matches[:limit]:
        size += len(match) + 3
        if size > MAX_LISTING_CHARS:
            break
        lines.append(f"- {match}")
    if len(matches) >= limit or visited >= MAX_VISITED or size > MAX_LISTING_CHARS:
        lines.append("(the search stopped early: narrow the pattern or the folder)")
    return "\n".join(lines)


def file_info(roots: Roots, path: str) -> str:
    real = roots.resolve(path)
    try:
        info = os.stat(real)
    except FileNotFoundError:
        return f"No such file or folder: '{shown(path)}'"
    modified = datetime.fromtimestamp(info.st_mtime, UTC).isoformat(timespec="seconds")
    lines = [f"File info for {roots.display(real)}:"]
    if stat.S_ISDIR(info.st_mode):
        lines.append(f"- Type: folder ({sum(1 for _ in real.iterdir())} entries)")
    elif kind := special_kind(info.st_mode):  # never opened: a FIFO would block forever
        lines.append(f"- Type: {kind}; not a regular file, so it cannot be opened")
    else:
        lines.append(f"- Type: {_describe(real)}")
        lines.append(f"- Size: {size_text(info.st_size)} ({info.st_size} bytes)")
    lines.append(f"- Modified: {modified}")
    if Path(os.path.abspath(roots.home / path)) != real:
        lines.append(f"- Real location: {shown(str(real))}")
    return "\n".join(lines)


def _describe(real: Path) -> str:  # a regular file: stat said so
    guessed = mimetypes.guess_type(real.name)[0]
    try:
        with open_regular(real) as stream:  # never blocks, even if a FIFO was swapped in
            head = stream.read(16)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    except FileProblem as exc:
        return str(exc)
    sniffed = next((kind for magic, kind in SIGNATURES.items() if head.startswith(magic)), None)
    if not head:
        sniffed = "empty file"
    parts = [p for p in (sniffed, f"named as {guessed}" if guessed else None) if p]
    return "; ".join(parts) or "unknown type"
