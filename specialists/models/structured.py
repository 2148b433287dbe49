"""Structured output that works on any model: the ladder, and errors fed back on retry.

Rungs, best first, chosen from the model's capabilities: native json_schema → JSON mode
constrained to the schema (llama.cpp's grammar extension) → a forced tool call → JSON mode
→ plain text with the JSON extracted. If a provider rejects a rung (`UnsupportedFeature`),
the next one is tried (and the client stops offering it for the rest of the run). Output
that does not validate is sent back to the model with the exact validation errors, a
bounded number of times. `enums` close a string field over a set of values (the team's
names): put into the schema, a grammar-constrained decoder cannot produce anything else.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from specialists.models.protocol import (
    Capabilities,
    JsonObjectFormat,
    JsonSchemaFormat,
    Message,
    ModelClient,
    ModelRequest,
    ModelResponse,
    StructuredOutputError,
    ToolSpec,
    UnsupportedFeature,
)

T = TypeVar("T", bound=BaseModel)
Mode = Literal["json_schema", "json_object_schema", "tool", "json_object", "text"]
Enums = Mapping[str, Sequence[str]]


def ladder(caps: Capabilities) -> list[Mode]:
    modes: list[Mode] = []
    if caps.structured_output:
        modes.append("json_schema")
    if caps.json_mode and caps.json_mode_schema:
        # Grammar-constrained like json_schema, and on the servers that offer it more
        # dependable than a forced tool call through their chat templates.
        modes.append("json_object_schema")
    if caps.tools:
        modes.append("tool")
    if caps.json_mode:
        modes.append("json_object")
    modes.append("text")
    return modes


def strict_schema(schema_cls: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form strict providers require: every property
    required, no additional properties, no defaults."""

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: fix(v) for k, v in node.items() if k not in ("default", "title")}
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            return node
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    fixed: dict[str, Any] = fix(schema_cls.model_json_schema())
    return fixed


MAX_JSON_CHARS = 500_000  # a ledger or a plan is a few KB; more is a runaway reply
MAX_CANDIDATES = 64  # where an object may start, tried in order: bounds the work to linear
MAX_EXTRACT_SECONDS = 2.0  # and in time, since this runs on the event loop


def extract_json(text: str) -> Any:
    """The first JSON value in `text`: the whole text, a ```json block, or the first object.

    A candidate that fails to parse hides every `{` inside it, so a truncated object is
    reported as broken JSON rather than mistaken for one of its inner objects. Bounded in
    size, candidates and time; every failure (nesting too deep included) is a ValueError,
    which the caller turns into an invalid-output attempt.
    """
    if len(text) > MAX_JSON_CHARS:
        raise ValueError(
            f"the reply is {len(text):,} characters, more than the {MAX_JSON_CHARS:,} allowed; "
            "reply with only the JSON object"
        )
    stripped = text.strip()
    try:
        return _loads(stripped)
    except json.JSONDecodeError:
        pass
    fence = re.search(r"```(?:json)?[ \t]*\n(.*?)```", text, re.DOTALL)
    if fence:
        try:
            return _loads(fence.group(1))
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder(strict=False)
    first_error: json.JSONDecodeError | None = None
    resume_at = 0
    deadline = time.monotonic() + MAX_EXTRACT_SECONDS
    tried = 0
    for match in re.finditer(r"[{\[]", text):
        if match.start() < resume_at:
            continue
        tried += 1
        if tried > MAX_CANDIDATES or time.monotonic() > deadline:
            break
        try:
            value, _ = decoder.raw_decode(text, match.start())
            return value
        except json.JSONDecodeError as err:
            first_error = first_error or err
            resume_at = max(err.pos, match.start() + 1)
        except RecursionError:
            raise _too_deep() from None
    if first_error is None:
        raise ValueError("the reply contains no JSON object")
    # The text ended inside the value: at its last character, or inside a string (whose
    # error points at where the string starts).
    cut_off = first_error.pos >= len(text.rstrip()) - 1 or first_error.msg.startswith(
        "Unterminated string"
    )
    raise ValueError(
        f"the reply's JSON is invalid: {first_error.msg} at line {first_error.lineno} "
        f"column {first_error.colno}" + (" (it looks cut off)" if cut_off else "")
    )


def _loads(text: str) -> Any:
    # strict=False: models write raw newlines and tabs inside strings; that is still data.
    try:
        return json.loads(text, strict=False)
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> ValueError:
    return ValueError("the reply's JSON is nested too deeply; reply with a flat JSON object")


def describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
    return str(exc)


def with_enums(schema: dict[str, Any], enums: Enums) -> dict[str, Any]:
    """`schema` with an `enum` on each named string property: "Def.field" names a property
    of the `$defs` entry Def (every use of Def gets it), "field" a root property."""
    constrained = copy.deepcopy(schema)
    for key, values in enums.items():
        def_name, _, field = key.rpartition(".")
        node = constrained.get("$defs", {}).get(def_name) if def_name else constrained
        if not isinstance(node, dict):
            raise ValueError(f"enums: the schema has no definition {def_name!r}")
        prop = node.get("properties", {}).get(field)
        if not isinstance(prop, dict):
            raise ValueError(f"enums: {key!r} names no property of the schema")
        if not values:
            raise ValueError(f"enums: {key!r} allows no value")
        strings = [b for b in prop.get("anyOf", [prop]) if b.get("type") == "string"]
        if not strings:
            raise ValueError(f"enums: {key!r} is not a string property")
        for branch in strings:
            branch["enum"] = list(values)
    return constrained


