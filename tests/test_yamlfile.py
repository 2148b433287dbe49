"""`load_model` turns every problem in a YAML file into one exact `path:line:col: field: msg` line.

Each file in `data/broken_yaml/` holds one mistake (described by its first comment line); the
expected message for it is spelled out in full below, so a change in the line, column, field
path or wording fails the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import ConfigFileError
from orchestrator.yamlfile import load_model

BROKEN = Path(__file__).parent / "data" / "broken_yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(_Strict):
    max_rounds: int = Field(ge=1)
    max_stalls: int = Field(default=3, ge=1)
    timeout_s: float | None = None


class Step(_Strict):
    name: str
    specialist: Literal["web_surfer", "coder", "file_surfer", "terminal"]
    retries: int = Field(default=0, ge=0)


class ScriptedModel(_Strict):
    kind: Literal["scripted"]
    replies: list[str]


class OpenAIModel(_Strict):
    kind: Literal["openai"]
    model: str
    temperature: float | None = None
    base_url: str | None = Field(default=None, alias="base-url")


class Scenario(_Strict):
    name: str
    description: str = ""
    limits: Limits
    steps: list[Step]
    model: Annotated[ScriptedModel | OpenAIModel, Field(discriminator="kind")]
    env: dict[str, str] = {}
    tags: list[str] = []


SPECIALISTS = "'web_surfer', 'coder', 'file_surfer' or 'terminal'"
SYNTAX_HINT = "check the indentation, quotes and brackets here"

EXPECTED = {
    "wrong_type.yaml": "wrong_type.yaml:4:15: limits.max_rounds: "
    "Input should be a valid integer (got 'ten')",
    "out_of_range.yaml": "out_of_range.yaml:5:15: limits.max_stalls: "
    "Input should be greater than or equal to 1 (got 0)",
    "bad_literal.yaml": "bad_literal.yaml:8:17: steps[1].specialist: "
    f"Input should be {SPECIALISTS} (got 'browser')",
    "unknown_field.yaml": "unknown_field.yaml:3:1: descripton: "
    "unknown field; valid fields are: name, description, limits, steps, model, env, tags",
    "unknown_field_in_list_item.yaml": "unknown_field_in_list_item.yaml:9:5: steps[1].retry: "
    "unknown field; valid fields are: name, specialist, retries",
    "unknown_field_in_union_member.yaml": "unknown_field_in_union_member.yaml:10:3: "
    "model.temprature: unknown field; valid fields are: kind, model, temperature, base-url",
    "missing_required.yaml": "missing_required.yaml:4:3: limits.max_rounds: required field missing",
    "wrong_item_type.yaml": "wrong_item_type.yaml:7:5: steps[1]: "
    "expected a mapping of fields (got 'summarise what was found')",
    "wrong_optional_float.yaml": "wrong_optional_float.yaml:5:14: limits.timeout_s: "
    "Input should be a valid number (got 'soon')",
    "wrong_dict_value.yaml": "wrong_dict_value.yaml:12:10: env.PATHS: "
    "Input should be a valid string (got a list)",
    "bad_discriminator.yaml": "bad_discriminator.yaml:8:9: model.kind: "
    "unknown kind 'anthropic'; expected one of: 'scripted', 'openai'",
    "missing_discriminator.yaml": "missing_discriminator.yaml:8:3: model.kind: "
    "required field missing",
    "boolean_key.yaml": "boolean_key.yaml:11:3: env.yes: "
    "a key must be a string (got true); put it in quotes",
    "several_problems.yaml": "several_problems.yaml:5:17: steps[0].specialist: "
    f"Input should be {SPECIALISTS} (got 'browser') (and 2 more problems)",
    "duplicate_key.yaml": "duplicate_key.yaml:6:3: "
    "duplicate key 'max_rounds' (first defined on line 4); remove one of them",
    "syntax_unclosed_bracket.yaml": "syntax_unclosed_bracket.yaml:7:1: "
    "invalid YAML: expected ',' or ']', but got '<scalar>' "
    f"(while parsing a flow sequence started on line 6); {SYNTAX_HINT}",
    "syntax_bad_indentation.yaml": "syntax_bad_indentation.yaml:5:3: "
    "invalid YAML: expected <block end>, but found '<block mapping start>' "
    f"(while parsing a block mapping started on line 2); {SYNTAX_HINT}",
    "tab_indentation.yaml": "tab_indentation.yaml:4:1: "
    "tab character used for indentation; indent with spaces only",
    "empty.yaml": "empty.yaml: the file is empty; it must contain a mapping of fields",
    "root_is_list.yaml": "root_is_list.yaml:2:1: "
    "the file must contain a mapping of fields, found a list",
    "root_is_scalar.yaml": "root_is_scalar.yaml:2:1: "
    "the file must contain a mapping of fields, found the value 'find the 2017 transformer paper'",
    "not_utf8.yaml": "not_utf8.yaml: "
    "the file is not UTF-8 text (byte 0xe9 at offset 76); save it with UTF-8 encoding",
    "two_documents.yaml": "two_documents.yaml:3:1: "
    "the file holds more than one YAML document (---); keep only one",
    "recursive_alias.yaml": "recursive_alias.yaml:3:7: "
    "an alias refers to its own anchor; recursive data is not allowed",
    "unsupported_tag.yaml": "unsupported_tag.yaml:2:7: "
    "unsupported tag '!!python/object:os.system'; remove it",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_gives_one_exact_line(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN)  # so the message starts with the bare file name
    with pytest.raises(ConfigFileError) as info:
        load_model(Path(name), Scenario)
    assert str(info.value) == EXPECTED[name]


def test_every_broken_file_is_checked_and_says_what_is_wrong() -> None:
    files = sorted(BROKEN.glob("*.yaml"))
    assert {path.name for path in files} == set(EXPECTED)
    for path in files:
        assert path.read_bytes().startswith(b"# "), f"{path.name} lacks its explaining comment"


def test_error_carries_line_column_and_field_separately(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN)
    with pytest.raises(ConfigFileError) as info:
        load_model(Path("unknown_field_in_list_item.yaml"), Scenario)
    err = info.value
    assert (err.path, err.line, err.column) == (Path("unknown_field_in_list_item.yaml"), 9, 5)
    assert err.field == "steps[1].retry"
    assert err.message == "unknown field; valid fields are: name, specialist, retries"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigFileError) as info:
        load_model(path, Scenario)
    assert str(info.value) == f"{path}: file not found; check the path and the current directory"
    assert info.value.line is None


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as info:
        load_model(tmp_path, Scenario)
    expected = f"{tmp_path}: this is a directory, not a file; give the path of a YAML file"
    assert str(info.value) == expected


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("name: x\n")

    def deny(self: Path, *args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", deny)  # chmod does not stop root, who runs CI here
    with pytest.raises(ConfigFileError) as info:
        load_model(path, Scenario)
    expected = f"{path}: cannot read the file (permission denied); check its permissions"
    assert str(info.value) == expected


VALID_WITH_ANCHORS = """\
name: &name find-the-paper
limits: {max_rounds: 0x10, timeout_s: 2.5}
steps:
  - &search
    name: search
    specialist: web_surfer
    retries: 2
  - <<: *search
    name: search-again
  - *search
