"""The provider-independent model layer: scripted model, structured ladder, managed calls."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from orchestrator.events import (
    Event,
    EventBus,
    ModelCalled,
    ModelCallStarted,
    ModelFailed,
    ModelRetry,
)
from orchestrator.models.managed import ManagedModel, Meter
from orchestrator.models.scripted import ScriptedModel, ScriptedReply
from orchestrator.models.spec import Pricing
from specialists.models import structured
from specialists.models.protocol import (
    Capabilities,
    JsonObjectFormat,
    JsonSchemaFormat,
    Message,
    ModelRequest,
    ModelRequestError,
    ModelResponse,
    ProviderError,
    RateLimited,
    ScriptExhausted,
    StructuredOutputError,
    UnsupportedFeature,
)


class Answer(BaseModel):
    city: str
    population: int


def replies(*items: object) -> list[ScriptedReply]:
    return [ScriptedReply.model_validate(item) for item in items]


def request(purpose: str = "p") -> ModelRequest:
    return ModelRequest(purpose, (Message.user("hello"),))


# --- scripted model -------------------------------------------------------------------


async def test_scripted_model_serves_replies_by_purpose_in_order() -> None:
    model = ScriptedModel({"a": replies("one", "two"), "b": replies({"json": {"x": 1}})})
    assert (await model.complete(request("a"))).content == "one"
    assert (await model.complete(request("b"))).content == '{"x": 1}'
    assert (await model.complete(request("a"))).content == "two"
    assert [r.purpose for r in model.requests] == ["a", "b", "a"]
    assert model.unused() == {}


async def test_running_out_of_script_names_purpose_and_call_number() -> None:
    model = ScriptedModel({"orchestrator.progress": replies("only one")})
    await model.complete(request("orchestrator.progress"))
    with pytest.raises(ScriptExhausted, match=r"'orchestrator.progress': call #2 .* has 1"):
        await model.complete(request("orchestrator.progress"))


async def test_unknown_purpose_lists_what_the_script_has() -> None:
    model = ScriptedModel({"a": replies("x"), "b": replies("y")})
    with pytest.raises(
        ScriptExhausted, match=r"no replies for purpose 'coder' \(call #1\); the script has: a, b"
    ):
        await model.complete(request("coder"))


async def test_cursors_resume_where_a_previous_model_stopped() -> None:
    script = {"a": replies("one", "two", "three")}
    first = ScriptedModel(script)
    await first.complete(request("a"))
    second = ScriptedModel(script, cursors=first.cursors())
    assert (await second.complete(request("a"))).content == "two"
    assert second.unused() == {"a": 1}


async def test_scripted_errors_raise_the_matching_model_errors() -> None:
    model = ScriptedModel(
        {
            "p": replies(
                {"error": {"kind": "rate_limit", "retry_after": 2}},
                {"error": {"kind": "server_error"}},
                {"error": {"kind": "bad_request"}},
            )
        }
    )
    with pytest.raises(RateLimited) as limited:
        await model.complete(request())
    assert limited.value.retry_after == 2
    with pytest.raises(ProviderError):
        await model.complete(request())
    with pytest.raises(ModelRequestError):
        await model.complete(request())


def test_a_reply_needs_exactly_one_kind() -> None:
    with pytest.raises(ValueError, match="exactly one of text, json, tool_calls, error"):
        ScriptedReply.model_validate({"text": "a", "json": {"b": 1}})
    with pytest.raises(ValueError, match=r"found: none"):
        ScriptedReply.model_validate({"delay": 1})


async def test_json_reply_answers_a_forced_tool_call_in_kind() -> None:
    model = ScriptedModel({"p": replies({"json": {"city": "Oslo", "population": 700000}})})
    forced = ModelRequest("p", (Message.user("x"),), tool_choice="Answer")
    response = await model.complete(forced)
    assert response.content is None
    assert response.tool_calls[0].name == "Answer"
    assert json.loads(response.tool_calls[0].arguments) == {"city": "Oslo", "population": 700000}


# --- the structured-output ladder ------------------------------------------------------


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        (Capabilities(structured_output=True), ["json_schema", "tool", "json_object", "text"]),
        (Capabilities(structured_output=False), ["tool", "json_object", "text"]),
        (Capabilities(tools=False, json_mode=False), ["text"]),
        (
            Capabilities(json_mode_schema=True),
            ["json_object_schema", "tool", "json_object", "text"],
        ),
        (Capabilities(json_mode=False, json_mode_schema=True), ["tool", "text"]),
    ],
)
def test_ladder_follows_capabilities(caps: Capabilities, expected: list[str]) -> None:
    assert structured.ladder(caps) == expected


@pytest.mark.parametrize(
    ("caps", "form"),
    [
        (Capabilities(structured_output=True), "json_schema"),
        (Capabilities(structured_output=False, tools=True), "tool"),
        (Capabilities(tools=False, json_mode=True), "json_object"),
        (Capabilities(json_mode_schema=True), "json_object_schema"),
        (Capabilities(tools=False, json_mode=False), "text"),
    ],
)
async def test_each_rung_produces_a_validated_object(caps: Capabilities, form: str) -> None:
    text = '{"city": "Oslo", "population": 700000}'
    reply = (
        {"text": f"Here you go:\n```json\n{text}\n```"}
        if form == "text"
        else {"json": json.loads(text)}
    )
    model = ScriptedModel({"p": replies(reply)}, capabilities=caps)
    value = await structured.generate(
        model, purpose="p", messages=[Message.user("?")], schema=Answer
    )
    assert value == Answer(city="Oslo", population=700000)
    sent = model.requests[0]
    if form == "json_schema":
        assert sent.response_format is not None
        assert not isinstance(sent.response_format, str)
        assert sent.response_format.schema["additionalProperties"] is False
    elif form == "tool":
        assert sent.tool_choice == "Answer"
    elif form == "json_object":
        assert sent.response_format == "json_object"
    elif form == "json_object_schema":
        assert isinstance(sent.response_format, JsonObjectFormat)
        assert sent.response_format.schema == structured.for_grammar(
            structured.strict_schema(Answer)
        )
    else:
        assert sent.response_format is None
        assert "JSON schema" in sent.messages[-1].content


async def test_validation_errors_are_fed_back_until_the_reply_is_valid() -> None:
    model = ScriptedModel(
        {
            "p": replies(
                "not json at all",
                {"json": {"city": "Oslo", "population": "many"}},
                {"json": {"city": "Oslo", "population": 1}},
            )
        }
    )
    seen: list[tuple[int, str]] = []
    value = await structured.generate(
        model,
        purpose="p",
        messages=[Message.user("?")],
        schema=Answer,
        on_invalid=lambda a, e: seen.append((a, e)),
    )
    assert value.population == 1
    assert [a for a, _ in seen] == [1, 2]
    assert "no JSON object" in seen[0][1]
    assert "population" in seen[1][1]
    third = model.requests[2].messages
    assert third[-2].content == '{"city": "Oslo", "population": "many"}'
    assert "population" in third[-1].content


async def test_check_rejections_are_fed_back_like_schema_errors() -> None:
    def only_paris(value: Answer) -> None:
        if value.city != "Paris":
            raise ValueError(f"unknown city {value.city!r}; choose one of: Paris")

    model = ScriptedModel(
        {
            "p": replies(
                {"json": {"city": "Rome", "population": 1}},
                {"json": {"city": "Paris", "population": 2}},
            )
        }
    )
    value = await structured.generate(
        model, purpose="p", messages=[Message.user("?")], schema=Answer, check=only_paris
    )
    assert value.city == "Paris"
    assert "choose one of: Paris" in model.requests[1].messages[-1].content


async def test_gives_up_after_the_attempts_with_the_last_error() -> None:
    model = ScriptedModel({"p": replies("x", "y", "z")})
    with pytest.raises(
        StructuredOutputError, match=r"p: no valid output after 3 attempt\(s\)"
    ) as failed:
        await structured.generate(model, purpose="p", messages=[Message.user("?")], schema=Answer)
    assert failed.value.raw == "z"


class RejectsJsonSchema:
    """A provider that refuses native structured output, as some local servers do."""

    name = "picky"
    capabilities = Capabilities(structured_output=True, tools=True)

    def __init__(self) -> None:
        self.forms: list[str] = []

    async def complete(self, req: ModelRequest) -> ModelResponse:
        if req.response_format is not None and not isinstance(req.response_format, str):
            self.forms.append("json_schema")
            raise UnsupportedFeature("response_format json_schema is not supported", status=400)
        self.forms.append("tool")
        inner = ScriptedModel({"p": replies({"json": {"city": "Oslo", "population": 3}})})
        return await inner.complete(req)

    async def close(self) -> None:
        return None


async def test_an_unsupported_rung_steps_down_without_using_an_attempt() -> None:
    model = RejectsJsonSchema()
    value = await structured.generate(
        model, purpose="p", messages=[Message.user("?")], schema=Answer, attempts=1
    )
    assert value.city == "Oslo"
    assert model.forms == ["json_schema", "tool"]


# --- enums: closed sets of values in the schema -------------------------------------


class Pick(BaseModel):
    reason: str
    answer: str


class Turn(BaseModel):
    speaker: Pick
    instruction: Pick
    owner: str | None
    note: str


def test_enums_go_into_defs_and_root_properties_including_optional_ones() -> None:
    schema = structured.with_enums(
        structured.strict_schema(Turn), {"Pick.answer": ["user", "coder"], "owner": ["user"]}
    )
    assert schema["$defs"]["Pick"]["properties"]["answer"]["enum"] == ["user", "coder"]
    assert "enum" not in schema["$defs"]["Pick"]["properties"]["reason"]
    owner = schema["properties"]["owner"]["anyOf"]
    assert owner[0] == {"type": "string", "enum": ["user"]}
    assert owner[1] == {"type": "null"}
    assert "enum" not in structured.strict_schema(Turn)["properties"]["note"]  # a copy


@pytest.mark.parametrize(
    ("enums", "message"),
    [
        ({"Nope.answer": ["a"]}, "no definition 'Nope'"),
        ({"Pick.who": ["a"]}, "'Pick.who' names no property"),
        ({"speaker": ["a"]}, "'speaker' is not a string property"),
        ({"note": []}, "'note' allows no value"),
    ],
)
def test_enums_that_name_nothing_usable_are_refused(
    enums: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        structured.with_enums(structured.strict_schema(Turn), enums)


async def test_enums_reach_the_model_and_values_outside_them_are_fed_back() -> None:
    def turn(speaker: str) -> dict[str, object]:
        pick = {"reason": "r", "answer": speaker}
        return {
            "speaker": pick,
            "instruction": {"reason": "r", "answer": "go"},
            "owner": None,
            "note": "",
        }

    model = ScriptedModel(
        {"p": replies({"json": turn("The person who asked")}, {"json": turn("user")})},
        capabilities=Capabilities(structured_output=True),
    )
    value = await structured.generate(
        model,
        purpose="p",
        messages=[Message.user("?")],
        schema=Turn,
        enums={"Pick.answer": ["user", "coder", "go"]},
    )
    assert value.speaker.answer == "user"
    sent = model.requests[0].response_format
    assert isinstance(sent, JsonSchemaFormat)
    assert sent.schema["$defs"]["Pick"]["properties"]["answer"]["enum"] == ["user", "coder", "go"]
    advice = model.requests[1].messages[-1].content
    assert "speaker.answer: 'The person who asked' is not one of: user, coder, go" in advice


async def test_model_called_events_name_the_rung_used() -> None:
    events: list[Event] = []
    model = ScriptedModel(
        {"p": replies({"json": {"city": "Oslo", "population": 1}}, "plain")},
        capabilities=Capabilities(json_mode_schema=True),
    )
    wrapped, _, _ = managed(model, events)
    await structured.generate(wrapped, purpose="p", messages=[Message.user("?")], schema=Answer)
    await wrapped.complete(request())
    modes = [e.output_mode for e in events if isinstance(e, ModelCalled)]
    assert modes == ["json_object_schema", None]


def test_extract_json_finds_the_object_in_chatty_text() -> None:
    assert structured.extract_json('Sure! {"a": [1, 2]} hope that helps') == {"a": [1, 2]}
    assert structured.extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(ValueError, match="no JSON"):
        structured.extract_json("nothing here")
    with pytest.raises(ValueError, match=r"JSON is invalid: .* \(it looks cut off\)"):
        structured.extract_json('{"a": {"b": 1}, "c": [1, 2')
    with pytest.raises(ValueError, match=r"Unterminated string .* \(it looks cut off\)"):
        structured.extract_json('{"answer": "Par')


def test_raw_control_characters_inside_strings_are_accepted() -> None:
    # Real models (SmolLM2 through llama.cpp's grammar among them) write them.
    assert structured.extract_json('{"a": "two\nlines\tand a tab"}') == {
        "a": "two\nlines\tand a tab"
    }
    assert structured.extract_json('Here: {"a": "x\ny"} done') == {"a": "x\ny"}


def test_a_truncated_object_is_not_mistaken_for_its_inner_object() -> None:
    with pytest.raises(ValueError, match="JSON is invalid"):
        structured.extract_json(
            '{"request_satisfied": {"reason": "x", "answer": false}, "in_loop": {'
        )
    assert structured.extract_json('Use {name} like this: {"a": 1}') == {"a": 1}


# --- managed calls: retries, metering, events -------------------------------------------


def managed(
    model: ScriptedModel,
    events: list[Event],
    *,
    max_retries: int = 3,
    pricing: Pricing | None = None,
) -> tuple[ManagedModel, Meter, list[float]]:
    bus = EventBus("run")
    bus.subscribe(events.append)
    meter = Meter()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    wrapped = ManagedModel(
        model,
        role="orchestrator",
        bus=bus,
        meter=meter,
        pricing=pricing,
        max_retries=max_retries,
        sleep=sleep,
    )
    return wrapped, meter, waits


async def test_rate_limits_wait_exactly_retry_after_then_succeed() -> None:
    events: list[Event] = []
    script = {
        "p": replies(
            {"error": {"kind": "rate_limit", "retry_after": 7}},
            {"error": {"kind": "rate_limit", "retry_after": 0.5}},
            "ok",
        )
    }
    model, meter, waits = managed(ScriptedModel(script), events)
    assert (await model.complete(request())).content == "ok"
    assert waits == [7, 0.5]
    retries = [e for e in events if isinstance(e, ModelRetry)]
    assert [r.wait_seconds for r in retries] == [7, 0.5]
    assert meter.roles["orchestrator"].calls == 1


async def test_server_errors_back_off_exponentially() -> None:
    events: list[Event] = []
    script = {
        "p": replies(
            {"error": {"kind": "server_error"}},
            {"error": {"kind": "timeout"}},
            {"error": {"kind": "server_error"}},
            "ok",
        )
    }
    model, _, waits = managed(ScriptedModel(script), events)
    await model.complete(request())
    assert len(waits) == 3
    for attempt, wait in enumerate(waits, 1):
        assert 0.5 * 2 ** (attempt - 1) <= wait <= 2 ** (attempt - 1)


async def test_non_retryable_errors_fail_at_once_with_an_event() -> None:
    events: list[Event] = []
    model, _, waits = managed(
        ScriptedModel({"p": replies({"error": {"kind": "bad_request"}})}), events
    )
    with pytest.raises(ModelRequestError):
        await model.complete(request())
    assert waits == []
    assert [type(e) for e in events] == [ModelCallStarted, ModelFailed]  # one attempt


async def test_retries_are_bounded() -> None:
    events: list[Event] = []
    script = {"p": replies(*[{"error": {"kind": "server_error"}}] * 3)}
    model, _, waits = managed(ScriptedModel(script), events, max_retries=2)
    with pytest.raises(ProviderError):
        await model.complete(request())
    assert len(waits) == 2
    assert isinstance(events[-1], ModelFailed)


async def test_usage_and_cost_are_metered_per_call() -> None:
    events: list[Event] = []
    script = {
        "p": replies(
            {"text": "a", "input_tokens": 1000, "output_tokens": 200},
            {"text": "b", "input_tokens": 3000, "output_tokens": 0},
        )
    }
    model, meter, _ = managed(
        ScriptedModel(script), events, pricing=Pricing(input_per_mtok=2.0, output_per_mtok=10.0)
    )
    await model.complete(request())
    await model.complete(request())
    usage = meter.roles["orchestrator"]
    assert (usage.calls, usage.input_tokens, usage.output_tokens) == (2, 4000, 200)
    assert usage.cost_usd == pytest.approx(4000 * 2e-6 + 200 * 10e-6)
    assert meter.tokens == 4200
    called = [e for e in events if isinstance(e, ModelCalled)]
    assert [c.cost_usd for c in called] == [pytest.approx(0.004), pytest.approx(0.006)]


async def test_unpriced_models_are_counted_as_such() -> None:
    events: list[Event] = []
    model, meter, _ = managed(ScriptedModel({"p": replies("a")}), events)
    await model.complete(request())
    assert meter.roles["orchestrator"].unpriced_calls == 1
    assert meter.cost_usd == 0


def test_under_a_grammar_every_free_string_and_list_is_bounded() -> None:
    from ledgers import ProgressLedger
    from specialists.models.structured import (
        GRAMMAR_MAX_ITEMS,
        GRAMMAR_MAX_STRING,
        for_grammar,
        strict_schema,
        with_enums,
    )

    schema = with_enums(strict_schema(ProgressLedger), {"Speaker.answer": ["user"]})
    bounded = for_grammar(schema)
    defs = bounded["$defs"]
    assert defs["Choice"]["properties"]["answer"]["maxLength"] == GRAMMAR_MAX_STRING
    assert defs["NewFact"]["properties"]["fact"]["maxLength"] == GRAMMAR_MAX_STRING
    assert bounded["properties"]["new_facts"]["maxItems"] == GRAMMAR_MAX_ITEMS
    assert "maxLength" not in defs["Speaker"]["properties"]["answer"]  # an enum is bounded
    assert "maxLength" not in schema["$defs"]["Choice"]["properties"]["answer"]  # a copy


def test_under_a_grammar_the_schema_carries_no_descriptions_to_copy() -> None:
    from ledgers import FinalDraft
    from specialists.models.structured import for_grammar, strict_schema

    assert "description" in str(strict_schema(FinalDraft))
    assert "description" not in str(for_grammar(strict_schema(FinalDraft)))
