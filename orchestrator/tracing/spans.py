"""Turn a run's events into one OpenTelemetry trace (GenAI semantic conventions).

    invoke_agent orchestrator          the run (a resumed run: a child of the first root)
      round N                          one per round
        chat <model>                   the orchestrator's model calls in that round
        invoke_agent <specialist>      a delegation, until its reply
          chat <model>                 the specialist's own model calls
          execute_tool <tool>          browser actions, file-surfer tools, code runs, MCP tools

Spans are built from the events' timestamps (a model call starts `seconds` before its
event), so the subscriber only records, never waits. Stalls, replans, retries, approvals
and limits become span events; failures become error statuses. The trace id is kept in
the run directory (`trace.json`) so a resumed run continues the same trace.

Content only when `capture_content` is set (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT).
It follows the conventions' attributes on spans (the installed
opentelemetry-semantic-conventions names `gen_ai.input.messages`, `gen_ai.output.messages`,
`gen_ai.tool.call.arguments` and `gen_ai.tool.call.result`; it has no
`gen_ai.client.inference.operation.details` event), as JSON strings, since span attributes
cannot hold structures yet: a `chat` span gets the call's messages, an `execute_tool` span
the tool's arguments and result, an `invoke_agent` span the instruction and the reply.
The subscriber then sets `wants_content`, and the bus has the messages gathered into
in-memory fields of the events (bounded and redacted, see orchestrator/models/content.py)
that are never written to `events.jsonl`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from orchestrator.events import (
    ApprovalDecided,
    Delegated,
    Event,
    FinalAnswer,
    LedgerUnusable,
    LimitReached,
    ModelCalled,
    ModelFailed,
    ModelRetry,
    OutputInvalid,
    Replanned,
    Replied,
    RoundStarted,
    RunFinished,
    RunInterrupted,
    RunResumed,
    RunStarted,
    SpecialistActivity,
    StallDetected,
    TeamReset,
)
from orchestrator.models import content as recorded
from orchestrator.state import RunConfig

TRACE_FILE = "trace.json"
ORCHESTRATOR = "orchestrator"
SCOPE = "orchestrator.tracing"
FLUSH_SECONDS = 3.0  # at most this long at the end of a run to hand spans to the exporter
# Activities that are tool executions; any other kind becomes an event on the step's span.
TOOL_KINDS = {"action", "code_run", "tool_call"}


def providers_by_role(config: RunConfig) -> dict[str, str]:
    """gen_ai.provider.name per role, from the configured `provider:model` names."""
    if config.scripted is not None:
        return {"default": "scripted"}
    return {role: spec.provider for role, spec in config.settings.models.items()}


def _ns(ts: float) -> int:
    return int(ts * 1e9)


class TraceSubscriber:
    """An event subscriber (see orchestrator/events.py) recording spans on `provider`."""

    def __init__(
        self,
        provider: TracerProvider,
        run_dir: Path,
        *,
        providers: Mapping[str, str] | None = None,
        capture_content: bool = False,
        owns_provider: bool = False,
    ) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer(SCOPE)
        self._run_dir = run_dir
        self._providers = dict(providers or {})
        self._capture = capture_content
        self._owns_provider = owns_provider
        self._root: Span | None = None
        self._round: Span | None = None
        self._step: Span | None = None
        self._step_speaker = ""
        self._last_ts = 0.0  # when the latest event under the open step happened
        self._done = False

    @property
    def wants_content(self) -> bool:
        """Read by the EventBus: whether events should carry message content."""
        return self._capture

    # --- the subscriber -----------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if self._done:  # the run's trace is complete; later events belong to no span
            return
        root = self._ensure_root(event)
        if isinstance(event, RoundStarted):
            self._end_round(event.ts)
            self._round = self._start(
                f"round {event.round}",
                event.ts,
                self._context(root),
                {"orchestrator.round": event.round},
            )
        elif isinstance(event, Delegated):
            self._end_step(event.ts, None)
            self._step = self._start(
                f"invoke_agent {event.speaker}",
                event.ts,
                self._context(self._round or root),
                self._agent_attributes(event.speaker, event.round),
            )
            self._step_speaker = event.speaker
            if self._capture:
                self._step.set_attribute(
                    "gen_ai.input.messages", _messages("user", event.instruction)
                )
        elif isinstance(event, Replied):
            self._end_step(event.ts, event)
        elif isinstance(event, ModelCalled):
            self._chat(event)
        elif isinstance(event, ModelFailed):
            self._chat_failed(event)
        elif isinstance(event, SpecialistActivity):
            self._activity(event)
        elif isinstance(event, RunStarted):
            if self._capture:
                root.set_attribute("gen_ai.input.messages", _messages("user", event.task))
        elif isinstance(event, FinalAnswer):
            root.set_attribute("orchestrator.final_status", str(event.status))
            if self._capture:
                root.set_attribute("gen_ai.output.messages", _messages("assistant", event.answer))
        elif isinstance(event, RunFinished):
            self._finish(event)
        elif isinstance(event, RunInterrupted):
            self._end_all(event.ts, Status(StatusCode.ERROR, event.reason))
        else:
            self._annotate(event)
        if self._step is not None:
            self._last_ts = event.ts

    def close(self) -> None:
        """End whatever is still open (a run that crashed) and flush the exporters."""
        self._end_all(time.time(), Status(StatusCode.ERROR, "the run ended without finishing"))

        def flush() -> None:
            self._provider.force_flush(timeout_millis=int(FLUSH_SECONDS * 1000))
            if self._owns_provider:
                self._provider.shutdown()

        # An unreachable collector must not hold up the end of the run: the exporter
        # retries for its own timeout, so the wait is bounded here and the rest dropped.
        flusher = threading.Thread(target=flush, name="otel flush", daemon=True)
        flusher.start()
        flusher.join(FLUSH_SECONDS)

    @property
    def trace_id(self) -> int | None:
        return self._root.get_span_context().trace_id if self._root is not None else None

    # --- spans ----------------------------------------------------------------------------

    def _ensure_root(self, event: Event) -> Span:
        if self._root is not None:
            return self._root
        saved = self._load_saved()
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": ORCHESTRATOR,
            "gen_ai.conversation.id": event.run_id,
            "orchestrator.run_id": event.run_id,
        }
        if isinstance(event, RunResumed):
            attributes["orchestrator.resumed_from_round"] = event.from_round
        parent = Context()
        if saved is not None:
            trace_id, span_id = saved
            remote = SpanContext(
                trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
            )
            parent = trace.set_span_in_context(NonRecordingSpan(remote))
        self._root = self._start(f"invoke_agent {ORCHESTRATOR}", event.ts, parent, attributes)
        if saved is None:
            self._save(self._root)
        return self._root

    def _start(self, name: str, ts: float, parent: Context, attributes: Mapping[str, Any]) -> Span:
        kind = SpanKind.CLIENT if name.startswith("chat ") else SpanKind.INTERNAL
        return self._tracer.start_span(
            name, context=parent, kind=kind, attributes=dict(attributes), start_time=_ns(ts)
        )

    @staticmethod
    def _context(span: Span) -> Context:
        return trace.set_span_in_context(span)

    def _parent_for(self, role: str) -> Span:
        if self._step is not None and role == self._step_speaker:
            return self._step
        assert self._root is not None
        return self._round or self._root

    def _agent_attributes(self, name: str, round_no: int) -> dict[str, Any]:
        return {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": name,
            "orchestrator.round": round_no,
        }

    def _provider_for(self, role: str) -> str:
        return self._providers.get(role) or self._providers.get("default") or "openai"

    def _chat(self, event: ModelCalled) -> None:
        started = event.ts - event.seconds
        span = self._start(
            f"chat {event.model}",
            started,
            self._context(self._parent_for(event.role)),
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": self._provider_for(event.role),
                "gen_ai.request.model": event.model,
                "gen_ai.response.model": event.model,
                "gen_ai.usage.input_tokens": event.input_tokens,
                "gen_ai.usage.output_tokens": event.output_tokens,
                "orchestrator.purpose": event.purpose,
                "orchestrator.role": event.role,
                "orchestrator.round": event.round,
                "orchestrator.prompt_chars": event.prompt_chars,
                **({"orchestrator.cost_usd": event.cost_usd} if event.cost_usd is not None else {}),
                **({"gen_ai.output.type": "json"} if event.output_mode is not None else {}),
                **(
                    {"gen_ai.response.finish_reasons": [event.finish_reason]}
                    if event.finish_reason
                    else {}
                ),
            },
        )
        if self._capture and event.content is not None:
            messages = event.content
            span.set_attribute("gen_ai.input.messages", _json(messages.get("input", [])))
            span.set_attribute("gen_ai.output.messages", _json(messages.get("output", [])))
            if messages.get("cut_chars"):
                span.set_attribute("orchestrator.content.cut_chars", messages["cut_chars"])
        span.end(end_time=_ns(event.ts))

    def _chat_failed(self, event: ModelFailed) -> None:
        span = self._start(
            f"chat {event.model}".rstrip(),
            event.ts - event.seconds,
            self._context(self._parent_for(event.role)),
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": self._provider_for(event.role),
                **({"gen_ai.request.model": event.model} if event.model else {}),
                "orchestrator.purpose": event.purpose,
                "orchestrator.role": event.role,
                "orchestrator.round": event.round,
                "error.type": event.error_type or "model_failed",
            },
        )
        span.set_status(Status(StatusCode.ERROR, event.error[:500]))
        span.end(end_time=_ns(event.ts))

    def _activity(self, event: SpecialistActivity) -> None:
        parent = self._parent_for(event.speaker)
        if event.kind not in TOOL_KINDS:
            parent.add_event(event.kind, _flat(event.data), timestamp=_ns(event.ts))
            return
        data = event.data
        tool = str(
            data.get("name")
            or data.get("tool")
            or ("run_code" if event.kind == "code_run" else event.kind)
        )
        started = event.ts
        if isinstance(data.get("seconds"), int | float):
            started = event.ts - float(data["seconds"])
        elif parent is self._step and self._last_ts:
            started = self._last_ts  # the tool ran after the step's previous event
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.agent.name": event.speaker,
            "orchestrator.activity": event.kind,
            "orchestrator.round": event.round,
        }
        for key in ("server", "language", "executor", "exit_code", "location"):
            if isinstance(data.get(key), str | int | float | bool):
                attributes[f"orchestrator.tool.{key}"] = data[key]
        if self._capture:
            attributes.update(_tool_content(data, event.content or {}))
        span = self._start(f"execute_tool {tool}", started, self._context(parent), attributes)
        error = _tool_error(event.kind, data)
        if error is not None:
            span.set_attribute("error.type", "tool_error")
            span.set_status(Status(StatusCode.ERROR, error[:500]))
        span.end(end_time=_ns(event.ts))

    def _annotate(self, event: Event) -> None:
        """Stalls, replans, retries, approvals, limits: events on the round (or run) span."""
        assert self._root is not None
        target: Span = self._round or self._root
        attributes: dict[str, Any]
        if isinstance(event, StallDetected):
            attributes = {
                "count": event.count,
                "max_stalls": event.max_stalls,
                "reasons": event.reasons,
            }
        elif isinstance(event, Replanned):
            attributes = {"reason": event.reason, "revision": event.revision}
        elif isinstance(event, TeamReset):
            attributes = {"members": event.members}
        elif isinstance(event, ModelRetry):
            target = self._parent_for(event.role)
            attributes = {
                "purpose": event.purpose,
                "error": event.error[:500],
                "attempt": event.attempt,
            }
        elif isinstance(event, OutputInvalid | LedgerUnusable):
            attributes = {"purpose": event.purpose, "error": event.error[:500]}
        elif isinstance(event, ApprovalDecided):
            target = self._parent_for(event.specialist)
            attributes = {
                "action": event.action,
                "approved": event.approved,
                "decided_by": event.decided_by,
            }
        elif isinstance(event, LimitReached):
            attributes = {"reason": str(event.reason), "detail": event.detail}
        else:
            return  # the rest (facts, plans, checkpoints, …) adds nothing to a trace
        target.add_event(str(getattr(event, "type", "event")), attributes, timestamp=_ns(event.ts))

    def _end_step(self, ts: float, reply: Replied | None) -> None:
        if self._step is None:
            return
        if reply is not None:
            self._step.set_attribute("orchestrator.reply.seconds", reply.seconds)
            if reply.error:
                self._step.set_attribute("error.type", "specialist_error")
                self._step.set_status(Status(StatusCode.ERROR, reply.error[:500]))
            if self._capture:
                self._step.set_attribute(
                    "gen_ai.output.messages", _messages("assistant", reply.text)
                )
        self._step.end(end_time=_ns(ts))
        self._step, self._step_speaker, self._last_ts = None, "", 0.0

    def _end_round(self, ts: float) -> None:
        self._end_step(ts, None)
        if self._round is not None:
            self._round.end(end_time=_ns(ts))
            self._round = None

    def _finish(self, event: RunFinished) -> None:
        assert self._root is not None
        summary: dict[str, str | int | float] = {
            "status": str(event.status),
            "stop_reason": str(event.stop_reason),
            "rounds": event.rounds,
            "stalls": event.stalls,
            "replans": event.replans,
            "tokens": event.tokens,
            "cost_usd": event.cost_usd,
        }
        for key, value in summary.items():
            self._root.set_attribute(f"orchestrator.{key}", value)
        failed = str(event.status) == "failed"
        self._end_all(event.ts, Status(StatusCode.ERROR, event.detail[:500]) if failed else None)

    def _end_all(self, ts: float, status: Status | None) -> None:
        self._end_round(ts)
        self._done = True
        if self._root is not None:
            if status is not None:
                self._root.set_status(status)
            self._root.end(end_time=_ns(ts))
            self._root = None

    # --- the trace id, across resumes -----------------------------------------------------

    def _load_saved(self) -> tuple[int, int] | None:
        try:
            data = json.loads((self._run_dir / TRACE_FILE).read_text())
            return int(data["trace_id"], 16), int(data["span_id"], 16)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no trace yet (or an unreadable one): start a new trace

    def _save(self, root: Span) -> None:
        context = root.get_span_context()
        record = {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
        with contextlib.suppress(OSError):  # a read-only run dir loses only the resume link
            (self._run_dir / TRACE_FILE).write_text(json.dumps(record) + "\n")


def _tool_error(kind: str, data: Mapping[str, Any]) -> str | None:
    if data.get("error"):
        return str(data["error"])
    if data.get("ok") is False:
        return str(data.get("detail") or "the action failed")
    if kind == "code_run" and (data.get("timed_out") or data.get("exit_code") not in (0, None)):
        return str(data.get("status") or "the code failed")
    if kind == "code_run" and data.get("exit_code") is None and "exit_code" in data:
        return str(data.get("status") or "killed")
    return None


def _text(value: str) -> str:
    return recorded.cut(value, recorded.MAX_MESSAGE_CHARS)[0]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _messages(role: str, content: str) -> str:
    """The GenAI conventions' message shape, as the JSON string attribute it is exported as."""
    return _json([{"role": role, "parts": [{"type": "text", "content": _text(content)}]}])


def _tool_content(data: Mapping[str, Any], content: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.tool.call.arguments / .result: a text as it is, anything else as JSON; bounded."""
    attributes: dict[str, Any] = {}
    cut = 0
    for key in ("arguments", "result"):
        value = content.get(key, data.get(key))
        if value is None:
            continue
        kept, gone = recorded.bounded(value)
        cut += gone
        attributes[f"gen_ai.tool.call.{key}"] = kept if isinstance(kept, str) else _json(kept)
    if cut:
        attributes["orchestrator.content.cut_chars"] = cut
    return attributes


def _flat(data: Mapping[str, Any]) -> dict[str, Any]:
    """Event attributes must be primitives or lists of strings."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str | int | float | bool):
            flat[key] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            flat[key] = list(value)
        else:
            flat[key] = _text(json.dumps(value, default=str))
    return flat
