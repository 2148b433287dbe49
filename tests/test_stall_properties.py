"""Property tests for stall detection (and the token-budgeted transcript view).

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
    Speaker,
    StallRules,
    StallState,
    StallVerdict,
    Turn,
    stall,
    transcript,
)

SPEAKERS = ["web", "coder", "file"]
# "Search X" and "search   x" normalise to the same instruction on purpose.
INSTRUCTIONS = ["search X", "Search  x", "open the page", "sum the column"]
OBSERVATIONS = ["page#1", "page#2", "page#3"]
ERRORS: list[str | None] = [None, None, "TimeoutError", "HTTP 404"]
REPLIES = ["Found it.", "found   it.", "The value is 7.", "Nothing there."]


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
        next_speaker=Speaker(reason="who", answer=speaker),
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
    reply: str = "a reply"

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
            reply=stall.reply_digest(self.reply),
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
    reply=st.sampled_from(REPLIES),
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
    """An independent oracle for the stall reasons, from the full history and the window:
    the model's verdict always counts; code evidence only with a reply repeated word for
    word (whitespace and case aside)."""
    if not r.usable:
        return ["no usable progress ledger: bad JSON"]
    model = []
    if r.in_loop:
        model.append("the orchestrator judged the team to be in a loop: loop?")
    if not r.progress:
        model.append("the orchestrator saw no progress: progress?")
    code = expected_evidence(r, history, rules)
    window = list(history)[-rules.window :]
    repeated = bool(window) and any(
        t.speaker == window[-1].speaker and t.reply == window[-1].reply for t in window[:-1]
    )
    if model:
        return model + code
    if code and repeated:
        return [*code, f"{window[-1].speaker}'s reply repeats an earlier one word for word"]
    return []


def expected_evidence(r: Round, history: Sequence[Turn], rules: StallRules) -> list[str]:
    reasons = []
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
        if not step.verdict.stalled and r.usable:
            assert list(step.verdict.hints) == expected_evidence(r, step.history, rules)


@st.composite
def progressing_runs(draw: st.DrawFn) -> list[Round]:
    """Any speakers, instructions, observations and errors, repeated at will — but the
    model reports progress every round, and every reply says something new."""
    rounds = draw(st.lists(rounds_st.filter(lambda r: r.usable), max_size=40))
    return [
        Round(True, False, True, r.speaker, r.instruction, r.observation, r.error, f"reply {i}")
        for i, r in enumerate(rounds)
    ]


@given(run=progressing_runs(), rules=rules_st)
def test_a_model_reporting_progress_with_new_replies_never_stalls(
    run: list[Round], rules: StallRules
) -> None:
    for step in simulate(run, rules, max_stalls=1):
        assert not step.verdict.stalled, step.verdict.reasons
        assert step.after.count == 0
        assert not step.replan


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
    same = Round(True, False, True, speaker, instruction, observation, None, "same words")
    steps = list(simulate([same] * repeats, rules))
    assert not steps[0].verdict.stalled
    assert f"the same instruction was already given to {speaker}" in steps[1].verdict.hints
    for n, step in enumerate(steps[1:], start=2):
        # From the third round on the last reply repeats an earlier one word for word
        # (the window must hold two turns): only then does the evidence count as a stall.
        repeated = n >= 3 and rules.window >= 2
        signs = step.verdict.reasons if repeated else step.verdict.hints
        assert f"the same instruction was already given to {speaker}" in signs
        assert step.verdict.stalled == repeated
        identical = f"{speaker} returned an observation identical to an earlier one"
        assert (identical in signs) == repeated


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
        signs = step.verdict.reasons + step.verdict.hints
        flagged = f"the same error came back again: {error}" in signs
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

texts_st = st.one_of(
    st.text(max_size=60),
    st.builds(lambda chunk, n: chunk * n, st.text(min_size=1, max_size=5), st.integers(0, 4000)),
)
entries_st = st.builds(
    Entry,
    round=st.integers(min_value=0, max_value=MAX_ROUND),
    speaker=st.sampled_from(TRANSCRIPT_SPEAKERS),
    kind=st.sampled_from(["instruction", "reply", "note"]),
    text=texts_st,
    to=st.none() | st.sampled_from(TRANSCRIPT_SPEAKERS),
)
budgets_st = st.integers(min_value=400, max_value=20_000)
ratios_st = st.sampled_from([1.0, 2.5, 4.0])


def full(entries: Sequence[Entry]) -> str:
    return "\n".join(f"{e.heading()}:\n{e.text}" for e in entries)


@settings(max_examples=150)
@given(entries=st.lists(entries_st, min_size=1, max_size=80), budget=budgets_st, r=ratios_st)
def test_the_view_is_whole_when_it_fits_and_within_budget_when_not(
    entries: list[Entry], budget: int, r: float
) -> None:
    count = transcript.estimate(r)
    rendered = transcript.render(entries, budget, count)
    whole = full(entries)
    if count(whole) + len(entries) <= budget:
        assert rendered == whole
    else:
        assert count(rendered) <= budget + 64  # a marker's worth of slack
        last = entries[-1]
        assert last.heading() in rendered
        assert rendered.split(f"{last.heading()}:\n", 1)[-1].startswith(last.text[:100])


@given(entries=st.lists(entries_st, min_size=2, max_size=60), budget=budgets_st)
def test_compaction_is_oldest_first(entries: list[Entry], budget: int) -> None:
    """Every message shown in full is newer than every digest, and every digest is newer
    than every message that is only counted."""
    count = transcript.estimate(1.0)
    rendered = transcript.render(entries, budget, count, digest_chars=80)
    lines = rendered.split("\n")
    omitted = int(lines[0].split(" ")[0][1:]) if lines[0].endswith("messages omitted)") else 0
    digests = [ln for ln in lines if ln.startswith("- [round ") and ": " in ln]
    n_digests = len(digests) if "Earlier messages, one line each:" in lines else 0
    kept_full = len(entries) - omitted - n_digests
    assert kept_full >= 1
    for line, e in zip(digests[:n_digests], entries[omitted:], strict=False):
        prefix = f"- {e.heading()}: "
        assert line.startswith(prefix)
        assert len(line) - len(prefix) <= 80


@given(n=st.integers(min_value=1, max_value=120), size=st.sampled_from([0, 3000]))
def test_view_size_stays_bounded_as_rounds_grow(n: int, size: int) -> None:
    count = transcript.estimate(4.0)
    entries = [Entry(round=i, speaker="web", kind="reply", text="x" * size) for i in range(n)]
    assert count(transcript.render(entries, 4000, count)) <= 4000 + 64
