"""Property tests for stall detection (and the bounded transcript view).

Rounds are drawn from a deliberately small alphabet of speakers, instructions, observations
and errors so that repetitions (the thing stall detection is about) actually happen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgers import (
    Choice,
    Entry,
    Judgement,
    ProgressLedger,
    StallRules,
    StallState,
    StallVerdict,
    Turn,
    Window,
    stall,
    transcript,
)

SPEAKERS = ["web", "coder", "file"]
# "Search X" and "search   x" normalise to the same instruction on purpose.
INSTRUCTIONS = ["search X", "Search  x", "open the page", "sum the column"]
OBSERVATIONS = ["page#1", "page#2", "page#3"]
ERRORS: list[str | None] = [None, None, "TimeoutError", "HTTP 404"]


def norm(text: str) -> str:
    """An independent statement of 'the same instruction': whitespace and case ignored."""
    return " ".join(text.split()).lower()


def ledger_for(
    speaker: str, instruction: str, *, in_loop: bool = False, progress: bool = True
) -> ProgressLedger:
    return ProgressLedger(
        request_satisfied=Judgement(reason="not yet", answer=False),
        in_loop=Judgement(reason="loop?", answer=in_loop),
        progress_made=Judgement(reason="progress?", answer=progress),
        next_speaker=Choice(reason="who", answer=speaker),
        instruction=Choice(reason="what", answer=instruction),
    )


@dataclass(frozen=True)
class Round:
    """One orchestrator round: the progress ledger (or none), then the delegation's outcome."""

    usable: bool
    in_loop: bool
    progress: bool
    speaker: str
    instruction: str
    observation: str
    error: str | None

    def ledger(self) -> ProgressLedger | None:
        if not self.usable:
            return None
        return ledger_for(
            self.speaker, self.instruction, in_loop=self.in_loop, progress=self.progress
        )

    def turn(self) -> Turn:
        return Turn(
            speaker=self.speaker,
            instruction=self.instruction,
            observation=self.observation,
            error=self.error,
        )


rounds_st = st.builds(
    Round,
    usable=st.sampled_from([True, True, True, True, False]),
    in_loop=st.sampled_from([False, False, False, True]),
    progress=st.sampled_from([True, True, True, False]),
    speaker=st.sampled_from(SPEAKERS),
    instruction=st.sampled_from(INSTRUCTIONS),
    observation=st.sampled_from(OBSERVATIONS),
    error=st.sampled_from(ERRORS),
)
rules_st = st.builds(
    StallRules,
    window=st.integers(min_value=1, max_value=8),
    on_progress=st.sampled_from(["decrement", "reset"]),
)
runs_st = st.lists(rounds_st, max_size=40)
max_stalls_st = st.integers(min_value=1, max_value=5)


@dataclass(frozen=True)
class Step:
    before: StallState
    after: StallState
    verdict: StallVerdict
    stalled_since_reset: int  # stalled judgements since the last reset, this one included
    stalled_so_far: int  # stalled judgements since the start of the run
    replan: bool
    history: tuple[Turn, ...]  # every turn recorded since the last reset, before this round


def simulate(
    run: Sequence[Round], rules: StallRules, max_stalls: int | None = None
) -> Iterator[Step]:
    """Drive the stall rules the way the orchestrator does.

    Each round is judged; a usable ledger leads to a delegation whose turn is recorded;
    when `max_stalls` is given and reached, the caller replans and resets the stall state.
    """
    state = StallState()
    history: list[Turn] = []
    since_reset = so_far = 0
    for r in run:
        before = state
        state, verdict = stall.judge(state, rules, r.ledger(), unusable_reason="bad JSON")
        if verdict.stalled:
            since_reset += 1
            so_far += 1
        replan = max_stalls is not None and stall.should_replan(state, max_stalls)
        yield Step(before, state, verdict, since_reset, so_far, replan, tuple(history))
        if replan:
            state = stall.reset()
            history.clear()
            since_reset = 0
        elif r.usable:
            state = stall.record(state, rules, r.turn())
            history.append(r.turn())


