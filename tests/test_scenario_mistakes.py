"""Scripted mistakes are noticed, through the real `orchestrator scenario run`.

A scripted orchestrator says "satisfied" whatever the specialists did, so a script that
clicks an element the page does not have, or calls a tool that does not exist, used to
pass without a trace. Now each such action is an `action_failed` event, a passing run
warns about it, `no_failed_actions` fails it, `reply_contains` checks what a member
replied, and what the web surfer saw (elements with their ids) is in the events. The
scenario's fixture site can also be given a fixed port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from orchestrator.events import ActionFailed, SpecialistObserved
from orchestrator.store import RunStore, list_runs

SCENARIO = Path(__file__).parent / "data" / "scenarios" / "scripted_mistakes" / "scenario.yaml"
ORCHESTRATOR = Path(sys.executable).parent / "orchestrator"
EXPECT = '  reply_contains: {web_surfer: "opens at 10:00"}\n'


def scenario_run(cwd: Path, scenario: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    env.update(COLUMNS="250", NO_COLOR="1", HOME=str(cwd))
    return subprocess.run(
        [
            str(ORCHESTRATOR),
            "scenario",
            "run",
            str(scenario),
            "--runs-dir",
            "runs",
            *map(str, extra),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def variant(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of the scenario (and its site) with parts of its text replaced."""
    folder = tmp_path / "scenario"
    shutil.copytree(SCENARIO.parent, folder)
    text = SCENARIO.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    (folder / SCENARIO.name).write_text(text)
    return folder / SCENARIO.name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def the_run(tmp_path: Path) -> RunStore:
    (run,) = list_runs(tmp_path / "runs")
    return RunStore(run)


def test_a_passing_scripted_run_warns_of_each_failed_action_and_records_it(
    tmp_path: Path,
) -> None:
    done = scenario_run(tmp_path, SCENARIO, "--junit", "report.xml")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "PASS scripted mistakes go noticed" in done.stdout
    assert (
        'warning: a scripted action failed: round 1, web_surfer click {"id": 42}: failed: '
        "there is no element [42] in the current observation"
    ) in done.stdout, out
    assert (
        "warning: a scripted action failed: round 1, web_surfer open_prices: unknown tool: "
        "unknown action 'open_prices'"
    ) in done.stdout, out
    assert "orchestrator show -o " in done.stdout
    assert "Traceback" not in out

    events = list(the_run(tmp_path).events())
    failed = [e for e in events if isinstance(e, ActionFailed)]
    assert [(e.speaker, e.action, e.problem) for e in failed] == [
        ("web_surfer", "click", "failed"),
        ("web_surfer", "open_prices", "unknown_tool"),
    ]
    assert failed[0].arguments == '{"id": 42}'
    # What the web surfer saw is recorded with the elements' ids: no browser probe needed.
    seen = [e for e in events if isinstance(e, SpecialistObserved)]
    assert [e.after for e in seen] == ["", "visit_url", "click"]
    assert '[1] link "Prices"' in seen[1].text
    assert "The museum opens at 10:00" in seen[1].text
    assert all(len(e.text) <= 4000 for e in seen)

    (case,) = ET.parse(tmp_path / "report.xml").getroot()
    warned = case.find("system-err")
    assert warned is not None
    assert warned.text is not None
    assert "web_surfer open_prices: unknown tool" in warned.text

    shown = subprocess.run(
        [str(ORCHESTRATOR), "show", "-o", str(the_run(tmp_path).root)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "web_surfer saw, after visit_url" in shown.stdout
    assert '[1] link "Prices"' in shown.stdout
    assert 'click {"id": 42} ✗ failed' in shown.stdout


def test_no_failed_actions_and_reply_contains_fail_the_run(tmp_path: Path) -> None:
    scenario = variant(
        tmp_path,
        (EXPECT, '  reply_contains: {web_surfer: "opens at 09:00"}\n  no_failed_actions: true\n'),
    )
    done = scenario_run(tmp_path, scenario)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "FAIL scripted mistakes go noticed" in done.stdout
    assert (
        '- action failed: round 1, web_surfer click {"id": 42}: failed: there is no element [42]'
    ) in done.stdout, out
    assert "- action failed: round 1, web_surfer open_prices: unknown tool" in done.stdout, out
    assert (
        "- no reply from web_surfer contains 'opens at 09:00' (1 reply; the last: "
        "'The museum opens at 10:00 (the page says so)."
    ) in done.stdout, out
    assert "warning:" not in done.stdout  # the failures say it already


def test_expected_failures_are_not_warned_about_and_a_site_can_have_a_fixed_port(
    tmp_path: Path,
) -> None:
    port = free_port()
    scenario = variant(
        tmp_path,
        ("sites: {museum: site}", f"sites: {{museum: {{path: site, port: {port}}}}}"),
        (EXPECT, EXPECT + "  events: [{type: action_failed, min: 2, max: 2}]\n"),
    )
    done = scenario_run(tmp_path, scenario)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "warning:" not in done.stdout, out
    store = the_run(tmp_path)
    assert store.load_config().task.endswith(f"http://127.0.0.1:{port}/index.html")
    seen = [e for e in store.events() if isinstance(e, SpecialistObserved)]
    assert seen[1].text.startswith(f"http://127.0.0.1:{port}/index.html")


def test_a_fixed_port_that_is_taken_is_a_one_line_error_naming_the_field(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        scenario = variant(
            tmp_path,
            ("sites: {museum: site}", f"sites:\n    museum: {{path: site, port: {port}}}"),
        )
        done = scenario_run(tmp_path, scenario)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out
    assert (
        f"scenario.yaml:12:32: fixtures.sites.museum.port: site 'museum': port {port} on "
        "127.0.0.1 is already in use"
    ) in done.stdout, out


def test_reply_contains_must_name_a_team_member(tmp_path: Path) -> None:
    scenario = variant(tmp_path, (EXPECT, '  reply_contains: {coder: "10:00"}\n'))
    done = scenario_run(tmp_path, scenario)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out
    assert "expect.reply_contains.coder: 'coder' is not on the team (web_surfer)" in done.stdout, (
        out
    )
    assert not (tmp_path / "runs").exists() or list_runs(tmp_path / "runs") == []