def enum_errors(value: BaseModel, enums: Enums) -> list[str]:
    """Every field of `value` outside its enum, as advice for the model (the rungs without
    a grammar can still produce one)."""
    errors = []
    for key, allowed in enums.items():
        def_name, _, field = key.rpartition(".")
        for path, owner in _instances(value, def_name or type(value).__name__, ""):
            got = getattr(owner, field, None)
            if got is not None and got not in allowed:
                where = f"{path}.{field}" if path else field
                errors.append(f"{where}: {got!r} is not one of: {', '.join(allowed)}")
    return errors


def _instances(node: Any, cls_name: str, path: str) -> Iterator[tuple[str, BaseModel]]:
    if isinstance(node, BaseModel):
        if type(node).__name__ == cls_name:
            yield path, node
        for name in type(node).model_fields:
            yield from _instances(getattr(node, name), cls_name, f"{path}.{name}".lstrip("."))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from _instances(item, cls_name, f"{path}.{i}")
    elif isinstance(node, dict):
        for k, item in node.items():
            yield from _instances(item, cls_name, f"{path}.{k}")


GRAMMAR_MAX_STRING = 200  # characters in one free-text field, under a grammar
GRAMMAR_MAX_ITEMS = 3  # items in one list, under a grammar


def for_grammar(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every free string and list bounded, and without descriptions. A
    grammar-constrained decoder writes until the schema is satisfied, and a small model
    caught repeating itself would fill a string until the output limit cuts the whole
    reply; bounded, it must close it. The prompts explain every field already, and a small
    model shown a field's description copies it as the value ("The answer, in the form
    the task asks for.")."""

    def bound(node: Any) -> Any:
        if isinstance(node, dict):
            # A description is a string; a property *named* description is a schema.
            node = {
                k: bound(v)
                for k, v in node.items()
                if not (k == "description" and isinstance(v, str))
            }
            if node.get("type") == "string" and "enum" not in node:
                node.setdefault("maxLength", GRAMMAR_MAX_STRING)
            if node.get("type") == "array":
                node.setdefault("maxItems", GRAMMAR_MAX_ITEMS)
            return node
        if isinstance(node, list):
            return [bound(v) for v in node]
        return node

    bounded: dict[str, Any] = bound(schema)
    return bounded


def output_mode(request: ModelRequest) -> Mode | None:
    """The rung a request was made on (None: an unstructured call, or the text rung)."""
    fmt = request.response_format
    if isinstance(fmt, JsonSchemaFormat):
        return "json_schema"
    if isinstance(fmt, JsonObjectFormat):
        return "json_object_schema"
    if fmt == "json_object":
        return "json_object"
    if request.tools and request.tool_choice not in (None, "auto", "required", "none"):
        return "tool"
    return None


def _request(
    purpose: str, messages: Sequence[Message], name: str, schema: dict[str, Any], mode: Mode
) -> ModelRequest:
    if mode == "json_schema":
        return ModelRequest(
            purpose, tuple(messages), response_format=JsonSchemaFormat(name, schema)
        )
    if mode == "json_object_schema":
        schema = for_grammar(schema)
        hint = Message.user(
            "Reply with a JSON object matching this JSON schema:\n" + json.dumps(schema)
        )
        return ModelRequest(purpose, (*messages, hint), response_format=JsonObjectFormat(schema))
    if mode == "tool":
        tool = ToolSpec(name, f"Record the {name}.", schema)
        return ModelRequest(purpose, tuple(messages), tools=(tool,), tool_choice=name)
    hint = Message.user(
        "Reply with only a JSON object matching this JSON schema, no other text:\n"
        + json.dumps(schema)
    )
    fmt: Literal["json_object"] | None = "json_object" if mode == "json_object" else None
    return ModelRequest(purpose, (*messages, hint), response_format=fmt)


def _raw_output(response: ModelResponse, mode: Mode) -> str:
    if mode == "tool" and response.tool_calls:
        return response.tool_calls[0].arguments
    return response.content or ""


async def generate(
    model: ModelClient,
    *,
    purpose: str,
    messages: Sequence[Message],
    schema: type[T],
    check: Callable[[T], None] | None = None,
    attempts: int = 3,
    on_invalid: Callable[[int, str], None] | None = None,
    enums: Enums | None = None,
) -> T:
    """Ask `model` for a `schema` instance. `check` adds rules a schema can't express
    (e.g. "the speaker must be on the team"); it raises ValueError with advice for the
    model. `enums` restricts string fields to listed values (see `with_enums`), in the
    schema sent and when validating. Raises StructuredOutputError after `attempts`
    invalid replies."""
    json_schema = strict_schema(schema)
    if enums:
        json_schema = with_enums(json_schema, enums)
    modes = ladder(model.capabilities)
    rung = 0
    convo = list(messages)
    last_error, raw = "no attempt made", None
    attempt = 0
    while attempt < attempts:
        mode = modes[rung]
        request = _request(purpose, convo, schema.__name__, json_schema, mode)
        try:
            response = await model.complete(request)
        except UnsupportedFeature:
            if rung + 1 >= len(modes):
                raise
            rung += 1
            continue
        attempt += 1
        raw = _raw_output(response, mode)
        try:
            value = schema.model_validate(extract_json(raw))
            if check is not None:  # the caller's own words first: they know the domain
                check(value)
            outside = enum_errors(value, enums) if enums else []
            if outside:
                raise ValueError("; ".join(outside))
            return value
        except (ValueError, ValidationError) as exc:
            last_error = describe(exc)
        if on_invalid is not None:
            on_invalid(attempt, last_error)
        convo += [
            Message.assistant(raw),
            Message.user(
                f"That reply could not be used: {last_error}\n"
                "Reply again with only the corrected JSON object."
            ),
        ]
    raise StructuredOutputError(purpose, attempts, last_error, raw)
