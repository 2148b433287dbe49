"""Confinement: the file surfer reads only inside its roots. `..`, absolute paths outside
them and symlinks leading out (to /etc, or a linked folder) are refused, in every tool;
extra roots come from the settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specialists.file_surfer.confine import PathRefused, Roots
from specialists.file_surfer.settings import FileSurferSettings
from specialists.file_surfer.viewer import Viewer

FORENSICS = Path("/usr/share/forensics-samples/original-files")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "q3.txt").write_text("Revenue: 1,234 EUR\n")
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink("/etc", root / "etc-link")
    os.symlink(root / "reports" / "q3.txt", root / "latest.txt")  # stays inside: fine
    (tmp_path / "secret.txt").write_text("outside the workspace\n")
    return root


def test_relative_paths_resolve_inside_the_workspace(workspace: Path) -> None:
    roots = Roots.of(workspace)
    assert roots.resolve("reports/q3.txt") == workspace / "reports" / "q3.txt"
    assert roots.resolve(str(workspace / "reports")) == workspace / "reports"
    assert roots.resolve("latest.txt") == workspace / "reports" / "q3.txt"
    assert roots.resolve("") == workspace


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../secret.txt", "paths with '..' are not allowed"),
        ("reports/../../secret.txt", "paths with '..' are not allowed"),
        ("reports/../q3.txt", "paths with '..' are not allowed"),
        ("/etc/passwd", "is outside the allowed roots"),
        ("~/.bashrc", "is outside the allowed roots"),
        ("passwd", "is a link leading outside the allowed roots"),
        ("etc-link/hostname", "is a link leading outside the allowed roots"),
    ],
)
def test_escapes_are_refused_naming_the_allowed_roots(workspace: Path, path: str, why: str) -> None:
    with pytest.raises(PathRefused) as refused:
        Roots.of(workspace).resolve(path)
    assert why in str(refused.value)
    assert str(refused.value).endswith(f"allowed roots: {workspace}")


def test_a_nul_character_is_not_a_path(workspace: Path) -> None:
    with pytest.raises(PathRefused, match="contains a NUL character"):
        Roots.of(workspace).resolve("reports/q3.txt\x00.pdf")


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "passwd", "etc-link/hostname"])
def test_every_tool_refuses_an_escape(workspace: Path, path: str) -> None:
    reader = Viewer(Roots.of(workspace), FileSurferSettings())
    for shown in (reader.open(path), reader.file_info(path), reader.list_folder(path)):
        assert shown.startswith("no file open\n")
        assert "allowed roots" in shown
        assert "root:x:0:0" not in shown
        assert "outside the workspace" not in shown
    assert "Refused" in reader.find_files("*", path)


def test_listings_mark_links_that_lead_outside(workspace: Path) -> None:
    shown = Viewer(Roots.of(workspace), FileSurferSettings()).list_folder(".")
    assert "- passwd (a link leading outside the allowed roots: cannot be opened)" in shown
    assert "- etc-link (a link leading outside the allowed roots: cannot be opened)" in shown
    assert "- reports/" in shown
    assert "- latest.txt (19 bytes)" in shown


def test_find_files_does_not_follow_links_out(workspace: Path) -> None:
    reader = Viewer(Roots.of(workspace), FileSurferSettings())
    shown = reader.find_files("host*", ".")
    assert "No files matching 'host*'" in shown  # /etc/hostname is not reached via etc-link
    assert "- reports/q3.txt" in reader.find_files("*.txt", ".")
    assert "- reports/q3.txt" in reader.find_files("q3", "reports")


def test_extra_roots_from_the_settings_are_readable(workspace: Path) -> None:
    if not FORENSICS.is_dir():
        pytest.fail(
            f"{FORENSICS} is missing: install the test packages with scripts/setup.sh --dev"
        )
    settings = FileSurferSettings.model_validate({"roots": [str(FORENSICS)]})
    reader = Viewer(Roots.of(workspace, settings.roots), settings)
    shown = reader.open(str(FORENSICS / "text1" / "a-text.pdf"))
    assert shown.startswith(f"{FORENSICS}/text1/a-text.pdf — page 1 of 2\n")
    refused = reader.open(str(FORENSICS.parent / "original-multiple" / "test.txt"))
    assert f"allowed roots: {workspace}, {FORENSICS}" in refused
