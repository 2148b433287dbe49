"""Loading suites: the shipped ones, our YAML format and GAIA's JSONL, and the one-line
errors (file, line, field) for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import ConfigFileError
from orchestrator.evaluation.loading import load_suite
from orchestrator.evaluation.scoring import ContainsScorer, GaiaScorer, NumericScorer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "evals" / "sample" / "suite.yaml"
SCRIPTED = ROOT / "evals" / "sample-scripted" / "suite.yaml"
XLSX = "/usr/share/doc/xlsx2csv/examples/test/sheets_order.xlsx"


def test_the_sample_suite_has_twenty_verified_tasks_of_every_kind() -> None:
    suite = load_suite(SAMPLE)
    assert len(suite.tasks) >= 20
    assert {t.level for t in suite.tasks} == {1, 2, 3}
    assert {"web", "file", "code", "reasoning"} <= {tag for t in suite.tasks for tag in t.tags}
    assert suite.sites["pydocs"] == Path("/usr/share/doc/python3-doc/html").resolve()
    for task in suite.tasks:
        assert task.expected.strip(), task.id
        assert task.metadata.get("verified"), f"{task.id}: say how the answer was verified"
        assert task.scripted is None, f"{task.id}: the sample suite is for real models"
        assert task.team, task.id
        assert all(a.src.is_file() for a in task.attachments), task.id


def test_the_scripted_variant_replays_tasks_of_the_sample_suite() -> None:
    sample = {t.id: t for t in load_suite(SAMPLE).tasks}
    scripted = load_suite(SCRIPTED)
    assert len(scripted.tasks) >= 5
    for task in scripted.tasks:
        assert task.scripted is not None, task.id
        if task.id in sample:  # same question, same verified answer
            assert task.expected == sample[task.id].expected, task.id
    assert sum(t.id in sample for t in scripted.tasks) >= 5


def test_defaults_attachments_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    path = write(
        tmp_path,
        f"""
        name: small
        defaults:
          team: [user]
          limits: {{max_rounds: 7, max_seconds: 100}}
          scorer: contains
        tasks:
          - id: one
            task: Read the notes.
            expected: hello
            attachments: [notes.txt, {{src: {XLSX}, dest: data/book.xlsx}}]
            limits: {{max_seconds: 5}}
          - id: two
            task: Add.
            expected: 4
            level: 2
            tags: [reasoning]
            scorer: {{kind: numeric, abs_tol: 0.1}}
            team: [user, coder]
        """,
    )
    one, two = load_suite(path).tasks
    assert one.attachments[0].src == tmp_path / "notes.txt"
    assert one.attachments[1].dest == "data/book.xlsx"
    assert one.question.endswith(
        "in the shared workspace: {{workspace}}/notes.txt, {{workspace}}/data/book.xlsx"
    )
    assert one.limits == {"max_rounds": 7, "max_seconds": 5.0}  # merged field by field
    assert isinstance(one.scorer, ContainsScorer)
    assert one.team == ("user",)
    assert two.expected == "4"  # YAML's number, as text
    assert isinstance(two.scorer, NumericScorer)
    assert two.team == ("user", "coder")
    assert two.limits == {"max_rounds": 7, "max_seconds": 100.0}


BASE = """\
name: broken
sites: {docs: .}
tasks:
  - id: first
    task: Open {{sites.docs}}/index.html.
    expected: x