def expected_reasons(r: Round, history: Sequence[Turn], rules: StallRules) -> list[str]:
    """An independent oracle for the stall reasons, from the full history and the window."""
    if not r.usable:
        return ["no usable progress ledger: bad JSON"]
    reasons = []
    if r.in_loop:
        reasons.append("the orchestrator judged the team to be in a loop: loop?")
    if not r.progress:
        reasons.append("the orchestrator saw no progress: progress?")
    window = list(history)[-rules.window :]
    if any(t.speaker == r.speaker and norm(t.instruction) == norm(r.instruction) for t in window):
        reasons.append(f"the same instruction was already given to {r.speaker}")
    if window:
        last = window[-1]
        if any(
            t.speaker == last.speaker and t.observation == last.observation for t in window[:-1]
        ):
            reasons.append(f"{last.speaker} returned an observation identical to an earlier one")
        if last.error is not None and any(t.error == last.error for t in window[:-1]):
            reasons.append(f"the same error came back again: {last.error}")
    return reasons


# --------------------------------------------------------------------------- stall count


@given(run=runs_st, rules=rules_st, max_stalls=st.none() | max_stalls_st)
def test_count_never_negative_and_never_exceeds_stalls(
    run: list[Round], rules: StallRules, max_stalls: int | None
) -> None:
    for step in simulate(run, rules, max_stalls):
        assert step.after.count >= 0
        assert step.after.count <= step.stalled_since_reset
        assert step.after.count <= step.stalled_so_far


@given(run=runs_st, rules=rules_st, max_stalls=st.none() | max_stalls_st)
def test_count_follows_the_rules(
    run: list[Round], rules: StallRules, max_stalls: int | None
) -> None:
    for step in simulate(run, rules, max_stalls):
        assert step.verdict.stalled == bool(step.verdict.reasons)
        if step.verdict.stalled:
            assert step.after.count == step.before.count + 1
        elif rules.on_progress == "reset":
            assert step.after.count == 0
        else:
            assert step.after.count == max(0, step.before.count - 1)
        assert step.after.recent == step.before.recent  # judging never records


@given(run=runs_st, rules=rules_st, max_stalls=max_stalls_st)
def test_replan_needs_max_stalls_stalled_judgements_since_reset(
    run: list[Round], rules: StallRules, max_stalls: int
) -> None:
    for step in simulate(run, rules, max_stalls):
        assert step.replan == (step.after.count >= max_stalls)
        if step.replan:
            assert step.stalled_since_reset >= max_stalls
            assert step.verdict.stalled  # only a stalled round can tip the count over


@given(run=runs_st, window=st.integers(min_value=1, max_value=8))
def test_reset_rule_brings_count_to_zero_on_progress(run: list[Round], window: int) -> None:
    rules = StallRules(window=window, on_progress="reset")
    for step in simulate(run, rules):
        if not step.verdict.stalled:
            assert step.after.count == 0


@given(run=runs_st, rules=rules_st)
def test_consecutive_stalls_since_progress_bound_count_under_reset(
    run: list[Round], rules: StallRules
) -> None:
    # With "reset", the count is exactly the length of the current streak of stalled rounds.
    rules = rules.model_copy(update={"on_progress": "reset"})
    streak = 0
    for step in simulate(run, rules):
        streak = streak + 1 if step.verdict.stalled else 0
        assert step.after.count == streak


# --------------------------------------------------------------------------- evidence


@given(run=runs_st, rules=rules_st, max_stalls=st.none() | max_stalls_st)
def test_reasons_match_an_independent_oracle(
    run: list[Round], rules: StallRules, max_stalls: int | None
) -> None:
    for step, r in zip(simulate(run, rules, max_stalls), run, strict=True):
        assert list(step.verdict.reasons) == expected_reasons(r, step.history, rules)


