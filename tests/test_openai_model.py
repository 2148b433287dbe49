"""OpenAIModel driven through the real openai SDK over real HTTP to a local fake server.

Nothing here mocks the SDK or httpx: every test checks what actually went over the wire
and how each server behaviour maps onto the protocol's error classes.
"""

from __future__ import annotations

import base64
import email.utils
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from pydantic import BaseModel
from support.fake_openai import FakeOpenAI, Reply, chat_completion, tool_call

from orchestrator.models.openai_model import OpenAIModel, parse_retry_after
from orchestrator.models.pricing import price_for
from orchestrator.models.profiles import capabilities_for
from orchestrator.models.providers import (
    AZURE_DEFAULT_API_VERSION,
    PROVIDERS,
    ProviderSettings,
    resolve_provider,
)
from orchestrator.models.spec import CapabilityOverrides, ModelSpec
from specialists.models.protocol import (
    Capabilities,
    ImagePart,
    Message,
    ModelClient,
    ModelConfigError,
    ModelRequest,
    ModelRequestError,
    ModelTimeout,
    ProviderError,
    RateLimited,
    ToolCall,
    ToolSpec,
    UnsupportedFeature,
    Usage,
)
from specialists.models.structured import for_grammar, generate, strict_schema

KEY_ENV = {"OPENAI_API_KEY": "sk-test"}
MakeModel = Callable[..., OpenAIModel]


class Plan(BaseModel):
    steps: list[str]
    done: bool


def ask(text: str = "hi", **kwargs: Any) -> ModelRequest:
    return ModelRequest("test", (Message.user(text),), **kwargs)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def make_model(server: FakeOpenAI) -> AsyncIterator[MakeModel]:
    """Builds models pointed at `server`; closes them before the server stops."""
    models: list[OpenAIModel] = []

    def make(
        model: str = "openai:gpt-4o", *, env: dict[str, str] | None = None, **fields: Any
    ) -> OpenAIModel:
        fields.setdefault("base_url", server.base_url)
        client = OpenAIModel(ModelSpec(model=model, **fields), KEY_ENV if env is None else env)
        models.append(client)
        return client

    yield make
    for client in models:
        await client.close()


def last_user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    assert isinstance(content, str)
    return content


# --- plain completions and the wire format -------------------------------------------------


async def test_plain_text_completion_and_exact_wire_body(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion("Hello!", usage=(12, 3), model="gpt-4o-2024-08-06")
    model = make_model()
    request = ModelRequest(
        "test",
        (Message.system("Be brief."), Message.user("Say hello.")),
        temperature=0.2,
        max_output_tokens=50,
    )

    response = await model.complete(request)

    assert response.content == "Hello!"
    assert response.tool_calls == ()
    assert response.usage == Usage(12, 3)
    assert response.model == "gpt-4o-2024-08-06"
    assert response.finish_reason == "stop"
    [sent] = server.requests
    assert sent.method == "POST"
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.json == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello."},
        ],
        "temperature": 0.2,
        "max_completion_tokens": 50,
    }


async def test_spec_temperature_is_the_default(server: FakeOpenAI, make_model: MakeModel) -> None:
    server.reply_completion("a")
    server.reply_completion("b")
    model = make_model(temperature=0.7)
    await model.complete(ask())
    await model.complete(ask(temperature=0.0))
    assert [r.json["temperature"] for r in server.requests] == [0.7, 0.0]


async def test_model_satisfies_protocol_and_reports_name(make_model: MakeModel) -> None:
    model = make_model()
    assert isinstance(model, ModelClient)
    assert model.name == "openai:gpt-4o"
    assert model.capabilities == Capabilities(True, True, True, True, context_tokens=128_000)


