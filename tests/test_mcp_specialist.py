"""The mcp specialist against real MCP servers from PyPI (mcp-server-time, mcp-server-git
over a repository made here) and a misbehaving server of our own (tests/support/mcp_faulty.py):
crashes, hangs, garbage and huge output end as errors in a reply, within bounded time."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the mcp extra is not installed")

from ledgers import BudgetHit, StopReason
from orchestrator import team as team_registry
from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from orchestrator.scenarios.runner import run_one
from orchestrator.store import RunStore
from specialists.base import ApprovalRequest, Reply, StepContext, TeamEnv
from specialists.mcp_tools import (
    Connection,
    McpConfigError,
    McpSpecialist,
    ServerFailed,
    connections_for,
    load_settings,
)
from specialists.mcp_tools.settings import ServerSettings
from specialists.mcp_tools.specialist import TAG
from specialists.models.protocol import Capabilities
from specialists.user import UserProxy

ROOT = Path(__file__).resolve().parent.parent
FAULTY = Path(__file__).parent / "support" / "mcp_faulty.py"
BIN = Path(sys.executable).parent
TIME = {"command": str(BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]}


def faulty(mode: str = "serve", **limits: float) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(FAULTY), mode], **limits}


class Recorder:
    """A StepContext's approve and notify, recording what the specialist asked and did."""

    def __init__(self, approve: bool = True) -> None:
        self.approvals: list[ApprovalRequest] = []
        self.activity: list[tuple[str, dict[str, Any]]] = []
        self.failed: list[dict[str, Any]] = []  # `specialists.record`'s kinds, apart
        self.observed: list[dict[str, Any]] = []
        self._approve = approve

    async def approve(self, request: ApprovalRequest) -> bool:
        self.approvals.append(request)
        return self._approve or not request.risky

    def notify(self, kind: str, data: Mapping[str, Any]) -> None:
        if kind == "action_failed":
            self.failed.append(dict(data))
        elif kind == "observed":
            self.observed.append(dict(data))
        else:
            self.activity.append((kind, dict(data)))

    def context(self, tmp_path: Path) -> StepContext:
        return StepContext(
            run_id="test",
            round=1,
            workspace=tmp_path,
            history=(),
            approve=self.approve,
            notify=self.notify,
            notes="TEAM NOTES: the task is about times.",
        )


def calls(*replies: Sequence[tuple[str, dict[str, Any]]] | str) -> list[ScriptedReply]:
    """Scripted model replies: a list of (tool, arguments) calls, or a final answer."""
    out = []
    for reply in replies:
        if isinstance(reply, str):
            out.append(
                ScriptedReply.model_validate(
                    {"tool_calls": [{"name": "done", "arguments": {"answer": reply}}]}
                )
            )
        else:
            out.append(
                ScriptedReply.model_validate(
                    {"tool_calls": [{"name": n, "arguments": a} for n, a in reply]}
                )
            )
    return out


def specialist(
    name: str, servers: dict[str, dict[str, Any]], script: list[ScriptedReply], **extra: Any
) -> tuple[McpSpecialist, ScriptedModel]:
    settings = load_settings({"servers": servers, **extra})
    model = ScriptedModel({name: script})
    return McpSpecialist(name, model, settings, connections_for(name, settings)), model


async def step(agent: McpSpecialist, recorder: Recorder, tmp_path: Path) -> Reply:
    try:
        return await agent.step("Do the thing.", recorder.context(tmp_path))
    finally:
        await agent.close()


# --- real servers from PyPI ------------------------------------------------------------


