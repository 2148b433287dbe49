"""Images as metadata: format, size, mode and the EXIF tags worth reading.

The file surfer talks to text models, so it never sends pixels: it describes the file
(camera, date taken, exposure, GPS position) and says that it cannot see the picture.
"""

from __future__ import annotations

import io
import numbers
import warnings
from pathlib import Path
from typing import Any

from specialists.file_surfer.document import FileProblem

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}
# (IFD, tag id, label): the tags a person asks about; binary maker notes are left out.
BASE_TAGS = {0x010F: "Camera make", 0x0110: "Camera model", 0x0131: "Software"}
BASE_TAGS |= {0x0132: "Modified", 0x010E: "Description", 0x013B: "Artist"}
EXIF_TAGS = {0x9003: "Taken", 0x829A: "Exposure time (s)", 0x829D: "F-number"}
EXIF_TAGS |= {0x8827: "ISO", 0x920A: "Focal length (mm)", 0xA002: "Pixel width (EXIF)"}
EXIF_TAGS |= {0xA003: "Pixel height (EXIF)"}
EXIF_IFD, GPS_IFD = 0x8769, 0x8825


def image_summary(source: Path | bytes, name: str) -> str:
    from PIL import Image, UnidentifiedImageError

    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            # Only the header is read, so a decompression bomb is harmless here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream)
        with image:
            lines = [
                f"# Image: {name}",
                f"- Format: {image.format}",
                f"- Size: {image.width} x {image.height} pixels",
                f"- Colour mode: {image.mode}",
            ]
            frames = int(getattr(image, "n_frames", 1))
            if frames > 1:
                lines.append(f"- Frames: {frames}")
            lines += _exif_lines(image.getexif())
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise FileProblem(f"{name} could not be read as an image: {exc}") from None
    lines.append("")
    lines.append("(The picture itself is not shown: the file surfer reports metadata only.)")
    return "\n".join(lines)


def _exif_lines(exif: Any) -> list[str]:
    if not exif:
        return ["- EXIF: none"]
    found = [(label, exif.get(tag)) for tag, label in BASE_TAGS.items()]
    details = exif.get_ifd(EXIF_IFD)
    found += [(label, details.get(tag)) for tag, label in EXIF_TAGS.items()]
    lines = [f"- {label}: {_plain(value)}" for label, value in found if _plain(value)]
    gps = _gps(exif.get_ifd(GPS_IFD))
    if gps:
        lines.append(f"- GPS position: {gps}")
    return ["- EXIF:", *("  " + line for line in lines)] if lines else ["- EXIF: no common tags"]


def _plain(value: Any) -> str:
    if value is None or isinstance(value, bytes):
        return ""
    if isinstance(value, numbers.Real) and not float(value).is_integer():
        return format(float(value), ".6g")
    text = str(value).strip().strip("\x00")
    return text if text.isprintable() else ""


def _gps(gps: Any) -> str:
    """Decimal degrees from EXIF's (degrees, minutes, seconds) and N/S, E/W references."""
    try:
        lat = _degrees(gps[2], gps[1])
        lon = _degrees(gps[4], gps[3])
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return ""
    return f"{lat:.6f}, {lon:.6f}"


def _degrees(dms: Any, ref: str) -> float:
    degrees, minutes, seconds = (float(x) for x in dms)
    value = degrees + minutes / 60 + seconds / 3600
    return -value if ref in ("S", "W") else value
