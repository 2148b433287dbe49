"""Load YAML files into pydantic models, reporting any problem as one `path:line:col` line.

`yaml.safe_load` forgets where each value came from and silently keeps the last of two
duplicate keys, and pydantic reports errors as `loc` tuples full of internal segments.  People
edit scenario, config and suite files by hand, so they need to be told the exact place to fix:
this module builds the data from `yaml.compose` nodes (which keep their start marks), validates
it, and turns the first error into a `ConfigFileError` naming file, line, column and field.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, SequenceNode

from orchestrator.errors import ConfigFileError

M = TypeVar("M", bound=BaseModel)
Part = str | int
Pair = tuple[Any, Node, Node]  # key, key node, value node
Problem = tuple[int, int, str, str]  # line, column, field, message

_TAG = "tag:yaml.org,2002:"
# Hand-written files are small and shallow; these caps stop a few hostile bytes from
# expanding (aliases of aliases: "billion laughs") or nesting past the stack.
MAX_FILE_BYTES = 10_000_000
MAX_DEPTH = 64
MAX_VALUES = 100_000  # values after expanding every alias
_TOO_DEEP = f"the data is nested too deeply (more than {MAX_DEPTH} levels); flatten it"
_SAFE_TAGS = {"str", "int", "float", "bool", "null", "timestamp", "binary", "seq", "map", "set"}


def load_model(path: Path, model: type[M]) -> M:
    """Read `path`, parse it as YAML and validate it as `model`; raise `ConfigFileError`."""
    return load_located(path, model).value


@dataclass(frozen=True)
class Located(Generic[M]):
    """A validated file that can still point at its own fields, for checks made later
    (a fixture that does not exist, an unknown placeholder)."""

    value: M
    _doc: _Document

    def error(self, parts: Sequence[Part], message: str) -> ConfigFileError:
        """A `ConfigFileError` at the field `parts` (as deep as the file has it)."""
        node = self._doc.root
        for part in parts:
            child = self._doc._child(node, part)
            if child is None:
                break
            node = child[1]
        mark = node.start_mark
        return ConfigFileError(
            self._doc.path,
            message,
            line=mark.line + 1,
            column=mark.column + 1,
            field=_dotted(list(parts)) or None,
        )


def load_located(path: Path, model: type[M]) -> Located[M]:
    """Like `load_model`, keeping the node tree for `Located.error`."""
    doc = _Document(path, _read_text(path))
    try:
        return Located(model.model_validate(doc.data), doc)
    except ValidationError as exc:
        raise doc.validation_error(exc, model) from None


def parse_located(text: str, name: str, model: type[M]) -> Located[M]:
    """Like `load_located`, for YAML that did not come from a file (an HTTP request's
    scenario); errors name it `name:line:col`."""
    doc = _Document(Path(name), text)
    try:
        return Located(model.model_validate(doc.data), doc)
    except ValidationError as exc:
        raise doc.validation_error(exc, model) from None


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ConfigFileError(
                path,
                f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB; is it the right file?",
            )
        return data.decode("utf-8-sig")
    except FileNotFoundError:
        msg = "file not found; check the path and the current directory"
    except IsADirectoryError:
        msg = "this is a directory, not a file; give the path of a YAML file"
    except PermissionError:
        msg = "cannot read the file (permission denied); check its permissions"
    except OSError as exc:
        msg = f"cannot read the file ({exc.strerror}); check the path"
    except UnicodeDecodeError as exc:
        msg = f"the file is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
        msg += f"{exc.start}); save it with UTF-8 encoding"
    raise ConfigFileError(path, msg)


class _Document:
    """A parsed YAML file: plain `data` for pydantic, plus the node tree to locate errors."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self._values: dict[int, Any] = {}  # by node id, so an alias shares its anchor's value
        self._pairs: dict[int, list[Pair]] = {}
        self._building: set[int] = set()
        self._sizes: dict[int, int] = {}  # by node id: values it expands to, aliases included
        self._heights: dict[int, int] = {}  # by node id: levels of nesting it holds
        self._depth = 0
        try:
            self._check_depth(text)  # before composing, which recurses once per level
            self._loader = yaml.SafeLoader(text)
            root = self._loader.get_single_node()
            if root is None or root.tag == _TAG + "null":
                raise self._error("the file is empty; it must contain a mapping of fields")
            if not isinstance(root, MappingNode):
                found = (
                    "a list"
                    if isinstance(root, SequenceNode)
                    else f"the value {_shorten(root.value)}"
                )
                msg = f"the file must contain a mapping of fields, found {found}"
                raise self._error(msg, root)
            self.root: Node = root
            self.data = self._build(root)
        except yaml.MarkedYAMLError as exc:
            raise self._syntax_error(exc) from None
        except yaml.reader.ReaderError as exc:
            line = text.count("\n", 0, exc.position) + 1
            col = exc.position - text.rfind("\n", 0, exc.position)
            msg = f"control character {exc.character:#04x} is not allowed in YAML; remove it"
            raise ConfigFileError(path, msg, line=line, column=col) from None

    def _check_depth(self, text: str) -> None:
        """Reject nesting deeper than MAX_DEPTH from the parser's events, which come
        without recursion, at the first bracket or indent too many."""
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise self._error(_TOO_DEEP, typing.cast(yaml.Mark, event.start_mark))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1

    def _error(self, message: str, at: Node | yaml.Mark | None = None) -> ConfigFileError:
        mark = at.start_mark if isinstance(at, Node) else at
        if mark is None:
            return ConfigFileError(self.path, message)
        return ConfigFileError(self.path, message, line=mark.line + 1, column=mark.column + 1)

    def _syntax_error(self, exc: yaml.MarkedYAMLError) -> ConfigFileError:
        problem, mark, context = exc.problem or "", exc.problem_mark, exc.context_mark
        if "'\\t'" in problem:
            msg = "tab character used for indentation; indent with spaces only"
        elif exc.context == "expected a single document in the stream":
            msg = "the file holds more than one YAML document (---); keep only one"
        else:
            msg = f"invalid YAML: {problem}"
            if context and exc.context and (mark is None or context.line != mark.line):
                msg += f" ({exc.context} started on line {context.line + 1})"
            msg += "; check the indentation, quotes and brackets here"
        return self._error(msg, mark)

    def _build(self, node: Node) -> Any:
        if id(node) in self._values:  # an alias: its anchor's data, nested here again
            if self._depth + self._heights.get(id(node), 0) > MAX_DEPTH:
                raise self._error(_TOO_DEEP, node)
            return self._values[id(node)]
        if id(node) in self._building:
            msg = "an alias refers to its own anchor; recursive data is not allowed"
            raise self._error(msg, node)
        self._building.add(id(node))
        tag = node.tag.removeprefix(_TAG)
        if tag not in _SAFE_TAGS:
            raise self._error(f"unsupported tag {node.tag.replace(_TAG, '!!')!r}; remove it", node)
        value: Any
        if isinstance(node, MappingNode | SequenceNode):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise self._error(_TOO_DEEP, node)
            if isinstance(node, MappingNode):
                pairs = self.pairs(node)
                value = {key: self._build(value_node) for key, _, value_node in pairs}
                children = [value_node for _, _, value_node in pairs]
            else:
                value = [self._build(item) for item in node.value]
                children = node.value
            self._depth -= 1
            self._count(node, children)
        elif tag == "timestamp":
            value = node.value  # keep dates as written; a model can parse them if it wants to
        else:
            try:
                value = self._loader.construct_object(node)
            except (ValueError, KeyError):
                raise self._error(f"{node.value!r} is not a valid !!{tag}", node) from None
        self._values[id(node)] = value
        return value

    def _count(self, node: Node, children: Sequence[Node]) -> None:
        """Record how many values `node` expands to; an alias counts its anchor again."""
        size = 1 + sum(self._sizes.get(id(child), 1) for child in children)
        self._sizes[id(node)] = size
        self._heights[id(node)] = 1 + max(
            (self._heights.get(id(c), 0) for c in children), default=0
        )
        if size > MAX_VALUES:
            msg = (
                f"aliases here expand to more than {MAX_VALUES:,} values; "
                "repeat less through anchors and aliases"
            )
            raise self._error(msg, node)

    def pairs(self, node: MappingNode) -> list[Pair]:
        """The mapping's keys with their nodes: `<<` merges resolved, duplicate keys rejected."""
        if id(node) in self._pairs:
            return self._pairs[id(node)]
        merged: dict[Any, Pair] = {}
        explicit: dict[Any, Pair] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                many = isinstance(value_node, SequenceNode)
                for source in value_node.value if many else [value_node]:
                    if not isinstance(source, MappingNode):
                        raise self._error("'<<' must be followed by a mapping or alias", source)
                    for pair in self.pairs(source):
                        merged.setdefault(pair[0], pair)
                continue
            key = self._build(key_node)
            if isinstance(key, dict | list):
                raise self._error("a key must be a plain value, not a list or mapping", key_node)
            if key in explicit:
                first = explicit[key][1].start_mark.line + 1
                msg = f"duplicate key {key!r} (first defined on line {first}); remove one of them"
                raise self._error(msg, key_node)
            explicit[key] = (key, key_node, value_node)
        self._pairs[id(node)] = list((merged | explicit).values())
        return self._pairs[id(node)]

    def validation_error(self, exc: ValidationError, model: type[BaseModel]) -> ConfigFileError:
        """The first of pydantic's errors in file order, with a count of the other places."""
        problems = sorted((self._locate(e, model) for e in exc.errors()), key=lambda p: p[:2])
        line, col, field, message = problems[0]
        more = len({problem[:3] for problem in problems}) - 1  # places, not union members
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        return ConfigFileError(self.path, message, line=line, column=col, field=field or None)

    def _locate(self, err: ErrorDetails, model: type[BaseModel]) -> Problem:
        """Follow `loc` down the node tree, dropping segments (union members) not in the file."""
        node, key_node, parts = self.root, self.root, list[Part]()
        loc, kind = err["loc"], err["type"]
        for i, part in enumerate(loc):
            if (child := self._child(node, part)) is not None:
                key_node, node = child
                parts.append(part)
            elif i == len(loc) - 1 and kind == "missing":
                parts.append(part)
        if kind.startswith("union_tag_"):  # point at the `kind:` value, or its mapping if missing
            tag_field = str(err.get("ctx", {})["discriminator"]).strip("'")
            parts.append(tag_field)
            node = child[1] if (child := self._child(node, tag_field)) else node
        if kind in ("extra_forbidden", "invalid_key") or loc[-1:] == ("[key]",):
            node = key_node
            parts[-1:] = [str(key_node.value)]  # as written, e.g. `yes` rather than True
        mark = node.start_mark
        return mark.line + 1, mark.column + 1, _dotted(parts), _message(err, model)

    def _child(self, node: Node, part: Part) -> tuple[Node, Node] | None:
        if isinstance(node, MappingNode):
            return next(((kn, vn) for key, kn, vn in self.pairs(node) if key == part), None)
        if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            return node.value[part], node.value[part]
        return None