@st.composite
def distinct_runs(draw: st.DrawFn) -> list[Round]:
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(SPEAKERS), st.text(min_size=1, max_size=12)),
            unique_by=lambda p: (p[0], norm(p[1])),
            max_size=30,
        )
    )
    return [
        Round(
            usable=True,
            in_loop=False,
            progress=True,
            speaker=speaker,
            instruction=instruction,
            observation=f"observation-{i}",
            error=None,
        )
        for i, (speaker, instruction) in enumerate(pairs)
    ]


@given(run=distinct_runs(), rules=rules_st)
def test_a_run_without_repetition_never_stalls(run: list[Round], rules: StallRules) -> None:
    steps = list(simulate(run, rules, max_stalls=1))
    assert len(steps) == len(run)
    for step in steps:
        assert not step.verdict.stalled, step.verdict.reasons
        assert step.after.count == 0
        assert not step.replan


@given(
    repeats=st.integers(min_value=2, max_value=25),
    rules=rules_st,
    speaker=st.sampled_from(SPEAKERS),
    instruction=st.sampled_from(INSTRUCTIONS),
    observation=st.sampled_from(OBSERVATIONS),
)
def test_the_same_turn_again_is_flagged_every_time_after_the_first(
    repeats: int, rules: StallRules, speaker: str, instruction: str, observation: str
) -> None:
    same = Round(True, False, True, speaker, instruction, observation, None)
    steps = list(simulate([same] * repeats, rules))
    assert not steps[0].verdict.stalled
    for n, step in enumerate(steps[1:], start=2):
        assert f"the same instruction was already given to {speaker}" in step.verdict.reasons
        assert step.after.count == n - 1
        identical = f"{speaker} returned an observation identical to an earlier one"
        # From the third round on, the last recorded turn repeats an earlier observation,
        # provided the window holds at least two turns.
        assert (identical in step.verdict.reasons) == (n >= 3 and rules.window >= 2)


@given(
    repeats=st.integers(min_value=2, max_value=25),
    rules=rules_st,
    error=st.sampled_from(["TimeoutError", "HTTP 404"]),
)
def test_the_same_error_again_is_flagged_whatever_the_speaker(
    repeats: int, rules: StallRules, error: str
) -> None:
    run = [
        Round(True, False, True, SPEAKERS[i % 3], f"instruction {i}", f"obs {i}", error)
        for i in range(repeats)
    ]
    for n, step in enumerate(simulate(run, rules), start=1):
        flagged = f"the same error came back again: {error}" in step.verdict.reasons
        assert flagged == (n >= 3 and rules.window >= 2)


@given(turns=st.lists(rounds_st.map(Round.turn), max_size=40), rules=rules_st)
def test_record_keeps_at_most_window_turns(turns: list[Turn], rules: StallRules) -> None:
    state = StallState(count=3)
    for n, t in enumerate(turns, start=1):
        state = stall.record(state, rules, t)
        assert len(state.recent) <= rules.window
        assert state.recent == tuple(turns[:n][-rules.window :])
        assert state.count == 3


@given(
    turns=st.lists(rounds_st.map(Round.turn), max_size=10),
    count=st.integers(min_value=0, max_value=10),
    r=rounds_st,
    rules=rules_st,
)
def test_judge_is_deterministic_and_pure(
    turns: list[Turn], count: int, r: Round, rules: StallRules
) -> None:
    state = StallState(count=count, recent=tuple(turns))
    snapshot = state.model_copy(deep=True)
    first = stall.judge(state, rules, r.ledger(), unusable_reason="x")
    second = stall.judge(state, rules, r.ledger(), unusable_reason="x")
    assert first == second
    assert state == snapshot
    assert stall.judge(snapshot, rules, r.ledger(), unusable_reason="x") == first


# --------------------------------------------------------------------------- transcript

TRANSCRIPT_SPEAKERS = ["orchestrator", "web", "coder", "file"]
MAX_ROUND = 999
HEADING_MAX = len(f"[round {MAX_ROUND}] orchestrator -> orchestrator")
MARKER_MAX = len(
    "\n[... truncated: 999,999,999 more characters; ask the specialist for the rest if needed]"
)