async def test_time_server_tools_are_listed_and_called(tmp_path: Path) -> None:
    agent, model = specialist(
        "mcp",
        {"time": TIME},
        calls(
            [
                (
                    "convert_time",
                    {
                        "source_timezone": "Asia/Tokyo",
                        "time": "09:00",
                        "target_timezone": "Asia/Kolkata",
                    },
                )
            ],
            "05:30",
        ),
    )
    recorder = Recorder()
    reply = await step(agent, recorder, tmp_path)

    assert reply.error is None
    assert reply.text == "05:30"
    first = model.requests[0]
    assert {t.name for t in first.tools} == {"get_current_time", "convert_time", "done"}
    assert first.messages[1].content.startswith("TEAM NOTES")
    result = model.requests[1].messages[-1].content
    assert result.startswith(f'<{TAG} server="time" tool="convert_time">')
    assert "05:30" in result
    assert [a.risky for a in recorder.approvals] == [False]  # annotated read-only
    ((kind, data),) = recorder.activity
    assert kind == "tool_call"
    assert data["name"] == "convert_time"
    assert data["server"] == "time"
    assert "error" not in data
    assert recorder.failed == []
    # The step began with the tools listed by the names a script calls them, then the result.
    start, after = recorder.observed
    assert start["after"] == ""
    assert "- convert_time(" in start["text"]
    assert "- done(answer)" in start["text"]
    assert after["after"] == "convert_time"
    assert "05:30" in after["text"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=Test", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "README.md").write_text("hello\n")
    subprocess.run([*git, "add", "README.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "First commit: add the readme"], check=True)
    return repo


async def test_git_server_reads_freely_and_writes_only_when_approved(
    repo: Path, tmp_path: Path
) -> None:
    git = {"command": str(BIN / "mcp-server-git"), "args": ["--repository", str(repo)]}
    agent, model = specialist(
        "mcp:git",
        {"git": git, "time": TIME},  # mcp:git uses the git server alone
        calls(
            [("git_log", {"repo_path": str(repo)})],
            [("git_create_branch", {"repo_path": str(repo), "branch_name": "feature"})],
            "The last commit adds the readme; the branch was not created.",
        ),
    )
    recorder = Recorder(approve=False)
    reply = await step(agent, recorder, tmp_path)

    assert reply.error is None
    assert not any(t.name.startswith(("convert_time", "time__")) for t in model.requests[0].tools)
    log = model.requests[1].messages[-1].content
    assert "First commit: add the readme" in log
    denied = model.requests[2].messages[-1].content
    assert denied.startswith("Not run: calling git_create_branch was not approved")
    assert [(a.action, a.risky) for a in recorder.approvals] == [
        ("git: git_log", False),
        ("git: git_create_branch", True),
    ]
    branches = await asyncio.to_thread(
        subprocess.run, ["git", "-C", str(repo), "branch"], capture_output=True, text=True
    )
    assert "feature" not in branches.stdout


async def test_several_servers_prefix_their_tool_names(tmp_path: Path) -> None:
    agent, model = specialist(
        "mcp",
        {"time": TIME, "bad": faulty()},
        calls([("bad__echo", {"text": "hi"})], "said hi"),
    )
    recorder = Recorder()
    reply = await step(agent, recorder, tmp_path)
    assert reply.text == "said hi"
    names = {t.name for t in model.requests[0].tools}
    assert {"time__convert_time", "time__get_current_time", "bad__echo", "done"} <= names
    assert "echo: hi" in model.requests[1].messages[-1].content
    assert recorder.approvals[0].action == "bad: echo"
    assert recorder.approvals[0].risky  # not annotated read-only


async def test_an_unknown_tool_is_fed_back_and_recorded(tmp_path: Path) -> None:
    agent, model = specialist(
        "mcp", {"time": TIME}, calls([("convert_tim", {"time": "09:00"})], "gave up")
    )
    recorder = Recorder()
    reply = await step(agent, recorder, tmp_path)
    assert reply.text == "gave up"
    fed_back = model.requests[1].messages[-1].content
    assert fed_back.startswith("Error: there is no tool 'convert_tim'")
    ((failed),) = recorder.failed
    assert (failed["action"], failed["problem"]) == ("convert_tim", "unknown_tool")
    assert failed["arguments"] == '{"time": "09:00"}'
    assert recorder.approvals == []  # nothing was run


async def test_side_effects_setting_marks_read_only_tools_risky(tmp_path: Path) -> None:
    agent, _ = specialist(
        "mcp",
        {"time": {**TIME, "side_effects": ["get_current_time"]}},
        calls([("get_current_time", {"timezone": "UTC"})], "done"),
    )
    recorder = Recorder(approve=False)
    await step(agent, recorder, tmp_path)
    assert [a.risky for a in recorder.approvals] == [True]
    assert recorder.activity[0][1]["error"] == "not approved"
    assert [(f["action"], f["problem"]) for f in recorder.failed] == [
        ("get_current_time", "refused")
    ]


async def test_shipped_mcp_scenario_records_the_tool_call(tmp_path: Path) -> None:
    outcome = await run_one(ROOT / "scenarios" / "mcp" / "convert_time.yaml", tmp_path)
    assert outcome.passed, outcome.failures
    assert outcome.run_dir is not None
    activity = [e for e in RunStore(outcome.run_dir).events() if e.type == "specialist_activity"]  # type: ignore[attr-defined]
    assert [a.data["name"] for a in activity] == ["convert_time"]  # type: ignore[attr-defined]


# --- faults: a reply with an error, never a crashed run -------------------------------


async def test_a_crashing_server_is_an_error_result_and_restarts(tmp_path: Path) -> None:
    agent, model = specialist(
        "mcp",
        {"bad": faulty(call_seconds=10)},
        calls([("crash", {})], [("echo", {"text": "again"})], "it crashed"),
    )
    reply = await step(agent, Recorder(), tmp_path)
    assert reply.text == "it crashed"
    crashed = model.requests[1].messages[-1].content
    assert crashed.startswith("Error: MCP server 'bad'")
    assert "running crash" in crashed
    assert "its stderr ends: faulty server: crashing on purpose" in crashed
    assert "echo: again" in model.requests[2].messages[-1].content  # started again


async def test_a_hanging_tool_is_bounded(tmp_path: Path) -> None:
    agent, model = specialist(
        "mcp", {"bad": faulty(call_seconds=1)}, calls([("hang", {})], "it hung")
    )
    started = time.monotonic()
    reply = await step(agent, Recorder(), tmp_path)
    assert time.monotonic() - started < 15
    assert reply.text == "it hung"
    assert "did not answer within 1s while running hang" in model.requests[1].messages[-1].content


@pytest.mark.parametrize("mode", ["garbage", "silent"])
async def test_a_server_that_never_speaks_mcp_is_a_reply_with_an_error(
    mode: str, tmp_path: Path
) -> None:
    agent, model = specialist(
        "mcp", {"bad": faulty(mode, start_seconds=2, call_seconds=2)}, calls("unused")
    )
    started = time.monotonic()
    reply = await step(agent, Recorder(), tmp_path)
    assert time.monotonic() - started < 20
    assert reply.error is not None
    assert "MCP server 'bad'" in reply.error
    assert not model.requests  # the model was never asked


async def test_huge_output_is_cut_and_fenced(tmp_path: Path) -> None:
    agent, model = specialist(
        "mcp", {"bad": faulty()}, calls([("huge", {})], "big"), max_result_chars=1000
    )
    await step(agent, Recorder(), tmp_path)
    result = model.requests[1].messages[-1].content
    assert len(result) < 1200
    assert "END-OF-HUGE" not in result
    assert "more characters cut]" in result
    assert result.endswith(f"</{TAG}>")


async def test_unknown_tools_go_back_to_the_model(tmp_path: Path) -> None:
    agent, model = specialist("mcp", {"bad": faulty()}, calls([("nope", {})], "ok"))
    await step(agent, Recorder(), tmp_path)
    assert model.requests[1].messages[-1].content.startswith("Error: there is no tool 'nope'")


@pytest.fixture
def http_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(FAULTY), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s, contextlib.suppress(OSError):
                s.connect(("127.0.0.1", port))
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()
        proc.wait(timeout=10)


async def test_a_streamable_http_server_is_called_and_bounded(
    http_server: str, tmp_path: Path
) -> None:
    agent, model = specialist(
        "mcp",
        {"web": {"url": http_server, "call_seconds": 2}},
        calls([("echo", {"text": "over http"})], [("hang", {})], "fine"),
    )
    reply = await step(agent, Recorder(), tmp_path)
    assert reply.text == "fine"
    assert "echo: over http" in model.requests[1].messages[-1].content
    assert "did not answer within 2s while running hang" in model.requests[2].messages[-1].content


async def test_a_model_without_tool_calls_chooses_by_structured_output(tmp_path: Path) -> None:
    settings = load_settings({"servers": {"time": TIME}})
    script = {
        "mcp": [
            ScriptedReply.model_validate({"json": {"tool": "nope", "arguments": {}}}),
            ScriptedReply.model_validate(
                {"json": {"tool": "get_current_time", "arguments": {"timezone": "Asia/Tokyo"}}}
            ),
            ScriptedReply.model_validate({"json": {"tool": "done", "answer": "It is morning."}}),
        ]
    }
    model = ScriptedModel(script, capabilities=Capabilities(structured_output=True, tools=False))
    agent = McpSpecialist("mcp", model, settings, connections_for("mcp", settings))
    recorder = Recorder()
    reply = await step(agent, recorder, tmp_path)
    assert reply.text == "It is morning."
    assert "unknown tool 'nope'" in model.requests[1].messages[-1].content  # fed back
    assert [d["name"] for _, d in recorder.activity] == ["get_current_time"]
    assert '"timezone": "Asia/Tokyo"' in model.requests[2].messages[-1].content


# --- settings and the team -----------------------------------------------------------


def test_settings_errors_name_the_field() -> None:
    with pytest.raises(
        McpConfigError, match=r"specialists\.mcp\.servers\.x: .*exactly one of command"
    ):
        load_settings({"servers": {"x": {}}})
    with pytest.raises(McpConfigError, match=r"specialists\.mcp\.servers: "):
        load_settings({"servers": {}})
    with pytest.raises(McpConfigError, match="no server 'nope'"):
        connections_for("mcp:nope", load_settings({"servers": {"time": TIME}}))


def test_mcp_colon_server_members_are_built_from_the_family(tmp_path: Path) -> None:
    settings = {"servers": {"time": TIME, "other": faulty()}}
    model = ScriptedModel({})

    def env_for(name: str) -> TeamEnv:
        return TeamEnv(
            name=name,
            workspace=tmp_path,
            model=model,
            human=UserProxy.__new__(UserProxy),  # type: ignore[arg-type]
            settings=settings if name == "mcp" else {},
        )

    team = team_registry.build(["mcp:time", "mcp:other"], env_for)
    assert set(team) == {"mcp:time", "mcp:other"}
    assert "time (" in team["mcp:time"].description
    assert "other" not in team["mcp:time"].description


async def test_connection_lists_tools_for_doctor() -> None:
    connection = Connection("time", ServerSettings.model_validate(TIME))
    try:
        tools = await connection.tools()
    finally:
        await connection.close()
    assert {t.name for t in tools} == {"get_current_time", "convert_time"}
    assert all(t.read_only for t in tools)


async def test_a_missing_program_fails_to_start_clearly() -> None:
    connection = Connection("gone", ServerSettings(command="/nonexistent/mcp-server"))
    with pytest.raises(ServerFailed, match="failed to start"):
        await connection.tools()
    await connection.close()


async def test_doctor_lists_each_servers_tools(tmp_path: Path) -> None:
    from orchestrator.config import Settings
    from orchestrator.doctor import FAIL, OK, check_mcp_servers

    settings = Settings(
        specialists={"mcp": {"servers": {"time": TIME, "gone": {"command": "/nonexistent/x"}}}}
    )
    time_check, gone = await check_mcp_servers(settings)
    assert time_check.name == "mcp server time"
    assert time_check.outcome == OK
    assert "convert_time" in time_check.detail
    assert "get_current_time" in time_check.detail
    assert gone.outcome == FAIL
    assert "failed to start" in gone.detail


async def test_the_run_budget_ends_a_step_between_tool_calls(tmp_path: Path) -> None:
    agent, model = specialist(
        "mcp",
        {"time": TIME},
        calls(
            [
                ("get_current_time", {"timezone": "UTC"}),
                ("get_current_time", {"timezone": "Asia/Tokyo"}),
            ],
            "two times",
        ),
    )
    recorder = Recorder()
    hit = BudgetHit(StopReason.TOKEN_BUDGET, "used 2,000 tokens, budget 1,000")

    def check_budget() -> BudgetHit | None:
        return hit if recorder.activity else None  # used up by the first tool call

    context = replace(recorder.context(tmp_path), check_budget=check_budget)
    try:
        reply = await agent.step("What time is it in UTC and in Tokyo?", context)
    finally:
        await agent.close()
    assert reply.text.startswith("I stopped this step early: the run's token budget is used up")
    assert f'<{TAG} server="time" tool="get_current_time">' in reply.text  # its last result
    assert [data["arguments"] for _, data in recorder.activity] == [{"timezone": "UTC"}]
    assert len(model.requests) == 1
