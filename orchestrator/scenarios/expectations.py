"""Checking a finished scenario run against its `expect:` section."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from orchestrator.events import Event, event_type
from orchestrator.scenarios.schema import AnswerMatcher, Expectations
from orchestrator.state import FinalResult


def _normalise(text: str, case_sensitive: bool) -> str:
    text = " ".join(text.split())
    return text if case_sensitive else text.lower()


def answer_matches(matcher: AnswerMatcher, answer: str) -> bool:
    cs = matcher.case_sensitive
    got = _normalise(answer, cs)
    if matcher.equals is not None:
        return got == _normalise(matcher.equals, cs)
    if matcher.contains is not None:
        return _normalise(matcher.contains, cs) in got
    if matcher.regex is not None:
        return re.search(matcher.regex, answer, 0 if cs else re.IGNORECASE) is not None
    assert matcher.one_of is not None
    return got in {_normalise(option, cs) for option in matcher.one_of}


def check(
    expect: Expectations,
    result: FinalResult,
    events: Sequence[Event],
    unused_script: Mapping[str, int],
) -> list[str]:
    """Every way the run differs from what the scenario expects; empty means it passed."""
    failures: list[str] = []
    if expect.status is not None and result.status != expect.status:
        failures.append(f"status was {result.status.value}, expected {expect.status.value}")
    if expect.stop_reason is not None and result.stop_reason != expect.stop_reason:
        failures.append(
            f"stop reason was {result.stop_reason.value} ({result.stop_detail}), "
            f"expected {expect.stop_reason.value}"
        )
    if expect.answer is not None and not answer_matches(expect.answer, result.answer):
        wanted = expect.answer.model_dump(exclude_none=True, exclude={"case_sensitive"})
        failures.append(f"answer {result.answer!r} does not match {wanted}")
    for what, bounds, value in (
        ("rounds", expect.rounds, result.rounds),
        ("stalls", expect.stalls, result.stalls),
        ("replans", expect.replans, result.replans),
    ):
        if bounds is not None and (problem := bounds.check(what, value)):
            failures.append(problem)
    counts = Counter(event_type(e) for e in events)
    for wanted_event in expect.events:
        n = counts[wanted_event.type]
        if n < wanted_event.at_least:
            failures.append(
                f"event {wanted_event.type} occurred {n} time(s), "
                f"expected at least {wanted_event.at_least}"
            )
        if wanted_event.max is not None and n > wanted_event.max:
            failures.append(
                f"event {wanted_event.type} occurred {n} time(s), expected at most {wanted_event.max}"
            )
    if expect.script_used_up and unused_script:
        left = ", ".join(f"{purpose}: {n}" for purpose, n in sorted(unused_script.items()))
        failures.append(f"scripted replies left unused ({left})")
    return failures
