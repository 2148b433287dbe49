"""Unit tests for the pure data and rules in `ledgers/`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from ledgers import (
    Choice,
    ContextRules,
    Entry,
    Facts,
    Judgement,
    Limits,
    Plan,
    PlanDraft,
    PlanStep,
    ProgressLedger,
    ReplanDraft,
    Revision,
    Speaker,
    Spent,
    StallRules,
    StallState,
    StopReason,
    TaskLedger,
    Turn,
    exceeded,
    stall,
    transcript,
)

# --------------------------------------------------------------------------- helpers


def make_plan(*steps: tuple[str, str]) -> Plan:
    return Plan(steps=[PlanStep(owner=o, action=a) for o, a in steps])


def make_ledger(
    *,
    satisfied: bool = False,
    in_loop: bool = False,
    progress: bool = True,
    speaker: str = "web",
    instruction: str = "search for X",
    loop_reason: str = "loop-reason",
    progress_reason: str = "progress-reason",
) -> ProgressLedger:
    return ProgressLedger(
        request_satisfied=Judgement(reason="satisfied-reason", answer=satisfied),
        in_loop=Judgement(reason=loop_reason, answer=in_loop),
        progress_made=Judgement(reason=progress_reason, answer=progress),
        next_speaker=Speaker(reason="speaker-reason", answer=speaker),
        instruction=Choice(reason="instruction-reason", answer=instruction),
    )


def turn(
    speaker: str = "web",
    instruction: str = "search",
    observation: str = "obs",
    error: str | None = None,
    reply: str | None = None,
) -> Turn:
    """A turn whose reply text is its observation unless given: same page, same words."""
    text = observation if reply is None else reply
    return Turn(
        speaker=speaker,
        instruction=instruction,
        observation=observation,
        error=error,
        reply=stall.reply_digest(text),
    )


def state_with(*turns: Turn, count: int = 0) -> StallState:
    return StallState(count=count, recent=tuple(turns))


def entry(i: int, text: str | None = None, speaker: str = "web", to: str | None = None) -> Entry:
    return Entry(
        round=i,
        speaker=speaker,
        kind="reply",
        text=text if text is not None else f"message {i}",
        to=to,
    )


PROGRESS_LEDGER_DICT: dict[str, Any] = {
    "request_satisfied": {"reason": "not yet", "answer": False},
    "in_loop": {"reason": "new pages each time", "answer": False},
    "progress_made": {"reason": "found the population table", "answer": True},
    "next_speaker": {"reason": "needs arithmetic", "answer": "coder"},
    "instruction": {"reason": "compute it", "answer": "Sum the column 'pop'."},
}


# --------------------------------------------------------------------------- facts / plan


def test_facts_render_all_four_kinds_in_order() -> None:
    facts = Facts(
        given=["the city is Oslo"],
        to_look_up=["population in 2020", "area"],
        to_derive=["density"],
        guesses=["about 1,500 per km2"],
    )
    assert facts.render() == (
        "Given or verified facts:\n- the city is Oslo\n\n"
        "Facts to look up:\n- population in 2020\n- area\n\n"
        "Facts to derive:\n- density\n\n"
        "Educated guesses:\n- about 1,500 per km2"
    )


def test_facts_render_empty_kinds_as_none() -> None:
    rendered = Facts().render()
    assert rendered == (
        "Given or verified facts:\n- (none)\n\n"
        "Facts to look up:\n- (none)\n\n"
        "Facts to derive:\n- (none)\n\n"
        "Educated guesses:\n- (none)"
    )


def test_facts_render_mixes_empty_and_filled_kinds() -> None:
    rendered = Facts(to_derive=["density"]).render()
    sections = rendered.split("\n\n")
    assert sections == [
        "Given or verified facts:\n- (none)",
        "Facts to look up:\n- (none)",
        "Facts to derive:\n- density",
        "Educated guesses:\n- (none)",
    ]


def test_plan_render_numbers_steps_and_names_owners() -> None:
    plan = make_plan(("web", "find the table"), ("coder", "sum it"), ("web", "verify"))
    assert plan.render() == "1. [web] find the table\n2. [coder] sum it\n3. [web] verify"
    assert plan.owners() == {"web", "coder"}


def test_a_draft_plan_needs_steps_unless_it_answers_directly() -> None:
    with pytest.raises(ValidationError, match="needs_plan is true but there are no steps"):
        PlanDraft.model_validate({"steps": []})
    direct = PlanDraft.model_validate({"needs_plan": False, "steps": []}).plan()
    assert direct.direct
    assert direct.render() == "(no plan: the task can be answered directly)"
    with pytest.raises(ValidationError, match="steps"):
        ReplanDraft.model_validate({"root_cause": "x", "steps": []})


def test_plan_steps_carry_details_and_mark_the_reader() -> None:
    plan = Plan(
        steps=[
            PlanStep(owner="web", action="find the table", details="on stats.example, 2020 column"),
            PlanStep(owner="coder", action="sum it"),
        ]
    )
    assert plan.render_for("coder") == (
        "1. [web] find the table\n   on stats.example, 2020 column\n2. [coder] sum it  <- your step"
    )


def test_a_replan_draft_keeps_its_root_cause_hints_and_resets() -> None:
    draft = ReplanDraft(
        root_cause="the site needs a login",
        hints=("use the public mirror",),
        steps=(PlanStep(owner="web", action="open the mirror"),),
        reset=("web",),
    )
    plan = draft.plan()
    assert plan.reset == ("web",)
    assert plan.render() == (
        "1. [web] open the mirror\n"
        "Why the previous plan failed: the site needs a login\n"
        "Hint: use the public mirror"
    )
    assert ReplanDraft.model_validate({"steps": [{"owner": "w", "action": "a"}]}).reset == ()


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Facts, {"given": [], "extra_kind": ["x"]}),
        (PlanStep, {"owner": "web", "action": "a", "why": "b"}),
        (Plan, {"steps": [{"owner": "web", "action": "a"}], "notes": "x"}),
        (Plan, {"steps": [{"owner": "web", "action": "a", "priority": 1}]}),
        (Judgement, {"reason": "r", "answer": True, "confidence": 0.9}),
        (Choice, {"reason": "r", "answer": "web", "alternatives": []}),
        (ProgressLedger, {**PROGRESS_LEDGER_DICT, "summary": "extra"}),
        (
            ProgressLedger,
            {**PROGRESS_LEDGER_DICT, "in_loop": {"reason": "r", "answer": False, "x": 1}},
        ),
        (Limits, {"max_round": 5}),
        (StallRules, {"windw": 3}),
        (ContextRules, {"recnt": 3}),
    ],
)
def test_extra_fields_are_forbidden(model: Any, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        model.model_validate(data)


# --------------------------------------------------------------------------- task ledger


def test_task_ledger_render_and_initial_revision() -> None:
    ledger = TaskLedger(task="t", facts=Facts(given=["g"]), plan=make_plan(("web", "look it up")))
    assert ledger.revision == 0
    assert ledger.revisions == ()
    assert ledger.render() == (
        f"Facts:\n{ledger.facts.render()}\n\n"
        "Established during the run (findings, with their sources):\n- (none yet)\n\n"
        "Plan:\n1. [web] look it up"
    )


def test_task_ledger_revise_keeps_superseded_version() -> None:
    facts0, plan0 = Facts(given=["g0"]), make_plan(("web", "step 0"))
    facts1, plan1 = Facts(given=["g1"], guesses=["maybe"]), make_plan(("coder", "step 1"))
    facts2, plan2 = Facts(to_look_up=["l2"]), make_plan(("file", "step 2"), ("web", "2b"))
    ledger0 = TaskLedger(task="the task", facts=facts0, plan=plan0)

    ledger1 = ledger0.revise(facts=facts1, plan=plan1, reason="stalled on search", round=4)
    assert ledger1.revision == 1
    assert ledger1.task == "the task"
    assert ledger1.facts == facts1
    assert ledger1.plan == plan1
    assert ledger1.revisions == (
        Revision(number=0, round=4, reason="stalled on search", facts=facts0, plan=plan0),
    )

    ledger2 = ledger1.revise(facts=facts2, plan=plan2, reason="wrong site", round=9)
    assert ledger2.revision == 2
    assert ledger2.facts == facts2
    assert ledger2.plan == plan2
    assert [r.number for r in ledger2.revisions] == [0, 1]
    assert [r.round for r in ledger2.revisions] == [4, 9]
    assert [r.reason for r in ledger2.revisions] == ["stalled on search", "wrong site"]
    assert ledger2.revisions[1].facts == facts1
    assert ledger2.revisions[1].plan == plan1

    # The earlier ledgers are untouched by later revisions.
    assert ledger0.revision == 0
    assert ledger0.facts == facts0
    assert ledger1.revision == 1
    assert ledger1.revisions[0].plan == plan0


@pytest.mark.parametrize(
    ("obj", "attr", "value"),
    [
        (Facts(), "given", ["x"]),
        (PlanStep(owner="a", action="b"), "owner", "c"),
        (make_plan(("a", "b")), "steps", []),
        (TaskLedger(task="t", facts=Facts(), plan=make_plan(("a", "b"))), "task", "u"),
        (
            Revision(number=0, round=1, reason="r", facts=Facts(), plan=make_plan(("a", "b"))),
            "reason",
            "s",
        ),
        (Judgement(reason="r", answer=True), "answer", False),
        (Choice(reason="r", answer="web"), "answer", "coder"),
        (make_ledger(), "in_loop", Judgement(reason="r", answer=True)),
        (Limits(), "max_rounds", 5),
        (Spent(), "rounds", 5),
        (StallState(), "count", 5),
        (StallRules(), "window", 2),
        (turn(), "speaker", "other"),
        (entry(1), "text", "changed"),
        (ContextRules(), "progress_share", 0.5),
    ],
)
def test_models_are_frozen(obj: Any, attr: str, value: Any) -> None:
    before = getattr(obj, attr)
    with pytest.raises(ValidationError, match="frozen"):
        setattr(obj, attr, value)
    assert getattr(obj, attr) == before


# --------------------------------------------------------------------------- progress ledger


def test_progress_ledger_parses_from_dict_and_json() -> None:
    from_dict = ProgressLedger.model_validate(PROGRESS_LEDGER_DICT)
    from_json = ProgressLedger.model_validate_json(json.dumps(PROGRESS_LEDGER_DICT))
    assert from_dict == from_json
    assert from_dict.request_satisfied == Judgement(reason="not yet", answer=False)
    assert from_dict.progress_made.answer is True
    assert from_dict.next_speaker.answer == "coder"
    assert from_dict.instruction.answer == "Sum the column 'pop'."
    assert from_dict.model_dump(exclude={"new_facts"}) == PROGRESS_LEDGER_DICT
    assert from_dict.new_facts == ()


@pytest.mark.parametrize("missing", list(PROGRESS_LEDGER_DICT))  # new_facts may be left out
def test_progress_ledger_requires_every_judgement(missing: str) -> None:
    data = {k: v for k, v in PROGRESS_LEDGER_DICT.items() if k != missing}
    with pytest.raises(ValidationError, match=missing):
        ProgressLedger.model_validate(data)


def test_progress_ledger_judgement_needs_a_reason() -> None:
    data = {**PROGRESS_LEDGER_DICT, "in_loop": {"answer": False}}
    with pytest.raises(ValidationError, match="reason"):
        ProgressLedger.model_validate(data)


def test_progress_ledger_render() -> None:
    ledger = ProgressLedger.model_validate(PROGRESS_LEDGER_DICT)
    assert ledger.render() == (
        "satisfied: no (not yet)\n"
        "in loop: no (new pages each time)\n"
        "progress: yes (found the population table)\n"
        "next: coder (needs arithmetic)\n"
        "instruction: Sum the column 'pop'."
    )
    flipped = make_ledger(satisfied=True, in_loop=True, progress=False)
    lines = flipped.render().splitlines()
    assert lines[0] == "satisfied: yes (satisfied-reason)"
    assert lines[1] == "in loop: yes (loop-reason)"
    assert lines[2] == "progress: no (progress-reason)"


# --------------------------------------------------------------------------- budgets

NO_LIMITS = Limits(max_rounds=1_000_000, max_seconds=None, max_tokens=None, max_cost_usd=None)


def test_nothing_exceeded_returns_none() -> None:
    assert exceeded(Limits(), Spent()) is None
    assert (
        exceeded(NO_LIMITS, Spent(rounds=999_999, seconds=1e9, tokens=10**12, cost_usd=1e6)) is None
    )


def test_limit_defaults() -> None:
    limits = Limits()
    assert (limits.max_rounds, limits.max_stalls, limits.max_replans) == (20, 3, 3)
    assert limits.max_seconds == 1800
    assert limits.max_tokens is None
    assert limits.max_cost_usd is None


def test_max_rounds() -> None:
    limits = NO_LIMITS.model_copy(update={"max_rounds": 20})
    assert exceeded(limits, Spent(rounds=19)) is None
    assert exceeded(limits, Spent(rounds=20)) == (
        StopReason.MAX_ROUNDS,
        "reached the limit of 20 rounds",
    )
    result = exceeded(limits, Spent(rounds=25))
    assert result is not None
    assert result[0] is StopReason.MAX_ROUNDS


def test_timeout() -> None:
    limits = NO_LIMITS.model_copy(update={"max_seconds": 1800.0})
    assert exceeded(limits, Spent(seconds=1799.9)) is None
    assert exceeded(limits, Spent(seconds=1800.0)) == (
        StopReason.TIMEOUT,
        "ran for 1800.0s, limit 1800s",
    )
    assert exceeded(limits, Spent(seconds=2000.26)) == (
        StopReason.TIMEOUT,
        "ran for 2000.3s, limit 1800s",
    )
    fractional = NO_LIMITS.model_copy(update={"max_seconds": 90.5})
    assert exceeded(fractional, Spent(seconds=91)) == (
        StopReason.TIMEOUT,
        "ran for 91.0s, limit 90.5s",
    )


def test_token_budget() -> None:
    limits = NO_LIMITS.model_copy(update={"max_tokens": 1_000_000})
    assert exceeded(limits, Spent(tokens=999_999)) is None
    assert exceeded(limits, Spent(tokens=1_000_000)) == (
        StopReason.TOKEN_BUDGET,
        "used 1,000,000 tokens, budget 1,000,000",
    )
    assert exceeded(limits, Spent(tokens=1_234_567)) == (
        StopReason.TOKEN_BUDGET,
        "used 1,234,567 tokens, budget 1,000,000",
    )


def test_cost_budget() -> None:
    limits = NO_LIMITS.model_copy(update={"max_cost_usd": 2.0})
    assert exceeded(limits, Spent(cost_usd=1.9999)) is None
    assert exceeded(limits, Spent(cost_usd=2.0)) == (
        StopReason.COST_BUDGET,
        "spent $2.0000, budget $2.0000",
    )
    assert exceeded(limits, Spent(cost_usd=2.12345)) == (
        StopReason.COST_BUDGET,
        "spent $2.1235, budget $2.0000",
    )


def test_none_limits_never_trigger() -> None:
    limits = Limits(max_rounds=10, max_seconds=None, max_tokens=None, max_cost_usd=None)
    huge = Spent(rounds=9, replans=100, seconds=1e12, tokens=10**15, cost_usd=1e9)
    assert exceeded(limits, huge) is None


@pytest.mark.parametrize(
    ("spent", "expected"),
    [
        (Spent(rounds=5, seconds=100, tokens=1000, cost_usd=1.0), StopReason.MAX_ROUNDS),
        (Spent(rounds=4, seconds=100, tokens=1000, cost_usd=1.0), StopReason.TIMEOUT),
        (Spent(rounds=4, seconds=99, tokens=1000, cost_usd=1.0), StopReason.TOKEN_BUDGET),
        (Spent(rounds=4, seconds=99, tokens=999, cost_usd=1.0), StopReason.COST_BUDGET),
        (Spent(rounds=4, seconds=99, tokens=999, cost_usd=0.99), None),
    ],
)
def test_precedence_when_several_are_exceeded(spent: Spent, expected: StopReason | None) -> None:
    limits = Limits(max_rounds=5, max_seconds=100, max_tokens=1000, max_cost_usd=1.0)
    result = exceeded(limits, spent)
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert result[0] is expected


@pytest.mark.parametrize(
    "data",
    [
        {"max_rounds": 0},
        {"max_stalls": 0},
        {"max_replans": -1},
        {"max_seconds": 0},
        {"max_tokens": 0},
        {"max_cost_usd": 0},
    ],
)
def test_limits_reject_nonsensical_values(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Limits.model_validate(data)


# --------------------------------------------------------------------------- stall: evidence


def signs(verdict: stall.StallVerdict) -> tuple[str, ...]:
    """Code evidence, whether it made the round a stall or stayed a hint."""
    return verdict.reasons + verdict.hints


def test_evidence_with_a_word_for_word_repeated_reply_is_a_stall() -> None:
    prior = state_with(turn("web", "open X", "page#1"), turn("web", "open Y", "page#1"))
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="web", instruction="open X"))
    assert verdict.stalled
    assert verdict.reasons == (
        "the same instruction was already given to web",
        "web returned an observation identical to an earlier one",
        "web's reply repeats an earlier one word for word",
    )


def test_evidence_never_stalls_a_model_reporting_progress_with_new_replies() -> None:
    # Different questions about the same page: same observation, different answers.
    prior = state_with(
        turn("web", "what is the title?", "page#1", reply="The title is A."),
        turn("web", "what is the date?", "page#1", reply="The date is 2024-01-02."),
    )
    state, verdict = stall.judge(
        prior, StallRules(), make_ledger(speaker="web", instruction="what is the title?")
    )
    assert not verdict.stalled
    assert verdict.hints == (
        "the same instruction was already given to web",
        "web returned an observation identical to an earlier one",
    )
    assert state.count == 0


def test_fresh_state_and_progress_is_not_a_stall() -> None:
    state, verdict = stall.judge(StallState(), StallRules(), make_ledger())
    assert verdict.stalled is False
    assert signs(verdict) == ()
    assert state.count == 0


def test_repeated_instruction_to_same_speaker() -> None:
    prior = state_with(turn("web", "search for X"))
    _, verdict = stall.judge(
        prior, StallRules(), make_ledger(speaker="web", instruction="search for X")
    )
    assert not verdict.stalled  # a hint for the model, not a verdict
    assert verdict.hints == ("the same instruction was already given to web",)


@pytest.mark.parametrize(
    "variant",
    ["  Search   for X ", "SEARCH FOR X", "search\tfor\nx", "\nsearch for x\n"],
)
def test_repeated_instruction_ignores_whitespace_and_case(variant: str) -> None:
    prior = state_with(turn("web", "search for X"))
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="web", instruction=variant))
    assert signs(verdict) == ("the same instruction was already given to web",)


def test_same_instruction_to_a_different_speaker_is_not_repetition() -> None:
    prior = state_with(turn("web", "search for X"))
    _, verdict = stall.judge(
        prior, StallRules(), make_ledger(speaker="coder", instruction="search for X")
    )
    assert not signs(verdict)


def test_different_instruction_to_same_speaker_is_not_repetition() -> None:
    prior = state_with(turn("web", "search for X"))
    _, verdict = stall.judge(
        prior, StallRules(), make_ledger(speaker="web", instruction="search for Y")
    )
    assert not signs(verdict)


def test_repeated_instruction_found_anywhere_in_recent() -> None:
    prior = state_with(turn("web", "a", "o1"), turn("coder", "b", "o2"), turn("file", "c", "o3"))
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="web", instruction="A"))
    assert signs(verdict) == ("the same instruction was already given to web",)


def test_identical_observation_from_same_speaker() -> None:
    prior = state_with(
        turn("web", "a", "page#1", reply="first"), turn("web", "b", "page#1", reply="second")
    )
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="coder", instruction="new"))
    assert verdict.hints == ("web returned an observation identical to an earlier one",)


def test_identical_observation_from_a_different_speaker_is_not_evidence() -> None:
    prior = state_with(turn("web", "a", "same"), turn("coder", "b", "same"))
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="file", instruction="new"))
    assert not signs(verdict)


def test_identical_observation_only_checks_the_latest_turn() -> None:
    # web repeated itself earlier, but the latest turn (coder) is new: no evidence now.
    prior = state_with(turn("web", "a", "same"), turn("web", "b", "same"), turn("coder", "c", "x"))
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="file", instruction="new"))
    assert not signs(verdict)


def test_observation_comparison_is_exact() -> None:
    prior = state_with(turn("web", "a", "page#1"), turn("web", "b", "Page#1"))
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="coder", instruction="new"))
    assert not signs(verdict)


def test_same_error_again() -> None:
    prior = state_with(
        turn("web", "a", "o1", error="TimeoutError: page"),
        turn("coder", "b", "o2", error="TimeoutError: page"),
    )
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="file", instruction="new"))
    assert signs(verdict) == ("the same error came back again: TimeoutError: page",)


def test_same_error_reason_is_capped() -> None:
    long_error = "E" * 500
    prior = state_with(
        turn("web", "a", "o1", error=long_error), turn("web", "b", "o2", error=long_error)
    )
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="file", instruction="new"))
    assert signs(verdict) == ("the same error came back again: " + "E" * 200,)


def test_different_errors_are_not_evidence() -> None:
    prior = state_with(
        turn("web", "a", "o1", error="TimeoutError"), turn("web", "b", "o2", error="HTTP 404")
    )
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="file", instruction="new"))
    assert not signs(verdict)


def test_no_error_after_an_error_is_not_evidence() -> None:
    prior = state_with(
        turn("web", "a", "o1", error=None),
        turn("web", "b", "o2", error=None),
        turn("coder", "c", "o3", error="boom"),
        turn("coder", "d", "o4", error=None),
    )
    _, verdict = stall.judge(prior, StallRules(), make_ledger(speaker="file", instruction="new"))
    assert not signs(verdict)


def test_evidence_only_looks_at_the_given_recent_turns() -> None:
    # The state's `recent` IS the window; something dropped from it is forgotten.
    rules = StallRules(window=2)
    state = StallState()
    for t in [turn("web", "a", "o1"), turn("coder", "b", "o2"), turn("file", "c", "o3")]:
        state = stall.record(state, rules, t)
    _, verdict = stall.judge(state, rules, make_ledger(speaker="web", instruction="a"))
    assert not signs(verdict)
    _, verdict = stall.judge(state, rules, make_ledger(speaker="coder", instruction="b"))
    assert signs(verdict) == ("the same instruction was already given to coder",)


def test_several_reasons_accumulate_in_order() -> None:
    prior = state_with(
        turn("web", "a", "same", error="boom"), turn("web", "b", "same", error="boom")
    )
    ledger = make_ledger(
        speaker="web",
        instruction="b",
        in_loop=True,
        progress=False,
        loop_reason="asked twice",
        progress_reason="nothing new",
    )
    _, verdict = stall.judge(prior, StallRules(), ledger)
    assert verdict.reasons == (
        "the orchestrator judged the team to be in a loop: asked twice",
        "the orchestrator saw no progress: nothing new",
        "the same instruction was already given to web",
        "web returned an observation identical to an earlier one",
        "the same error came back again: boom",
    )


# --------------------------------------------------------------------------- stall: verdicts


def test_model_says_in_loop() -> None:
    state, verdict = stall.judge(
        StallState(), StallRules(), make_ledger(in_loop=True, loop_reason="same page again")
    )
    assert verdict.stalled
    assert verdict.reasons == ("the orchestrator judged the team to be in a loop: same page again",)
    assert state.count == 1


def test_model_says_no_progress() -> None:
    state, verdict = stall.judge(
        StallState(), StallRules(), make_ledger(progress=False, progress_reason="still blocked")
    )
    assert verdict.stalled
    assert verdict.reasons == ("the orchestrator saw no progress: still blocked",)
    assert state.count == 1


def test_unusable_ledger_is_a_stall() -> None:
    state, verdict = stall.judge(
        StallState(count=1), StallRules(), None, unusable_reason="invalid JSON twice"
    )
    assert verdict.stalled
    assert verdict.reasons == ("no usable progress ledger: invalid JSON twice",)
    assert state.count == 2


def test_unusable_ledger_without_reason() -> None:
    _, verdict = stall.judge(StallState(), StallRules(), None)
    assert verdict.reasons == ("no usable progress ledger: unknown error",)


def test_judge_does_not_touch_recent_turns() -> None:
    prior = state_with(turn("web", "a", "o1"), count=2)
    state, _ = stall.judge(prior, StallRules(), make_ledger(speaker="web", progress=False))
    assert state.recent == prior.recent
    assert state.count == 3
    assert prior.count == 2  # the input state is not mutated


def test_progress_decrements_by_default() -> None:
    rules = StallRules()
    assert rules.on_progress == "decrement"
    state, verdict = stall.judge(StallState(count=3), rules, make_ledger())
    assert not verdict.stalled
    assert state.count == 2
    state, _ = stall.judge(state, rules, make_ledger())
    state, _ = stall.judge(state, rules, make_ledger())
    assert state.count == 0
    state, _ = stall.judge(state, rules, make_ledger())
    assert state.count == 0  # never below zero


def test_progress_resets_when_configured() -> None:
    rules = StallRules(on_progress="reset")
    state, verdict = stall.judge(StallState(count=5), rules, make_ledger())
    assert not verdict.stalled
    assert state.count == 0


def test_stalls_count_up_regardless_of_progress_rule() -> None:
    for on_progress in ("decrement", "reset"):
        rules = StallRules(on_progress=on_progress)
        state = StallState()
        for expected in (1, 2, 3):
            state, verdict = stall.judge(state, rules, make_ledger(progress=False))
            assert verdict.stalled
            assert state.count == expected


def test_stall_rules_validation() -> None:
    with pytest.raises(ValidationError):
        StallRules(window=0)
    with pytest.raises(ValidationError):
        StallRules.model_validate({"on_progress": "halve"})


def test_record_keeps_only_the_window() -> None:
    rules = StallRules(window=3)
    state = StallState(count=2)
    turns = [turn("web", f"i{n}", f"o{n}") for n in range(5)]
    for n, t in enumerate(turns, 1):
        state = stall.record(state, rules, t)
        assert len(state.recent) == min(n, 3)
        assert state.recent[-1] == t
    assert state.recent == tuple(turns[-3:])
    assert state.count == 2  # recording never touches the count


def test_record_with_window_one() -> None:
    rules = StallRules(window=1)
    state = stall.record(StallState(), rules, turn("web", "a"))
    state = stall.record(state, rules, turn("coder", "b"))
    assert state.recent == (turn("coder", "b"),)


def test_should_replan_threshold() -> None:
    assert not stall.should_replan(StallState(count=2), 3)
    assert stall.should_replan(StallState(count=3), 3)
    assert stall.should_replan(StallState(count=4), 3)
    assert not stall.should_replan(StallState(count=0), 1)
    assert stall.should_replan(StallState(count=1), 1)


def test_reset_clears_count_and_evidence() -> None:
    fresh = stall.reset()
    assert fresh == StallState()
    assert fresh.count == 0
    assert fresh.recent == ()
    _, verdict = stall.judge(fresh, StallRules(), make_ledger(speaker="web", instruction="a"))
    assert not verdict.stalled


def test_replan_cycle_end_to_end() -> None:
    rules, max_stalls = StallRules(), 2
    state = stall.record(StallState(), rules, turn("web", "search X", "page-1"))
    state, v1 = stall.judge(state, rules, make_ledger(speaker="web", instruction="search X"))
    assert not v1.stalled  # asked again, but nothing came back twice yet: a hint
    state, v1 = stall.judge(state, rules, make_ledger(progress=False))
    assert v1.stalled
    assert not stall.should_replan(state, max_stalls)
    state = stall.record(state, rules, turn("web", "search X", "page-1"))
    state, v2 = stall.judge(state, rules, make_ledger(speaker="web", instruction="Search X"))
    assert v2.stalled  # the same reply word for word: the evidence counts now
    assert len(v2.reasons) == 3
    assert stall.should_replan(state, max_stalls)
    state = stall.reset()
    state, v3 = stall.judge(state, rules, make_ledger(speaker="web", instruction="search X"))
    assert not v3.stalled
    assert not stall.should_replan(state, max_stalls)


# --------------------------------------------------------------------------- transcript

CHARS = transcript.estimate(1.0)  # one token a character: budgets read as lengths


def test_empty_transcript() -> None:
    assert transcript.render([], 1000, CHARS) == "(nothing has happened yet)"


def test_entry_heading() -> None:
    assert entry(3, speaker="orchestrator", to="web").heading() == "[round 3] orchestrator -> web"
    assert entry(4, speaker="web").heading() == "[round 4] web"


def test_everything_that_fits_goes_in_full() -> None:
    entries = [entry(1, "hello", speaker="orchestrator", to="web"), entry(1, "hi\nthere")]
    assert transcript.render(entries, 1000, CHARS) == (
        "[round 1] orchestrator -> web:\nhello\n[round 1] web:\nhi\nthere"
    )
    long = [entry(i, "x" * 3000) for i in range(1, 31)]  # 90k characters
    assert transcript.render(long, 100_000, CHARS).count("x" * 3000) == 30


def test_truncate_marker_text_and_counts() -> None:
    assert transcript.truncate("abcdef", 6) == "abcdef"
    assert transcript.truncate("abcdefg", 6) == "abcdef\n[... truncated: 1 more characters]"
    assert transcript.truncate("x" * 5000, 1000, "ask again") == (
        "x" * 1000 + "\n[... truncated: 4,000 more characters; ask again]"
    )


def test_over_budget_the_oldest_are_compacted_first_into_digests() -> None:
    entries = [entry(i, f"message {i} " + "w" * 400) for i in range(1, 11)]
    rendered = transcript.render(entries, 2500, CHARS, digest_chars=40)
    assert len(rendered) <= 2500
    lines = rendered.split("\n")
    assert lines[0] == "Earlier messages, one line each:"
    digests = [ln for ln in lines if ln.startswith("- [round")]
    full = [i for i in range(1, 11) if f"[round {i}] web:\nmessage {i} " in rendered]
    assert digests, "something was compacted"
    assert full == list(range(11 - len(full), 11)), "the newest stay in full"
    assert len(digests) + len(full) == 10, "nothing dropped while digests fit"
    assert all(len(d.removeprefix(d.split(": ", 1)[0] + ": ")) <= 40 for d in digests)
    assert "Most recent messages:" in lines


def test_when_even_digests_overflow_the_oldest_are_counted() -> None:
    entries = [entry(i, f"message {i} " + "w" * 400) for i in range(1, 201)]
    rendered = transcript.render(entries, 3000, CHARS, digest_chars=40)
    assert len(rendered) <= 3000
    omitted = int(rendered.split(" earlier messages omitted")[0].lstrip("("))
    shown = rendered.count("[round ")
    assert omitted + shown == 200
    assert rendered.rstrip().endswith("w" * 400)  # the newest in full


def test_a_single_message_larger_than_the_budget_is_cut_with_a_marker() -> None:
    rendered = transcript.render([entry(1, "b" * 50_000)], 2000, CHARS)
    assert "[... truncated:" in rendered
    assert "ask the specialist for the rest if needed" in rendered
    assert len(rendered) < 2200


def test_context_rules_leave_room_for_the_reply() -> None:
    rules = ContextRules()
    assert rules.usable(32_768) == 32_768 - 2048
    assert rules.usable(4096) == 4096 - 1024  # at most a quarter is reserved
    for bad in ({"progress_share": 0}, {"notes_share": 1.5}, {"digest_chars": 10}):
        with pytest.raises(ValidationError):
            ContextRules.model_validate(bad)