model:
  kind: openai
  model: gpt-4o
  base-url: http://localhost:8000/v1
env:
  RUN_NAME: *name
  SINCE: 2017-06-12
tags: [*name, "yes", yes]
"""


def test_valid_file_with_anchors_aliases_and_merge_keys_loads(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(VALID_WITH_ANCHORS)
    with pytest.raises(ConfigFileError, match=r"tags\[2\]: Input should be a valid string"):
        load_model(path, Scenario)  # unquoted `yes` is a boolean in YAML 1.1, as in safe_load
    path.write_text(VALID_WITH_ANCHORS.replace(", yes]", "]"))
    search = Step(name="search", specialist="web_surfer", retries=2)
    assert load_model(path, Scenario) == Scenario(
        name="find-the-paper",
        limits=Limits(max_rounds=16, timeout_s=2.5),
        steps=[search, search.model_copy(update={"name": "search-again"}), search],
        model=OpenAIModel(
            kind="openai", model="gpt-4o", **{"base-url": "http://localhost:8000/v1"}
        ),
        env={"RUN_NAME": "find-the-paper", "SINCE": "2017-06-12"},  # a date stays as written
        tags=["find-the-paper", "yes"],
    )


def test_error_inside_a_merged_anchor_points_at_the_anchor(tmp_path: Path) -> None:
    path = tmp_path / "merged.yaml"
    path.write_text(VALID_WITH_ANCHORS.replace("specialist: web_surfer", "specialist: surfer"))
    with pytest.raises(ConfigFileError) as info:
        load_model(path, Scenario)
    # steps[0], steps[1] (merged) and steps[2] (alias) all take the bad value from line 6
    assert str(info.value) == (
        f"{path}:6:17: steps[0].specialist: Input should be {SPECIALISTS} (got 'surfer')"
        " (and 3 more problems)"
    )


def test_one_other_problem_is_counted_in_the_singular(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text("name: [x]\nlimits: {max_rounds: 1}\nsteps: []\nmodel: {kind: scripted}\n")
    with pytest.raises(ConfigFileError) as info:
        load_model(path, Scenario)
    assert str(info.value) == (
        f"{path}:1:7: name: Input should be a valid string (got a list) (and 1 more problem)"
    )


# --- sizes: checked before anything is parsed ------------------------------------------------


def test_a_file_over_the_size_cap_is_refused_before_parsing(tmp_path: Path) -> None:
    from orchestrator.yamlfile import MAX_FILE_BYTES

    path = tmp_path / "huge.yaml"
    path.write_bytes(b"name: x\nsteps: [" + b"a, " * (MAX_FILE_BYTES // 3) + b"]\n")
    with pytest.raises(ConfigFileError) as info:
        load_model(path, Scenario)
    assert str(info.value) == f"{path}: the file is larger than 10 MB; is it the right file?"


def test_an_alias_that_deepens_an_anchor_past_the_cap_is_located(tmp_path: Path) -> None:
    path = tmp_path / "deep_alias.yaml"
    deep = "[" * 40 + "1" + "]" * 40
    path.write_text(f"name: x\nenv: {{a: &a {deep}}}\ntags: {'[' * 40}*a{']' * 40}\n")
    with pytest.raises(ConfigFileError) as info:
        load_model(path, Scenario)
    assert "nested too deeply (more than 64 levels)" in str(info.value)
    assert str(info.value).startswith(f"{path}:2:")
