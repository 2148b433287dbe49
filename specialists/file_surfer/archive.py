"""ZIP archives: list the members, read one member into memory, safely.

Nothing is extracted to disk, so a member name like `../../etc/passwd` cannot write
anywhere; such names are still refused, to say plainly that the archive is suspicious.
Zip bombs are stopped three ways: the declared size must be under the limit, the
compression ratio must be plausible, and reading stops at the limit whatever the header
claims.

Office files, e-books and OpenDocument files are ZIP containers too; `check_container`
checks all their members before a converter reads them.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from specialists.file_surfer.document import MEMBER_SEP, FileProblem
from specialists.file_surfer.names import has_escapes, shown, unescaped

MAX_RATIO = 200  # text compresses ~10x; a member claiming far more is a bomb
SMALL_MEMBER = 1024 * 1024  # below this, any ratio is harmless
CHUNK = 1024 * 1024


def _archive(source: Path | bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem(f"{name} is not a readable ZIP archive: {exc}") from None


def check_container(source: Path | bytes, name: str, max_unpacked: int) -> None:
    """Refuse a ZIP container (DOCX, XLSX, PPTX, ODT, EPUB) whose members unpack to more
    than `max_unpacked` bytes in all, or one of which claims an implausible ratio; then
    unpack every member as a stream, without keeping it, to check the sizes they really
    have. (zipfile never yields more than a member's declared size; a member that lies
    about it fails its CRC check instead, and is reported as damaged.)"""
    with _archive(source, name) as container:
        infos = container.infolist()
        declared = sum(info.file_size for info in infos)
        if declared > max_unpacked:
            raise FileProblem(
                f"{name} unpacks to {declared} bytes, more than the limit of {max_unpacked} "
                "(specialists.file_surfer.max_unpacked_mb): not read, it may be a zip bomb"
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > SMALL_MEMBER and ratio > MAX_RATIO:
                raise FileProblem(
                    f"{name}: its member {shown(info.filename)} looks like a zip bomb "
                    f"({info.file_size} bytes packed {ratio:.0f}:1): not read"
                )
        actual = 0
        for info in infos:
            if info.is_dir() or info.flag_bits & 0x1:
                continue
            try:
                with container.open(info) as stream:
                    while chunk := stream.read(CHUNK):
                        actual += len(chunk)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError) as exc:
                raise FileProblem(
                    f"{name} is damaged: its member {shown(info.filename)} cannot be unpacked "
                    f"({exc})"
                ) from None
            if actual > max_unpacked:
                raise FileProblem(f"{name} unpacks to more than {max_unpacked} bytes: not read")


def unsafe_name(member: str) -> str | None:
    """Why a member name must not be used, or None if it is fine."""
    posix = member.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "a '..' path"
    return None


def listing(source: Path | bytes, name: str) -> str:
    """The members as a markdown table: name, size, packed size; unsafe ones flagged."""
    with _archive(source, name) as archive:
        infos = archive.infolist()
    lines = [
        f"# ZIP archive: {name} ({len(infos)} members)",
        "",
        "Open a member with open_file(path, member=NAME).",
        "",
        "| member | size (bytes) | packed | note |",
        "| --- | --- | --- | --- |",
    ]
    for info in infos:
        notes = []
        if info.is_dir():
            notes.append("folder")
        if info.flag_bits & 0x1:
            notes.append("password-protected")
        if why := unsafe_name(info.filename):
            notes.append(f"unsafe name ({why}): will not be opened")
        member = shown(info.filename).replace("|", "\\|")
        lines.append(f"| {member} | {info.file_size} | {info.compress_size} | {', '.join(notes)} |")
    return "\n".join(lines) + "\n"


def read_member(source: Path | bytes, name: str, member: str, max_bytes: int) -> bytes:
    """The member's bytes, or FileProblem if it is unsafe, encrypted, too big or a bomb."""
    where = f"{name}{MEMBER_SEP}{shown(member)}"
    if why := unsafe_name(member):
        raise FileProblem(f"{where}: refused, the member name is {why}")
    with _archive(source, name) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            info = None
        if info is None and has_escapes(member):  # copied from the listing, escapes and all
            info = next((i for i in archive.infolist() if i.filename == unescaped(member)), None)
        if info is None:
            raise FileProblem(
                f"{name} has no member '{shown(member)}'; list it with open_file"
            ) from None
        if info.is_dir():
            raise FileProblem(f"{where} is a folder inside the archive, not a file")
        if info.flag_bits & 0x1:
            raise FileProblem(f"{where} is password-protected (encrypted ZIP member)")
        if info.file_size > max_bytes:
            raise FileProblem(f"{where} is too large ({info.file_size} bytes; limit {max_bytes})")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > SMALL_MEMBER and ratio > MAX_RATIO:
            raise FileProblem(f"{where} looks like a zip bomb (compression ratio {ratio:.0f}:1)")
        try:
            with archive.open(info) as stream:
                data = stream.read(max_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError) as exc:
            raise FileProblem(f"{where} could not be unpacked: {exc}") from None
    if len(data) > max_bytes:
        raise FileProblem(f"{where} unpacks to more than its declared size: refused")
    return data