def _dotted(parts: list[Part]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).removeprefix(".")


def _message(err: ErrorDetails, model: type[BaseModel]) -> str:
    kind, ctx, got = err["type"], err.get("ctx", {}), _shorten(err["input"])
    if kind in ("missing", "union_tag_not_found"):
        return "required field missing"
    if kind == "extra_forbidden":
        return "unknown field; valid fields are: " + ", ".join(_fields_at(model, err["loc"][:-1]))
    if kind == "union_tag_invalid":
        name = str(ctx["discriminator"]).strip("'")
        return f"unknown {name} {ctx['tag']!r}; expected one of: {ctx['expected_tags']}"
    if kind == "invalid_key" or (kind == "string_type" and err["loc"][-1:] == ("[key]",)):
        return f"a key must be a string (got {got}); put it in quotes"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields (got {got})"
    msg = err["msg"].split(", unable to ")[0].removeprefix("Value error, ")
    return f"{msg} (got {got})"


def _shorten(value: object) -> str:
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fields_at(model: type[BaseModel], loc: tuple[Part, ...]) -> list[str]:
    """Field names (aliases where set) of the model that pydantic's `loc` leads to."""
    candidates: list[Any] = [model]
    for part in loc:
        members = [member for tp in candidates for member in _members(tp)]
        children = [child for tp in members if (child := _child_type(tp, part)) is not None]
        variants = [tp for tp in members if _is_model(tp) and part in _tags(tp)]  # union member
        candidates = children or variants or members
    models = [tp for c in candidates for tp in _members(c) if _is_model(tp)]
    fields = models[0].model_fields.items() if models else []
    return [info.alias or name for name, info in fields]


def _members(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [member for arg in typing.get_args(tp) for member in _members(arg)]
    return [tp]


def _child_type(tp: Any, part: Part) -> Any:
    if _is_model(tp):
        fields = tp.model_fields.items()
        return next((info.annotation for n, info in fields if part in (n, info.alias)), None)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple, set, frozenset) and isinstance(part, int) and args:
        return args[0]
    return args[1] if origin is dict and len(args) == 2 else None


def _tags(model: type[BaseModel]) -> set[Any]:
    """How pydantic names a union member in `loc`: its class name or its `Literal` tag."""
    annotations = [info.annotation for info in model.model_fields.values()]
    literals = [typing.get_args(a) for a in annotations if typing.get_origin(a) is typing.Literal]
    return {model.__name__, *(value for values in literals for value in values)}


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)