def size_bound(w: Window) -> int:
    """An upper bound on the rendered size that depends on the window only."""
    fixed = len("(999999999 earlier messages omitted)\n")
    fixed += len("Earlier messages, one line each:\n\nMost recent messages:\n")
    per_recent = HEADING_MAX + len(":\n") + w.recent_chars + MARKER_MAX + 1
    per_digest = len("- ") + HEADING_MAX + len(": ") + w.digest_chars + 1
    return fixed + w.recent * per_recent + w.digests * per_digest


texts_st = st.one_of(
    st.text(max_size=60),
    st.builds(lambda chunk, n: chunk * n, st.text(min_size=1, max_size=5), st.integers(0, 2000)),
)
entries_st = st.builds(
    Entry,
    round=st.integers(min_value=0, max_value=MAX_ROUND),
    speaker=st.sampled_from(TRANSCRIPT_SPEAKERS),
    kind=st.sampled_from(["instruction", "reply", "note"]),
    text=texts_st,
    to=st.none() | st.sampled_from(TRANSCRIPT_SPEAKERS),
)
windows_st = st.builds(
    Window,
    recent=st.integers(min_value=1, max_value=8),
    recent_chars=st.integers(min_value=200, max_value=1200),
    digests=st.integers(min_value=0, max_value=12),
    digest_chars=st.integers(min_value=40, max_value=200),
)


@settings(max_examples=150)
@given(entries=st.lists(entries_st, min_size=1, max_size=80), w=windows_st)
def test_rendered_transcript_is_bounded_and_ends_with_the_latest_entry(
    entries: list[Entry], w: Window
) -> None:
    rendered = transcript.render(entries, w)
    assert len(rendered) <= size_bound(w)
    last = entries[-1]
    assert last.text[: w.recent_chars] in rendered
    hint = "ask the specialist for the rest if needed"
    body = transcript.truncate(last.text, w.recent_chars, hint)
    assert rendered.endswith(f"{last.heading()}:\n{body}")
    if len(last.text) > w.recent_chars:
        cut = len(last.text) - w.recent_chars
        assert f"[... truncated: {cut:,} more characters; {hint}]" in rendered


@given(
    tail=st.lists(entries_st, min_size=1, max_size=20),
    old_a=st.lists(entries_st, max_size=20),
    old_b=st.lists(entries_st, max_size=20),
    w=windows_st,
)
def test_entries_beyond_the_window_only_count(
    tail: list[Entry], old_a: list[Entry], old_b: list[Entry], w: Window
) -> None:
    """Two transcripts that differ only before the window render alike, up to the count."""
    shown = w.recent + w.digests
    if len(tail) < shown:
        # Pad the tail so that everything shown comes from it.
        tail = [Entry(round=0, speaker="web", kind="note", text="pad")] * (shown - len(tail)) + tail
    n = min(len(old_a), len(old_b))
    a, b = transcript.render(old_a[:n] + tail, w), transcript.render(old_b[:n] + tail, w)
    assert a == b
    omitted = n + len(tail) - shown
    if omitted > 0:
        assert a.startswith(f"({omitted} earlier messages omitted)\n")
    else:
        assert "earlier messages omitted" not in a.split("\n", 1)[0]


@given(entries=st.lists(entries_st, min_size=1, max_size=60), w=windows_st)
def test_digest_lines_are_single_lines_within_the_cap(entries: list[Entry], w: Window) -> None:
    rendered = transcript.render(entries, w)
    older = max(0, len(entries) - w.recent)
    n_digests = min(older, w.digests)
    if n_digests == 0:
        assert "Earlier messages, one line each:" not in rendered
        return
    lines = rendered.split("\n")
    start = lines.index("Earlier messages, one line each:") + 1
    digest_lines = lines[start : start + n_digests]
    digested = entries[len(entries) - w.recent - n_digests : len(entries) - w.recent]
    for line, e in zip(digest_lines, digested, strict=True):
        prefix = f"- {e.heading()}: "
        assert line.startswith(prefix)
        assert len(line) - len(prefix) <= w.digest_chars
    assert lines[start + n_digests : start + n_digests + 2] == ["", "Most recent messages:"]
