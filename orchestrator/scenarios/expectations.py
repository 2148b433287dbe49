"""Checking a finished scenario run against its `expect:` section."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from orchestrator.events import ActionFailed, Event, Replied, event_type
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
    if expect.no_failed_actions:
        failures += [f"action failed: {describe_failure(e)}" for e in failed_actions(events)]
    for speaker, texts in expect.reply_contains.items():
        replies = [e.text for e in events if isinstance(e, Replied) and e.speaker == speaker]
        for text in texts:
            if not any(_normalise(text, False) in _normalise(r, False) for r in replies):
                failures.append(_no_reply_contains(speaker, text, replies))
    return failures


def failed_actions(events: Sequence[Event]) -> list[ActionFailed]:
    return [e for e in events if isinstance(e, ActionFailed)]


def describe_failure(event: ActionFailed) -> str:
    """One line: round, who, which action with what, and why."""
    error = event.error.strip().splitlines()[0] if event.error.strip() else ""
    arguments = f" {_clip(event.arguments, 160)}" if event.arguments not in ("", "{}") else ""
    problem = event.problem.replace("_", " ")
    return f"round {event.round}, {event.speaker} {event.action}{arguments}: {problem}: {_clip(error, 300)}"


def warnings(expect: Expectations, events: Sequence[Event], scripted: bool) -> list[str]:
    """What a passing scripted run may still hide: a specialist action that failed while
    the scripted orchestrator carried on regardless. Not said when the scenario expects
    such failures (`action_failed` in `events`) or already fails on them."""
    expected = any(e.type == "action_failed" for e in expect.events)
    if not scripted or expected or expect.no_failed_actions:
        return []
    return [f"a scripted action failed: {describe_failure(e)}" for e in failed_actions(events)]


def _no_reply_contains(speaker: str, text: str, replies: Sequence[str]) -> str:
    if not replies:
        return f"{speaker} never replied; expected a reply containing {text!r}"
    last = _clip(" ".join(replies[-1].split()), 200)
    return (
        f"no reply from {speaker} contains {text!r} "
        f"({len(replies)} repl{'y' if len(replies) == 1 else 'ies'}; the last: {last!r})"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