"""


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (
            "    colour: red\n",
            "suite.yaml:7:5: tasks[0].colour: unknown field; valid fields are: id,",
        ),
        (
            "  - id: second\n    task: t\n",
            "suite.yaml:7:5: tasks[1].expected: required field missing",
        ),
        (
            "  - id: first\n    task: t\n    expected: y\n",
            "suite.yaml:7:9: tasks[1].id: duplicate task id 'first' (also tasks[0])",
        ),
        (
            "  - id: bad id\n    task: t\n    expected: y\n",
            "suite.yaml:7:9: tasks[1].id: String should match pattern",
        ),
        (
            "    attachments: [missing.pdf]\n",
            "suite.yaml:7:19: tasks[0].attachments[0]: {tmp}/missing.pdf does not exist",
        ),
        (
            "  - id: b\n    task: See {{sites.web}}.\n    expected: y\n",
            "suite.yaml:8:11: tasks[1].task: unknown placeholder {{sites.web}}; known: {{sites.docs}}, {{workspace}}",
        ),
        (
            "    scorer: regex\n  - id: b\n    task: t\n    expected: '(x'\n    scorer: regex\n",
            "suite.yaml:10:15: tasks[1].expected: not a valid regular expression",
        ),
        (
            "  - id: b\n    task: t\n    expected: ten\n    scorer: {kind: numeric}\n",
            "suite.yaml:9:15: tasks[1].expected: the numeric scorer needs a number (got 'ten')",
        ),
        (
            "    scorer: fuzzy\n",
            "suite.yaml:7:13: tasks[0].scorer.kind: unknown kind 'fuzzy'; expected one of:",
        ),
        (
            "    limits: {max_rounds: lots}\n",
            "suite.yaml:7:26: tasks[0].limits.max_rounds: Input should be a valid integer",
        ),
        (
            "    extract: {mode: regex}\n",
            "suite.yaml:7:14: tasks[0].extract: mode 'regex' needs a 'pattern'",
        ),
        (
            "    level: 0\n",
            "suite.yaml:7:12: tasks[0].level: Input should be greater than or equal to 1",
        ),
    ],
)
def test_yaml_errors_name_file_line_and_field(tmp_path: Path, extra: str, error: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(BASE + extra)
    with pytest.raises(ConfigFileError) as caught:
        load_suite(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path.parent) + "/"), message
    assert error.replace("{tmp}", str(tmp_path)) in message, message


def test_a_missing_site_folder_is_located(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(BASE.replace("{docs: .}", "{docs: nowhere}"))
    with pytest.raises(
        ConfigFileError, match=r"suite.yaml:2:15: sites.docs: .*/nowhere is not a folder"
    ):
        load_suite(path)


def test_unknown_formats_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"suite.csv: unknown suite format '.csv'"):
        load_suite(tmp_path / "suite.csv")
    with pytest.raises(ConfigFileError, match=r"nothing.yaml: file not found"):
        load_suite(tmp_path / "nothing.yaml")
    with pytest.raises(ConfigFileError, match=r"nothing.jsonl: file not found"):
        load_suite(tmp_path / "nothing.jsonl")


def gaia_line(**fields: object) -> str:
    record: dict[str, object] = {
        "task_id": "c61d22de-5f6c-4958-a7f6-5e9707bd3466",
        "Question": "How many pages?",
        "Level": "1",
        "Final answer": "261",
        "file_name": "",
        "Annotator Metadata": {"Steps": "count them"},
    }
    record.update(fields)
    return json.dumps({k: v for k, v in record.items() if v is not ...})


def test_gaia_jsonl_keeps_other_fields_as_metadata(tmp_path: Path) -> None:
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4")
    path = tmp_path / "metadata.jsonl"
    path.write_text(
        gaia_line()
        + "\n\n"
        + gaia_line(task_id="t2", Level=2, file_name="doc.pdf", **{"Final answer": 3.5})
        + "\n"
    )
    suite = load_suite(path)
    assert suite.format == "gaia-jsonl"
    first, second = suite.tasks
    assert first.level == 1
    assert first.expected == "261"
    assert isinstance(first.scorer, GaiaScorer)
    assert first.extract.mode == "auto"
    assert first.metadata == {"Annotator Metadata": {"Steps": "count them"}}
    assert first.question == "How many pages?"
    assert second.level == 2
    assert second.expected == "3.5"
    assert second.attachments[0].src == tmp_path / "doc.pdf"
    assert second.question.endswith("{{workspace}}/doc.pdf")


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ([gaia_line(), "{not json"], "x.jsonl:2:2: invalid JSON: Expecting property name"),
        ([gaia_line(), "[1, 2]"], "x.jsonl:2: each line must be a JSON object"),
        ([gaia_line(Question=...)], "x.jsonl:1: Question: required field missing"),
        (
            [gaia_line(), gaia_line()],
            "x.jsonl:2: task_id: duplicate task_id 'c61d22de-5f6c-4958-a7f6-5e9707bd3466' (first on line 1)",
        ),
        ([gaia_line(Level="easy")], "x.jsonl:1: Level: must be a whole number (got 'easy')"),
        ([gaia_line(task_id="a/b")], "x.jsonl:1: task_id: must be letters, digits"),
        (
            [gaia_line(**{"Final answer": ["x"]})],
            "x.jsonl:1: Final answer: must be a string (got list)",
        ),
        (["", "  "], "x.jsonl: the file has no tasks"),
    ],
)
def test_gaia_errors_name_file_line_and_field(tmp_path: Path, lines: list[str], error: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigFileError) as caught:
        load_suite(path)
    assert error.replace("{tmp}", str(tmp_path)) in str(caught.value)


def write(tmp_path: Path, text: str) -> Path:
    import textwrap

    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_a_gaia_question_reaches_the_task_text_unchanged_and_the_suite_is_named_by_folder(
    tmp_path: Path,
) -> None:
    from orchestrator.scenarios.runner import substitute

    split = tmp_path / "2023" / "validation"
    split.mkdir(parents=True)
    question = "Fill the template {{name}} and {{ sites.x }}; keep {single} and }} as is."
    record = {"task_id": "t1", "Question": question, "Level": 1, "Final answer": "x"}
    (split / "metadata.jsonl").write_text(json.dumps(record) + "\n")
    suite = load_suite(split / "metadata.jsonl")
    assert suite.name == "2023-validation"
    (task,) = suite.tasks
    assert substitute(task.question, {"workspace": "/w"}) == question


async def test_a_missing_gaia_attachment_fails_only_its_task(tmp_path: Path) -> None:
    from orchestrator.config import Settings
    from orchestrator.evaluation.runner import EvalOptions, plan
    from orchestrator.evaluation.trial import run_trial

    path = tmp_path / "x.jsonl"
    other = gaia_line(task_id="fine")
    path.write_text(gaia_line(file_name="gone.png") + "\n" + other + "\n")
    suite = load_suite(path)
    assert [t.id for t in suite.tasks] == ["c61d22de-5f6c-4958-a7f6-5e9707bd3466", "fine"]
    settings = Settings.model_validate({"models": "ollama:never-called"})
    planned = plan(path, EvalOptions(out=tmp_path / "eval"), settings)
    record = await run_trial(planned.jobs[0])
    assert record.outcome == "error"
    assert record.error == (
        f"attachment not found: {tmp_path / 'gone.png'} (files go next to the suite file)"
    )
    assert not planned.jobs[1].task.attachments  # the other task is planned as usual
