"""ZIP archives in the file surfer: listing, opening members (real documents inside a ZIP
made here from Debian's sample files), and the dangerous ones: path traversal in member
names, a zip bomb, an encrypted member (made with Debian's `zip`), members too large."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from specialists.file_surfer.archive import read_member, unsafe_name
from specialists.file_surfer.confine import Roots
from specialists.file_surfer.document import FileProblem
from specialists.file_surfer.settings import FileSurferSettings
from specialists.file_surfer.viewer import Viewer

REFERENCE_PDF = Path("/usr/share/debian-reference/debian-reference.en.pdf")
DOCX = Path("/usr/share/forensics-samples/original-files/text1/a-text.docx")
XLSX = Path("/usr/share/doc/xlsx2csv/examples/test/utf8.xlsx")
MB = 1024 * 1024


def real(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: install the test packages with scripts/setup.sh --dev")
    return path


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(real(REFERENCE_PDF), "docs/debian-reference.en.pdf")
        archive.write(real(DOCX), "docs/a-text.docx")
        archive.write(real(XLSX), "sheets/utf8.xlsx")
        archive.writestr("../../outside.txt", "a traversal attempt")
        archive.writestr("/etc/cron.d/evil", "an absolute path")
    return path


def viewer(root: Path, **settings: object) -> Viewer:
    return Viewer(Roots.of(root), FileSurferSettings.model_validate(settings))


def test_opening_a_zip_lists_its_members_and_flags_unsafe_names(bundle: Path) -> None:
    shown = viewer(bundle.parent).open("bundle.zip")
    lines = shown.splitlines()
    assert lines[0] == "bundle.zip — page 1 of 1"
    assert "# ZIP archive: bundle.zip (5 members)" in shown
    assert f"| docs/debian-reference.en.pdf | {REFERENCE_PDF.stat().st_size} |" in shown
    assert (
        "| ../../outside.txt | 19 | 21 | unsafe name (a '..' path): will not be opened |" in shown
    )
    assert "/etc/cron.d/evil" in shown
    assert "unsafe name (an absolute path)" in shown


def test_a_pdf_member_opens_with_its_pages(bundle: Path) -> None:
    reader = viewer(bundle.parent)
    shown = reader.open("bundle.zip", member="docs/debian-reference.en.pdf")
    assert shown.startswith("bundle.zip > docs/debian-reference.en.pdf — page 1 of 261\n")
    assert "208164 reports" in reader.go_to_page(27)
    assert reader.location() == "bundle.zip > docs/debian-reference.en.pdf — page 27 of 261"


@pytest.mark.parametrize(
    ("member", "text"),
    [("docs/a-text.docx", "There are 2 pages."), ("sheets/utf8.xlsx", "| 3 | Здравствуйте |")],
)
def test_office_members_open_too(bundle: Path, member: str, text: str) -> None:
    assert text in viewer(bundle.parent).open("bundle.zip", member=member)


@pytest.mark.parametrize("member", ["../../outside.txt", "/etc/cron.d/evil"])
def test_unsafe_members_are_refused(bundle: Path, member: str) -> None:
    reader = viewer(bundle.parent)
    reader.open("bundle.zip")
    shown = reader.open("bundle.zip", member=member)
    assert shown.splitlines()[0] == "bundle.zip — page 1 of 1"  # still where it was
    assert "Not opened: bundle.zip > " in shown
    assert "refused, the member name is" in shown
    assert not (bundle.parent.parent / "outside.txt").exists()


def test_member_names_are_judged_as_paths() -> None:
    assert unsafe_name("docs/../../x") == "a '..' path"
    assert unsafe_name("C:\\Windows\\x") == "an absolute path"
    assert unsafe_name("docs/report..final.pdf") is None


def test_a_zip_bomb_is_refused_without_unpacking_it(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.txt", bytes(50 * MB))  # packs to about 50 KB
    with pytest.raises(FileProblem, match=r"looks like a zip bomb \(compression ratio \d+:1\)"):
        read_member(bomb, "bomb.zip", "zeros.txt", 100 * MB)


def test_a_member_over_the_size_limit_is_refused(bundle: Path) -> None:
    shown = viewer(bundle.parent, max_file_mb=1).open(
        "bundle.zip", member="docs/debian-reference.en.pdf"
    )
    assert "docs/debian-reference.en.pdf is too large" in shown


def test_an_encrypted_member_is_password_protected(tmp_path: Path) -> None:
    zip_tool = shutil.which("zip")
    if zip_tool is None:
        pytest.fail("the `zip` command is missing: install it with scripts/setup.sh --dev")
    (tmp_path / "secret.txt").write_text("the launch code is 0000\n")
    subprocess.run(
        [zip_tool, "-q", "-P", "peanuts", "locked.zip", "secret.txt"], cwd=tmp_path, check=True
    )
    reader = viewer(tmp_path)
    assert "| secret.txt | 24 |" in reader.open("locked.zip")
    assert "password-protected" in reader.open("locked.zip").split("| secret.txt |")[1]
    shown = reader.open("locked.zip", member="secret.txt")
    assert "locked.zip > secret.txt is password-protected (encrypted ZIP member)" in shown
    assert "launch code" not in shown


def test_a_missing_member_and_a_non_zip_are_explained(bundle: Path) -> None:
    reader = viewer(bundle.parent)
    assert "bundle.zip has no member 'nope.pdf'" in reader.open("bundle.zip", member="nope.pdf")
    (bundle.parent / "notes.txt").write_text("hello")
    shown = reader.open("notes.txt", member="x")
    assert "'notes.txt' is not a ZIP archive, so it has no member 'x'" in shown


def test_a_truncated_zip_is_not_readable(bundle: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bundle.read_bytes()[:200_000])
    assert "broken.zip is not a readable ZIP archive" in viewer(tmp_path).open("broken.zip")
