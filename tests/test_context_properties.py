"""Properties of the context builder: findings are never dropped, prompts stay within
their budgets, and a specialist's notes carry what the team found."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgers import ContextRules, Entry, Facts, Finding, Plan, PlanStep, TaskLedger, transcript
from orchestrator.context import ContextBuilder, Reader
from orchestrator.state import RunState, TeamMember
from specialists.models.protocol import Capabilities

# Long generated replies make Hypothesis warn that their repr is large (it builds one for
# its reports); that warning says nothing about the property, so it must not fail it.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

TEAM = [TeamMember(name=n, description=f"{n} does things") for n in ("web", "coder")]
fact_st = st.text(
    alphabet=st.characters(categories=("L", "N"), max_codepoint=0x2FF), min_size=3, max_size=80
)
reply_st = st.builds(
    lambda chunk, n: chunk * n, st.text(min_size=1, max_size=8), st.integers(0, 3000)
)


def state_with(findings: list[str], replies: list[str]) -> RunState:
    ledger = TaskLedger(
        task="Weigh every crate.",
        facts=Facts(given=("crates exist",)),
        plan=Plan(steps=(PlanStep(owner="web", action="look"),)),
        findings=tuple(Finding(fact=f, source="web", round=i) for i, f in enumerate(findings)),
    )
    entries = []
    for i, text in enumerate(replies, 1):
        entries.append(
            Entry(round=i, speaker="orchestrator", kind="instruction", text="go", to="web")
        )
        entries.append(Entry(round=i, speaker="web", kind="reply", text=text))
    return RunState(
        run_id="r",
        task=ledger.task,
        team=TEAM,
        ledger=ledger,
        transcript=entries,
        rounds=len(replies),
    )


def builder(context: int) -> ContextBuilder:
    reader = Reader(Capabilities(context_tokens=context), transcript.estimate(3.5))
    return ContextBuilder(rules=ContextRules(), orchestrator=reader, specialists={"coder": reader})


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(
    findings=st.lists(fact_st, max_size=40, unique_by=lambda f: f.lower()),
    replies=st.lists(reply_st, max_size=60),
    context=st.sampled_from([4096, 8192, 32_768]),
)
def test_every_finding_reaches_the_final_prompt_and_the_notes(
    findings: list[str], replies: list[str], context: int
) -> None:
    state = state_with(findings, replies)
    b = builder(context)
    final = b.final(state, "done")[1].content
    notes = b.notes(state, "coder")
    progress = b.progress(state, [])[1].content
    for f in state.ledger.findings if state.ledger else ():
        assert f.fact in final
        assert f.fact in notes
        assert f.fact in progress


@settings(max_examples=60)
@given(replies=st.lists(reply_st, max_size=80), context=st.sampled_from([8192, 32_768]))
def test_prompts_stay_within_their_budgets(replies: list[str], context: int) -> None:
    state = state_with([], replies)
    b = builder(context)
    count = transcript.estimate(3.5)
    usable = ContextRules().usable(context)
    slack = 128  # markers and headings

    def tokens(messages: Any) -> int:
        return sum(count(m.content) for m in messages)

    assert tokens(b.final(state, "done")) <= usable + slack
    assert tokens(b.progress(state, [])) <= max(int(usable * 0.25), 1500) + slack
    assert count(b.notes(state, "coder")) <= max(int(usable * 0.125), 1200) + slack
