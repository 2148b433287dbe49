"""OpenTelemetry traces of real scripted runs: the span tree (in-memory exporter), a
resumed run continuing its trace, and a real OTLP/HTTP export to a receiver on 127.0.0.1
decoded with opentelemetry-proto."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from orchestrator import session, tracing
from orchestrator.events import CheckpointSaved, Event, ModelCalled
from orchestrator.scenarios.runner import build_config, copy_fixture, run_one
from orchestrator.scenarios.schema import Scenario
from orchestrator.state import FinalResult
from orchestrator.store import RunStore
from orchestrator.tracing.spans import TRACE_FILE, TraceSubscriber, providers_by_role
from orchestrator.yamlfile import load_model

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scenarios" / "demo.yaml"
PDF = ROOT / "scenarios" / "files" / "find_figure_in_pdf.yaml"
SLOW = Path(__file__).parent / "data" / "resume" / "slow_run.yaml"
REFUSED = Path(__file__).parent / "data" / "tracing" / "model_refused.yaml"
SIGN_IN = Path(__file__).parent / "data" / "tracing" / "sign_in.yaml"


def memory() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def new_store(path: Path, runs_dir: Path) -> RunStore:
    scenario = load_model(path, Scenario)
    store = session.start(build_config(path, scenario, runs_dir, {}), runs_dir)
    for fixture in scenario.fixtures.files:
        copy_fixture(
            path.parent / fixture.src, store.workspace / (fixture.dest or Path(fixture.src).name)
        )
    return store


async def traced_run(
    path: Path, runs_dir: Path, **kwargs: bool
) -> tuple[list[ReadableSpan], RunStore]:
    provider, exporter = memory()
    store = new_store(path, runs_dir)
    providers = providers_by_role(store.load_config())
    traces = TraceSubscriber(provider, store.root, providers=providers, **kwargs)
    await session.execute(store, subscribers=[traces], environ={})
    traces.close()
    return list(exporter.get_finished_spans()), store


def by_name(spans: Sequence[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def parent_of(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    (parent,) = [s for s in spans if s.context.span_id == span.parent.span_id]
    return parent


async def test_a_run_is_one_trace_of_rounds_steps_and_model_calls(tmp_path: Path) -> None:
    spans, store = await traced_run(DEMO, tmp_path)

    assert len({s.context.trace_id for s in spans}) == 1
    (root,) = by_name(spans, "invoke_agent orchestrator")
    assert root.parent is None
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["orchestrator.status"] == "solved"
    assert root.attributes["orchestrator.rounds"] == 5
    rounds = by_name(spans, "round ")
    assert [r.name for r in rounds] == [f"round {n}" for n in range(1, 6)]
    assert all(parent_of(r, spans) is root for r in rounds)
    steps = by_name(spans, "invoke_agent user")
    assert len(steps) == 3
    assert all(parent_of(s, spans).name.startswith("round ") for s in steps)
    chats = by_name(spans, "chat ")
    called = [e for e in store.events() if isinstance(e, ModelCalled)]
    assert chats
    assert len(chats) == len(called)
    for chat in chats:
        attrs = chat.attributes or {}
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "scripted"
        assert attrs["gen_ai.request.model"] == "scripted"
        assert int(str(attrs["gen_ai.usage.input_tokens"])) > 0
        assert int(str(attrs["gen_ai.usage.output_tokens"])) > 0
        assert str(attrs["orchestrator.purpose"]).startswith("orchestrator.")
        assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
        assert chat.start_time is not None
        assert chat.end_time is not None
        assert chat.start_time <= chat.end_time
    facts = [
        c for c in chats if (c.attributes or {})["orchestrator.purpose"] == "orchestrator.facts"
    ]
    assert parent_of(facts[0], spans) is root  # before the first round
    events = [e.name for s in rounds for e in s.events]
    assert events.count("stall_detected") == 2
    assert "replanned" in events
    # content is opt-in: no prompt or reply text by default
    assert not any("gen_ai.input.messages" in (s.attributes or {}) for s in spans)
    assert not any("gen_ai.output.messages" in (s.attributes or {}) for s in spans)


async def test_message_content_only_when_opted_in(tmp_path: Path) -> None:
    spans, _ = await traced_run(DEMO, tmp_path, capture_content=True)
    (root,) = by_name(spans, "invoke_agent orchestrator")
    task = json.loads(str((root.attributes or {})["gen_ai.input.messages"]))
    assert "weekly team sync" in task[0]["parts"][0]["content"]
    answer = json.loads(str((root.attributes or {})["gen_ai.output.messages"]))
    assert answer[0]["role"] == "assistant"
    step = by_name(spans, "invoke_agent user")[-1]
    attrs = step.attributes or {}
    sent = json.loads(str(attrs["gen_ai.input.messages"]))
    assert sent[0]["parts"][0]["content"] == "Quick one: which city are most team members in?"
    assert "Berlin" in str(attrs["gen_ai.output.messages"])
    assert tracing.capture_content({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"})
    assert not tracing.capture_content({})


def events_log(store: RunStore) -> str:
    return (store.root / "events.jsonl").read_text()


async def test_chat_spans_carry_the_call_messages_only_when_opted_in(tmp_path: Path) -> None:
    spans, store = await traced_run(DEMO, tmp_path / "on", capture_content=True)
    chats = by_name(spans, "chat ")
    assert chats
    for chat in chats:
        attrs = chat.attributes or {}
        sent = json.loads(str(attrs["gen_ai.input.messages"]))
        got = json.loads(str(attrs["gen_ai.output.messages"]))
        assert sent[0]["role"] == "system"
        assert sent[-1]["role"] == "user"
        assert all(p["type"] == "text" and p["content"] for m in sent for p in m["parts"])
        (answer,) = got
        assert answer["role"] == "assistant"
        assert answer["finish_reason"] == "stop"
        assert answer["parts"][0]["content"].lstrip().startswith("{")  # the scripted JSON
    first = json.loads(str((chats[0].attributes or {})["gen_ai.input.messages"]))
    system_prompt = first[0]["parts"][0]["content"]
    # Opted in, the prompts still never reach the run's log: they live only in memory.
    log = events_log(store)
    assert system_prompt[:200] not in log
    assert '"content"' not in log
    assert not any(
        "content" in json.loads(line) for line in log.splitlines() if "model_called" in line
    )

    spans, store = await traced_run(DEMO, tmp_path / "off")
    assert by_name(spans, "chat ")
    for span in spans:
        keys = set(span.attributes or {})
        assert not keys & {"gen_ai.input.messages", "gen_ai.output.messages"}, span.name
    assert system_prompt[:200] not in events_log(store)


async def test_a_typed_password_reaches_no_span_even_with_content(tmp_path: Path) -> None:
    provider, exporter = memory()
    traces = TraceSubscriber(provider, tmp_path, capture_content=True)
    outcome = await run_one(SIGN_IN, tmp_path, subscribers=lambda: [traces])
    traces.close()
    assert outcome.passed, outcome.failures
    assert outcome.run_dir is not None
    store = RunStore(outcome.run_dir)
    spans = list(exporter.get_finished_spans())
    surfer_chats = [
        c
        for c in by_name(spans, "chat ")
        if (c.attributes or {})["orchestrator.role"] == "web_surfer"
    ]
    assert len(surfer_chats) == 2
    exported = json.dumps([dict(s.attributes or {}) for s in spans])
    exported += json.dumps([dict(e.attributes or {}) for s in spans for e in s.events])
    assert "correct horse" not in exported
    assert "correct horse" not in events_log(store)
    # the content is there, the typed text withheld from the calls ...
    asked = json.loads(str((surfer_chats[0].attributes or {})["gen_ai.output.messages"]))
    calls = [p for p in asked[0]["parts"] if p["type"] == "tool_call"]
    assert [c["name"] for c in calls] == ["visit_url", "type", "type"]
    assert calls[1]["arguments"] == {"id": 1, "text": "[typed text not recorded]"}
    assert asked[0]["finish_reason"] == "tool_call"
    history = json.loads(str((surfer_chats[1].attributes or {})["gen_ai.input.messages"]))
    responses = [p for m in history for p in m["parts"] if p["type"] == "tool_call_response"]
    assert len(responses) == 3
    assert any("typed 'alice'" in r["response"] for r in responses)
    # ... and each action's span has its (redacted) arguments and result
    typed = [t for t in by_name(spans, "execute_tool type")]
    assert len(typed) == 2
    results = [str((t.attributes or {})["gen_ai.tool.call.result"]) for t in typed]
    assert "typed 'alice'" in results[0]
    assert "a secret (13 characters)" in results[1]
    assert '"text": "[secret]"' in str((typed[1].attributes or {})["gen_ai.tool.call.arguments"])
    assert all(t.status.status_code is StatusCode.UNSET for t in typed)


async def test_file_surfer_tools_are_execute_tool_spans_in_its_step(tmp_path: Path) -> None:
    spans, _ = await traced_run(PDF, tmp_path)
    tools = by_name(spans, "execute_tool ")
    assert tools
    for tool in tools:
        assert (tool.attributes or {})["gen_ai.operation.name"] == "execute_tool"
        assert parent_of(tool, spans).name == "invoke_agent file_surfer"
    names = {(t.attributes or {})["gen_ai.tool.name"] for t in tools}
    assert "open_file" in names or "find" in names, names
    surfer_chats = [
        c
        for c in by_name(spans, "chat ")
        if (c.attributes or {})["orchestrator.role"] == "file_surfer"
    ]
    assert surfer_chats
    assert all(parent_of(c, spans).name == "invoke_agent file_surfer" for c in surfer_chats)


async def test_a_resumed_run_continues_the_same_trace(tmp_path: Path) -> None:
    provider, exporter = memory()
    store = new_store(SLOW, tmp_path)
    first = TraceSubscriber(provider, store.root)
    two_rounds = asyncio.Event()

    def watch(event: Event) -> None:
        if isinstance(event, CheckpointSaved) and event.round >= 2:
            two_rounds.set()

    run = asyncio.create_task(session.execute(store, subscribers=[first, watch], environ={}))
    await asyncio.wait_for(two_rounds.wait(), timeout=30)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    first.close()
    saved = json.loads((store.root / TRACE_FILE).read_text())

    second = TraceSubscriber(provider, store.root)
    result = await session.execute(RunStore(store.root), subscribers=[second], environ={})
    second.close()

    assert isinstance(result, FinalResult)
    roots = by_name(exporter.get_finished_spans(), "invoke_agent orchestrator")
    assert len(roots) == 2
    assert {f"{r.context.trace_id:032x}" for r in roots} == {saved["trace_id"]}
    interrupted, resumed = roots
    assert interrupted.status.status_code is StatusCode.ERROR
    assert resumed.parent is not None
    assert resumed.parent.span_id == interrupted.context.span_id
    assert (resumed.attributes or {})["orchestrator.resumed_from_round"] >= 2  # type: ignore[operator]


# --- real OTLP over HTTP ------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    bodies: list[tuple[str, bytes]]


class _Collect(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Collect)
    server.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_spans_reach_an_otlp_http_receiver(tmp_path: Path, receiver: Receiver) -> None:
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
    }
    outcome = await run_one(DEMO, tmp_path, environ=environ)
    assert outcome.passed, outcome.failures

    assert receiver.bodies
    assert {path for path, _ in receiver.bodies} == {"/v1/traces"}
    spans = []
    for _, body in receiver.bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert service["service.name"] == "orchestrator"
            for scope in resource_spans.scope_spans:
                spans += list(scope.spans)
    names = [s.name for s in spans]
    assert names.count("invoke_agent orchestrator") == 1
    assert names.count("invoke_agent user") == 3
    assert outcome.run_dir is not None
    saved = json.loads((outcome.run_dir / TRACE_FILE).read_text())
    assert {s.trace_id.hex() for s in spans} == {saved["trace_id"]}
    chat = next(s for s in spans if s.name.startswith("chat "))
    attrs = {a.key: a.value for a in chat.attributes}
    assert attrs["gen_ai.operation.name"].string_value == "chat"
    assert attrs["gen_ai.usage.input_tokens"].int_value > 0
    # opted in by the standard variable: the messages arrive as JSON strings
    sent = json.loads(attrs["gen_ai.input.messages"].string_value)
    assert [m["role"] for m in sent] == ["system", "user"]
    got = json.loads(attrs["gen_ai.output.messages"].string_value)
    assert got[0]["finish_reason"] == "stop"
    assert (
        sent[0]["parts"][0]["content"][:200] not in (outcome.run_dir / "events.jsonl").read_text()
    )


async def test_spans_reach_an_otlp_grpc_receiver(tmp_path: Path) -> None:
    grpc = pytest.importorskip("grpc")
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    received: list[ExportTraceServiceRequest] = []

    class Collector(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
        def Export(self, request: ExportTraceServiceRequest, context: object) -> object:
            received.append(request)
            return ExportTraceServiceResponse()

    from concurrent.futures import ThreadPoolExecutor

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Collector(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        environ = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_SERVICE_NAME": "orchestrator-test",
        }
        outcome = await run_one(DEMO, tmp_path, environ=environ)
    finally:
        server.stop(grace=None)
    assert outcome.passed, outcome.failures
    names = [
        span.name
        for request in received
        for resource_spans in request.resource_spans
        for scope in resource_spans.scope_spans
        for span in scope.spans
    ]
    assert names.count("invoke_agent orchestrator") == 1
    assert names.count("invoke_agent user") == 3
    service = {
        a.key: a.value.string_value for a in received[0].resource_spans[0].resource.attributes
    }
    assert service["service.name"] == "orchestrator-test"


async def test_mcp_tool_calls_are_execute_tool_spans(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    spans, _ = await traced_run(ROOT / "scenarios" / "mcp" / "convert_time.yaml", tmp_path)
    (tool,) = by_name(spans, "execute_tool ")
    attrs = tool.attributes or {}
    assert tool.name == "execute_tool convert_time"
    assert attrs["gen_ai.tool.name"] == "convert_time"
    assert attrs["orchestrator.tool.server"] == "time"
    assert "gen_ai.tool.call.arguments" not in attrs  # content is opt-in
    assert "gen_ai.tool.call.result" not in attrs
    assert parent_of(tool, spans).name == "invoke_agent mcp"
    assert tool.status.status_code is StatusCode.UNSET
    assert tool.start_time is not None
    assert tool.end_time is not None
    assert tool.end_time > tool.start_time  # from the call's own duration


async def test_mcp_tool_content_only_when_opted_in(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    spans, _ = await traced_run(
        ROOT / "scenarios" / "mcp" / "convert_time.yaml", tmp_path, capture_content=True
    )
    (tool,) = by_name(spans, "execute_tool ")
    attrs = tool.attributes or {}
    arguments = json.loads(str(attrs["gen_ai.tool.call.arguments"]))
    assert arguments == {
        "source_timezone": "Asia/Tokyo",
        "time": "09:00",
        "target_timezone": "Asia/Kolkata",
    }
    assert "05:30" in str(attrs["gen_ai.tool.call.result"])  # the real server's answer


async def test_code_runs_are_execute_tool_spans_a_failed_one_an_error(tmp_path: Path) -> None:
    provider, exporter = memory()
    traces = TraceSubscriber(provider, tmp_path, capture_content=True)
    coder = ROOT / "scenarios" / "coder" / "fix_error_and_rerun.yaml"
    outcome = await run_one(coder, tmp_path, subscribers=lambda: [traces])
    traces.close()
    assert outcome.passed, outcome.failures
    spans = list(exporter.get_finished_spans())
    failed, fixed = by_name(spans, "execute_tool run_code")
    assert parent_of(failed, spans).name == "invoke_agent coder"
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "tool_error"
    assert fixed.status.status_code is StatusCode.UNSET
    code = json.loads(str((failed.attributes or {})["gen_ai.tool.call.arguments"]))
    assert code["language"] == "python"
    assert 'float(r["price"])' in code["code"]
    output = json.loads(str((failed.attributes or {})["gen_ai.tool.call.result"]))
    assert "KeyError" in output["stderr"]
    assert (
        "TOTAL 1738.35"
        in json.loads(str((fixed.attributes or {})["gen_ai.tool.call.result"]))["stdout"]
    )
    assert outcome.run_dir is not None
    activity = [
        json.loads(line)
        for line in (outcome.run_dir / "events.jsonl").read_text().splitlines()
        if '"specialist_activity"' in line
    ]
    assert len(activity) == 2
    assert not any("content" in a for a in activity)  # the tool content stayed in memory
    assert "float(" not in json.dumps(activity)  # no code in the log


async def test_a_refused_model_call_and_its_step_are_error_spans(tmp_path: Path) -> None:
    spans, _ = await traced_run(REFUSED, tmp_path)
    (failed,) = [s for s in by_name(spans, "chat") if s.status.status_code is StatusCode.ERROR]
    attrs = failed.attributes or {}
    assert failed.name == "chat scripted"
    assert attrs["gen_ai.request.model"] == "scripted"
    assert attrs["error.type"] == "ModelRequestError"
    assert "context length exceeded" in str(failed.status.description)
    step = parent_of(failed, spans)
    assert step.name == "invoke_agent file_surfer"
    assert step.status.status_code is StatusCode.ERROR
    assert (step.attributes or {})["error.type"] == "specialist_error"
    (root,) = by_name(spans, "invoke_agent orchestrator")
    assert root.status.status_code is StatusCode.UNSET  # the run itself was solved


def test_an_unknown_exporter_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestrator.errors import OrchestratorError
    from orchestrator.tracing.setup import provider_from_env

    with pytest.raises(OrchestratorError, match="unknown exporter 'jaeger'; use otlp or console"):
        provider_from_env({"OTEL_TRACES_EXPORTER": "jaeger"})
    with pytest.raises(OrchestratorError, match="use http/protobuf or grpc"):
        provider_from_env(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
        )
    config = new_store(DEMO, tmp_path).load_config()
    assert tracing.subscriber_for(tmp_path, config, {"OTEL_TRACES_EXPORTER": "jaeger"}) is None
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("orchestrator: traces are off: OTEL_TRACES_EXPORTER=jaeger")


def test_traces_are_off_unless_otel_variables_ask(tmp_path: Path) -> None:
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
    assert not tracing.wanted({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