async def test_tools_tool_choice_and_conversation_history_on_the_wire(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion("done")
    tool = ToolSpec("lookup", "Look a word up.", {"type": "object", "properties": {}})
    history = (
        Message.user("define x"),
        Message.assistant("", tool_calls=(ToolCall("call_1", "lookup", '{"word": "x"}'),)),
        Message("tool", "x: a letter", tool_call_id="call_1"),
    )
    await make_model().complete(ModelRequest("test", history, tools=(tool,), tool_choice="lookup"))
    body = server.requests[0].json
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Look a word up.",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"word": "x"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "x: a letter"},
    ]


@pytest.mark.parametrize("choice", ["auto", "required", "none"])
async def test_keyword_tool_choices_pass_through(
    server: FakeOpenAI, make_model: MakeModel, choice: str
) -> None:
    server.reply_completion("ok")
    tool = ToolSpec("t", "d", {"type": "object"})
    await make_model().complete(ask(tools=(tool,), tool_choice=choice))
    assert server.requests[0].json["tool_choice"] == choice


async def test_tool_calls_are_parsed_with_ids_and_arguments(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion(
        None,
        tool_calls=[
            tool_call("call_a", "search", '{"q": "cats"}'),
            tool_call("call_b", "open", '{"url": "https://example.com"}'),
        ],
    )
    response = await make_model().complete(ask())
    assert response.content is None
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == (
        ToolCall("call_a", "search", '{"q": "cats"}'),
        ToolCall("call_b", "open", '{"url": "https://example.com"}'),
    )


async def test_missing_usage_counts_as_zero(server: FakeOpenAI, make_model: MakeModel) -> None:
    server.reply_completion("no usage here", usage=None)
    response = await make_model().complete(ask())
    assert response.usage == Usage(0, 0)


# --- images ------------------------------------------------------------------------------


PNG = b"\x89PNG\r\n\x1a\nfake"


async def test_vision_model_receives_images_as_data_urls(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion("a cat")
    message = Message.user(
        "What is this?", images=(ImagePart(PNG), ImagePart(b"jpg", "image/jpeg"))
    )
    await make_model().complete(ModelRequest("test", (message,)))
    assert server.requests[0].json["messages"][0] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
            },
            {
                "type": "image_url",
                "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(b"jpg").decode()},
            },
        ],
    }


async def test_text_only_model_never_receives_an_image(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion("I cannot see it")
    model = make_model("ollama:qwen2.5", env={})
    assert not model.capabilities.vision
    message = Message.user("What is this?", images=(ImagePart(PNG),))
    await model.complete(ModelRequest("test", (message,)))
    sent = server.requests[0]
    assert sent.json["messages"][0] == {
        "role": "user",
        "content": "What is this?\n[1 image omitted: this model cannot see images]",
    }
    assert b"image_url" not in sent.raw
    assert base64.b64encode(PNG) not in sent.raw


# --- structured output through the ladder ---------------------------------------------


async def test_native_json_schema_with_validation_error_fed_back(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion('{"steps": "not a list", "done": false}')
    server.reply_completion('{"steps": ["look", "leap"], "done": true}')

    plan = await generate(
        make_model(), purpose="plan", messages=[Message.user("Plan it.")], schema=Plan
    )

    assert plan == Plan(steps=["look", "leap"], done=True)
    first, second = (r.json for r in server.requests)
    assert first["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Plan", "schema": strict_schema(Plan), "strict": True},
    }
    assert "tools" not in first
    feedback = last_user_text(second)
    assert "steps: Input should be a valid list" in feedback
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": '{"steps": "not a list", "done": false}',
    }


