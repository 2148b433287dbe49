"""The README's offline-search recipe, as a person follows it: the commands copied from the
README and run by the real CLI, its YAML in an `orchestrator.yaml`, and the shipped
scenario that runs the recipe through `orchestrator scenario run` in a real Chromium.

A folder's index holds file:// URLs; the web surfer may open files under the indexed
folder without `url_policy.file_roots`, and still nothing else on disk.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.config import load_settings
from orchestrator.events import ActivityStarted, SpecialistActivity
from orchestrator.store import RunStore, list_runs
from specialists.web_surfer.policy import UrlPolicy
from specialists.web_surfer.search_box import index_file_roots
from specialists.web_surfer.settings import load_settings as load_surfer_settings

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SCENARIO = REPO / "scenarios" / "web" / "offline_search.yaml"
PYTHON_DOCS = Path("/usr/share/doc/python3-doc/html")
JSON_PAGE = (PYTHON_DOCS / "library" / "json.html").as_uri()
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    not (PYTHON_DOCS / "library" / "json.html").is_file(),
    reason="needs python3-doc (apt-get install python3-doc)",
)


def recipe() -> tuple[list[str], str]:
    """The README's offline-search commands and the YAML that follows them."""
    text = README.read_text()
    start = text.index("For fully offline search")
    bash = re.search(r"```bash\n(.*?)```", text[start:], re.S)
    yaml = re.search(r"```yaml\n(.*?)```", text[start:], re.S)
    assert bash is not None
    assert yaml is not None
    return [line for line in bash.group(1).splitlines() if line.strip()], yaml.group(1)


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", HOME=str(cwd), COLUMNS="200")
    return subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


async def test_the_readme_recipe_works_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands, yaml = recipe()
    assert [c.split()[:3] for c in commands] == [
        ["orchestrator", "index", "build"],
        ["orchestrator", "index", "query"],
    ]
    for command in commands:
        done = shell(command, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    assert JSON_PAGE in done.stdout  # the query found the json module's page

    (tmp_path / "orchestrator.yaml").write_text(yaml)
    with monkeypatch.context() as here:
        here.chdir(tmp_path)  # the YAML names docs.sqlite relative to where one runs it
        settings, found = load_settings(None, {})
        assert found == Path("orchestrator.yaml")
        surfer = load_surfer_settings(settings.specialists["web_surfer"])
        policy = UrlPolicy.from_settings(surfer.url_policy)
        assert surfer.url_policy.file_roots == []  # the recipe sets no file roots ...
        assert await policy.check(JSON_PAGE) is not None
        policy.allow_files_under(index_file_roots(surfer.search))
    assert await policy.check(JSON_PAGE) is None  # ... its index's folder is allowed
    assert await policy.check("file:///etc/passwd") is not None  # and nothing else
    assert await policy.check((PYTHON_DOCS.parent / "copyright").as_uri()) is not None


def test_the_shipped_scenario_runs_the_recipe_in_a_real_browser(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = shell(f"orchestrator scenario run {SCENARIO} --runs-dir {runs}", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 0 failed" in done.stdout
    (run,) = list_runs(runs)
    events = list(RunStore.open(run).events())
    actions = [e.data for e in events if isinstance(e, SpecialistActivity) and e.kind == "action"]
    assert [(a["name"], a["ok"]) for a in actions] == [
        ("search", True),
        ("visit_url", True),
        ("find_on_page", True),
    ]
    assert "(from local):\n1. [json — JSON encoder" in actions[0]["detail"]  # the index ...
    assert actions[1]["detail"] == f"opened {JSON_PAGE}"  # ... opened, not refused
    assert "occurs 1 time(s)" in actions[2]["detail"]  # the signature is on the page
    # each action announced what the spinner line says while it runs, before it ran
    started = [e for e in events if isinstance(e, ActivityStarted)]
    assert [(e.data["name"], e.data["waiting_for"]) for e in started] == [
        ("search", "searching"),
        ("visit_url", "page loading"),
        ("find_on_page", "find_on_page in the browser"),
    ]
    ended = [e for e in events if isinstance(e, SpecialistActivity)]
    assert all(s.seq < e.seq for s, e in zip(started, ended, strict=True))