async def test_tool_rung_builds_the_object_from_tool_arguments(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion(
        None, tool_calls=[tool_call("call_1", "Plan", '{"steps": ["a"], "done": false}')]
    )
    model = make_model("ollama:qwen2.5", env={})
    assert not model.capabilities.structured_output

    plan = await generate(model, purpose="plan", messages=[Message.user("Plan.")], schema=Plan)

    assert plan == Plan(steps=["a"], done=False)
    body = server.requests[0].json
    assert "response_format" not in body
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Plan"}}
    assert body["tools"][0]["function"]["name"] == "Plan"
    assert body["tools"][0]["function"]["parameters"] == strict_schema(Plan)


async def test_json_mode_rung(server: FakeOpenAI, make_model: MakeModel) -> None:
    server.reply_completion('{"steps": [], "done": true}')
    model = make_model(
        "compatible:local-model",
        env={},
        capabilities=CapabilityOverrides(tools=False, structured_output=False),
    )
    plan = await generate(model, purpose="plan", messages=[Message.user("Plan.")], schema=Plan)
    assert plan == Plan(steps=[], done=True)
    body = server.requests[0].json
    assert body["response_format"] == {"type": "json_object"}
    assert "tools" not in body
    assert "JSON schema" in last_user_text(body)


async def test_plain_text_rung_extracts_fenced_json(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion('Sure!\n```json\n{"steps": ["x"], "done": false}\n```')
    model = make_model(
        "llamacpp:any",
        env={},
        capabilities=CapabilityOverrides(tools=False, json_mode=False),
    )
    plan = await generate(model, purpose="plan", messages=[Message.user("Plan.")], schema=Plan)
    assert plan == Plan(steps=["x"], done=False)
    body = server.requests[0].json
    assert "response_format" not in body
    assert "tools" not in body


async def test_unsupported_json_schema_steps_down_to_the_tool_rung(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_error(
        400,
        "Invalid parameter: 'response_format' of type 'json_schema' is not supported "
        "with this model.",
    )
    server.reply_completion(
        None, tool_calls=[tool_call("call_1", "Plan", '{"steps": ["go"], "done": true}')]
    )

    plan = await generate(
        make_model(), purpose="plan", messages=[Message.user("Plan.")], schema=Plan
    )

    assert plan == Plan(steps=["go"], done=True)
    first, second = (r.json for r in server.requests)
    assert first["response_format"]["type"] == "json_schema"
    assert "response_format" not in second
    assert second["tool_choice"] == {"type": "function", "function": {"name": "Plan"}}


LLAMA_CPP_500 = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
)


async def test_a_refused_rung_is_remembered_so_later_calls_do_not_probe_it(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    # llama-cpp-python's server refuses json_schema with a 500 holding a validation error.
    server.reply_error(500, LLAMA_CPP_500)
    for _ in range(2):
        server.reply_completion(
            None, tool_calls=[tool_call("call_1", "Plan", '{"steps": ["go"], "done": true}')]
        )
    model = make_model("compatible:llama", capabilities=CapabilityOverrides(structured_output=True))

    for _ in range(2):
        plan = await generate(model, purpose="plan", messages=[Message.user("Plan.")], schema=Plan)
        assert plan == Plan(steps=["go"], done=True)

    forms = [r.json.get("response_format", {}).get("type", "tool") for r in server.requests]
    assert forms == ["json_schema", "tool", "tool"]
    assert not model.capabilities.structured_output
    assert model.capabilities.tools


async def test_schema_in_json_mode_goes_on_the_wire_and_is_dropped_when_refused(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_error(400, "response_format: 'schema' is not supported")
    server.reply_completion('{"steps": [], "done": false}')
    model = make_model(
        "compatible:llama",
        capabilities=CapabilityOverrides(tools=False, json_mode_schema=True),
    )
    plan = await generate(model, purpose="plan", messages=[Message.user("Plan.")], schema=Plan)
    assert plan == Plan(steps=[], done=False)
    first, second = (r.json["response_format"] for r in server.requests)
    assert first == {"type": "json_object", "schema": for_grammar(strict_schema(Plan))}
    assert second == {"type": "json_object"}
    assert not model.capabilities.json_mode_schema
    assert model.capabilities.json_mode


async def test_local_servers_get_the_output_limit_under_both_names(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion("ok")
    server.reply_completion("ok")
    await make_model("compatible:llama").complete(ask(max_output_tokens=9))
    await make_model("openai:o3").complete(ask(max_output_tokens=9))
    local, hosted = (r.json for r in server.requests)
    assert (local["max_tokens"], local["max_completion_tokens"]) == (9, 9)
    assert "max_tokens" not in hosted
    assert hosted["max_completion_tokens"] == 9


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Invalid parameter: 'response_format' of type 'json_schema' is not supported.",
        "registry.ollama.ai/library/gemma:2b does not support tools",
        '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
        "Unsupported parameter: 'tool_choice'",
    ],
)
async def test_400_naming_an_unsupported_feature_is_unsupported_feature(
    server: FakeOpenAI, make_model: MakeModel, message: str
) -> None:
    server.reply_error(400, message)
    with pytest.raises(UnsupportedFeature) as caught:
        await make_model().complete(ask())
    assert caught.value.status == 400
    assert not caught.value.retryable


async def test_other_400_is_a_request_error_not_a_step_down(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_error(400, "Invalid 'tools[0].function.name': string does not match pattern.")
    with pytest.raises(ModelRequestError) as caught:
        await make_model().complete(ask())
    assert type(caught.value) is ModelRequestError
    assert caught.value.status == 400


async def test_429_with_retry_after_is_rate_limited_after_one_request(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_error(429, "Rate limit reached for gpt-4o", headers={"Retry-After": "2"})
    with pytest.raises(RateLimited) as caught:
        await make_model().complete(ask())
    assert caught.value.retry_after == 2
    assert caught.value.retryable
    assert len(server.requests) == 1  # the SDK's own retries are off
    text = str(caught.value)
    assert "openai" in text
    assert "gpt-4o" in text
    assert "HTTP 429" in text
    assert "Rate limit reached" in text


async def test_429_retry_after_ms_wins(server: FakeOpenAI, make_model: MakeModel) -> None:
    server.reply_error(429, "slow down", headers={"retry-after-ms": "1500", "retry-after": "9"})
    with pytest.raises(RateLimited) as caught:
        await make_model().complete(ask())
    assert caught.value.retry_after == 1.5


async def test_429_without_header_has_no_retry_after(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_error(429, "slow down")
    with pytest.raises(RateLimited) as caught:
        await make_model().complete(ask())
    assert caught.value.retry_after is None


async def test_429_insufficient_quota_is_not_retryable(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    body = {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}
    server.reply(Reply(status=429, body=body))
    with pytest.raises(ModelRequestError) as caught:
        await make_model().complete(ask())
    assert caught.value.status == 429
    assert not caught.value.retryable


def test_parse_retry_after_forms() -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (parse_retry_after({"retry-after": soon}) or 0) <= 31
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after": "soon-ish"}) is None
    assert parse_retry_after({"retry-after-ms": "junk", "retry-after": "3"}) == 3
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=500, body={"error": {"message": "The server had an error"}}),
        Reply(status=502, body=b"<html>Bad Gateway</html>", headers={"content-type": "text/html"}),
        Reply(status=503, body={"error": {"message": "overloaded"}}),
    ],
    ids=["500", "502-html", "503"],
)
async def test_5xx_is_provider_error_with_status(
    server: FakeOpenAI, make_model: MakeModel, reply: Reply
) -> None:
    server.reply(reply)
    with pytest.raises(ProviderError) as caught:
        await make_model().complete(ask())
    assert caught.value.status == reply.status
    assert caught.value.retryable
    assert f"HTTP {reply.status}" in str(caught.value)
    assert len(server.requests) == 1


async def test_401_is_request_error(server: FakeOpenAI, make_model: MakeModel) -> None:
    server.reply_error(401, "Incorrect API key provided")
    with pytest.raises(ModelRequestError) as caught:
        await make_model().complete(ask())
    assert type(caught.value) is ModelRequestError
    assert caught.value.status == 401
    assert not caught.value.retryable
    assert "Incorrect API key provided" in str(caught.value)


async def test_hung_server_times_out_at_the_configured_timeout(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply(Reply(hang=True))
    model = make_model(timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ModelTimeout) as caught:
        await model.complete(ask())
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 2.0
    assert "0.5s" in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=b"{this is not json"),
        Reply(body=b'{"id": "chatcmpl-1", "choices": [{"index": 0, "mess'),
        Reply(body=chat_completion("cut off"), truncate_at=40),
        Reply(body={"id": "chatcmpl-1", "object": "chat.completion"}),
        Reply(body={"id": "chatcmpl-1", "choices": []}),
        Reply(body={"choices": [{"index": 0, "message": "oops"}]}),
        Reply(body=b"all good", headers={"content-type": "text/plain"}),
        Reply(body=b"null"),
        Reply(body=b""),
    ],
    ids=[
        "malformed",
        "truncated-json",
        "cut-off-transfer",
        "no-choices",
        "empty-choices",
        "message-not-object",
        "text-plain",
        "null",
        "empty",
    ],
)
async def test_broken_200_bodies_are_provider_errors(
    server: FakeOpenAI, make_model: MakeModel, reply: Reply
) -> None:
    server.reply(reply)
    with pytest.raises(ProviderError) as caught:
        await make_model().complete(ask())
    assert caught.value.retryable
    assert "openai model 'gpt-4o'" in str(caught.value)


async def test_unreachable_server_is_provider_error(make_model: MakeModel) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = make_model(base_url=f"http://127.0.0.1:{port}/v1", timeout=2)
    with pytest.raises(ProviderError) as caught:
        await model.complete(ask())
    assert caught.value.status is None
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_tool_message_without_id_is_refused_locally(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    request = ModelRequest("test", (Message("tool", "result"),))
    with pytest.raises(ModelRequestError, match="tool_call_id"):
        await make_model().complete(request)
    assert server.requests == []


# --- providers on the wire -------------------------------------------------------------


async def test_azure_hits_the_deployment_path_with_api_version(
    server: FakeOpenAI, make_model: MakeModel
) -> None:
    server.reply_completion("from azure")
    env = {"AZURE_OPENAI_ENDPOINT": server.root, "AZURE_OPENAI_API_KEY": "az-key"}
    model = make_model("azure:my-gpt4o", env=env, base_url=None, api_version="2024-10-21")
    response = await model.complete(ask())
    assert response.content == "from azure"
    [sent] = server.requests
    assert sent.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert sent.query == {"api-version": ["2024-10-21"]}
    assert sent.headers["api-key"] == "az-key"
    assert sent.json["model"] == "my-gpt4o"


async def test_keyless_local_server_never_gets_the_openai_key(
    server: FakeOpenAI, make_model: MakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK falls back to os.environ for a missing key; that key must not leak here.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-secret")
    server.reply_completion("hi")
    await make_model("ollama:qwen2.5", env={}).complete(ask())
    assert "sk-real-secret" not in server.requests[0].headers.get("authorization", "")


async def test_org_and_project_headers_go_only_to_openai(
    server: FakeOpenAI, make_model: MakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-os-environ")
    server.reply_completion("a")
    server.reply_completion("b")
    await make_model("ollama:qwen2.5", env={}).complete(ask())
    env = {**KEY_ENV, "OPENAI_ORG_ID": "org-1", "OPENAI_PROJECT_ID": "proj-1"}
    await make_model(env=env).complete(ask())
    local, hosted = (r.headers for r in server.requests)
    assert "openai-organization" not in local
    assert "openai-project" not in local
    assert (hosted["openai-organization"], hosted["openai-project"]) == ("org-1", "proj-1")


async def test_empty_queue_answers_500_and_fails_a_strict_server() -> None:
    fake = FakeOpenAI().start()
    model = OpenAIModel(ModelSpec(model="openai:gpt-4o", base_url=fake.base_url), KEY_ENV)
    try:
        with pytest.raises(ProviderError, match="no reply programmed") as caught:
            await model.complete(ask())
        assert caught.value.status == 500
    finally:
        await model.close()
        with pytest.raises(AssertionError, match="no reply programmed"):
            fake.stop()


# --- provider resolution (no HTTP) ------------------------------------------------------


def resolve(model: str, env: dict[str, str] | None = None, **fields: Any) -> ProviderSettings:
    return resolve_provider(ModelSpec(model=model, **fields), env or {})


def test_openai_defaults_and_overrides() -> None:
    assert resolve("openai:gpt-4o", KEY_ENV) == ProviderSettings(
        "openai", "https://api.openai.com/v1", "sk-test"
    )
    assert resolve("gpt-4o", KEY_ENV).provider == "openai"  # no prefix means openai
    env = {**KEY_ENV, "OPENAI_BASE_URL": "https://proxy.example/v1"}
    assert resolve("openai:gpt-4o", env).base_url == "https://proxy.example/v1"
    assert resolve("openai:gpt-4o", env, base_url="http://x/v1").base_url == "http://x/v1"
    custom = resolve("openai:gpt-4o", {"MY_KEY": "k2"}, api_key_env="MY_KEY")
    assert custom.api_key == "k2"


@pytest.mark.parametrize(
    ("model", "url"),
    [
        ("ollama:qwen2.5", "http://localhost:11434/v1"),
        ("vllm:meta-llama/Llama-3.1-8B", "http://localhost:8000/v1"),
        ("lmstudio:phi-4", "http://localhost:1234/v1"),
        ("llamacpp:model", "http://localhost:8080/v1"),
    ],
)
def test_local_providers_need_no_key(model: str, url: str) -> None:
    settings = resolve(model)
    assert (settings.base_url, settings.api_key, settings.is_azure) == (url, None, False)


def test_optional_and_required_keys() -> None:
    assert resolve("vllm:m", {"VLLM_API_KEY": "v"}).api_key == "v"
    router = resolve("openrouter:openai/gpt-4o", {"OPENROUTER_API_KEY": "or"})
    assert (router.base_url, router.api_key) == ("https://openrouter.ai/api/v1", "or")
    assert resolve("compatible:m", base_url="http://h:9/v1").api_key is None
    assert resolve("compatible:m", {"K": "x"}, base_url="http://h/v1", api_key_env="K").api_key


def test_missing_openai_key_says_what_to_set() -> None:
    with pytest.raises(ModelConfigError) as caught:
        OpenAIModel(ModelSpec(model="openai:gpt-4o"), environ={"OPENAI_API_KEY": ""})
    assert str(caught.value) == (
        "model 'openai:gpt-4o' needs an API key: set OPENAI_API_KEY (or api_key_env in the "
        "config), or use a local server such as 'ollama:qwen2.5'"
    )


@pytest.mark.parametrize(
    ("model", "fields", "needle"),
    [
        ("openrouter:x/y", {}, "set OPENROUTER_API_KEY"),
        ("azure:dep", {"base_url": "https://r.openai.azure.com"}, "set AZURE_OPENAI_API_KEY"),
        ("azure:dep", {}, "set AZURE_OPENAI_ENDPOINT"),
        ("ollama:m", {"api_key_env": "OLLAMA_KEY"}, "set OLLAMA_KEY"),
        ("compatible:m", {}, "set base_url in the config"),
        ("openai:", {}, "names no model"),
    ],
)
def test_config_errors_name_the_fix(model: str, fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(ModelConfigError, match=needle):
        resolve(model, **fields)


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ModelConfigError) as caught:
        resolve("anthropic:claude")
    text = str(caught.value)
    assert "'anthropic'" in text
    for name in PROVIDERS:
        assert name in text


def test_azure_settings_and_api_version_fallbacks() -> None:
    env = {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_API_KEY": "a"}
    settings = resolve("azure:dep", env)
    assert settings == ProviderSettings(
        "azure", "https://r.openai.azure.com", "a", True, AZURE_DEFAULT_API_VERSION
    )
    assert resolve("azure:d", {**env, "AZURE_OPENAI_API_VERSION": "v1"}).api_version == "v1"
    assert resolve("azure:d", env, api_version="v2").api_version == "v2"
    assert resolve("azure:d", env, base_url="https://other").base_url == "https://other"


# --- capability profiles and prices -------------------------------------------------------


def caps(model: str, **overrides: bool | int) -> Capabilities:
    return capabilities_for(ModelSpec(model=model, capabilities=CapabilityOverrides(**overrides)))


def test_capability_profiles() -> None:
    full = Capabilities(vision=True, tools=True, structured_output=True, json_mode=True)
    conservative = Capabilities(vision=False, tools=True, structured_output=False, json_mode=True)
    for name in ("openai:gpt-4o", "gpt-4o-mini", "openai:gpt-4.1", "gpt-5", "o3", "azure:gpt-4o"):
        assert replace(caps(name), context_tokens=full.context_tokens) == full, name
    assert caps("openrouter:openai/gpt-4o") == replace(full, context_tokens=128_000)
    assert caps("o3-mini") == Capabilities(False, True, True, True, context_tokens=200_000)
    assert caps("gpt-4.1").context_tokens == 1_047_576
    assert caps("gpt-5").context_tokens == 400_000
    assert caps("ollama:qwen2.5").context_tokens == 8192
    assert caps("ollama:qwen2.5", context_tokens=32768).context_tokens == 32768
    assert caps("openai:some-future-model") == conservative
    assert caps("ollama:qwen2.5") == conservative
    assert caps("ollama:gpt-4o-imitation") == conservative  # local: conservative by provider
    assert caps("ollama:qwen2.5vl:7b").vision
    assert caps("vllm:Qwen/Qwen2.5-VL-7B-Instruct").vision
    assert caps("ollama:llama3.2-vision").vision
    assert caps("ollama:llava").vision


def test_capability_overrides_win_when_set() -> None:
    assert caps("ollama:qwen2.5", vision=True, structured_output=True) == Capabilities(
        vision=True, tools=True, structured_output=True, json_mode=True
    )
    assert caps("openai:gpt-4o", tools=False).tools is False
    assert caps("openai:gpt-4o", tools=False).vision is True  # unset flags keep the table's


def test_prices_match_the_longest_prefix() -> None:
    mini = price_for("gpt-4o-mini-2024-07-18")
    assert mini is not None
    assert (mini.input_per_mtok, mini.output_per_mtok) == (0.15, 0.60)
    full = price_for("gpt-4o-2024-08-06")
    assert full is not None
    assert full.input_per_mtok == 2.50
    assert price_for("openai/gpt-4o-mini") == mini
    assert price_for("o1-pro") != price_for("o1")
    assert price_for("o10") is None
    assert price_for("qwen2.5") is None
    assert full.cost(1_000_000, 100_000) == pytest.approx(3.50)


@pytest.mark.parametrize(
    ("request_", "where"),
    [
        (ask("a file named bad\udcff.txt"), "body.messages[0].content"),
        (
            ModelRequest(
                "test",
                (Message.user("fine"), Message.system("half a pair \ud83d")),
                tools=(ToolSpec("open", "Open a file", {"type": "object"}),),
            ),
            "body.messages[1].content",
        ),
    ],
)
async def test_text_utf8_cannot_encode_is_a_request_error_not_a_crash(
    server: FakeOpenAI, make_model: MakeModel, request_: ModelRequest, where: str
) -> None:
    # The SDK raises UnicodeEncodeError while building the body; it must become a
    # ModelError (which every specialist handles), never escape the step.
    with pytest.raises(ModelRequestError) as caught:
        await make_model().complete(request_)
    assert not caught.value.retryable
    assert f"cannot be encoded as UTF-8: {where} holds" in str(caught.value)
    assert server.requests == []
