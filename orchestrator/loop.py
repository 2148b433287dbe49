"""The round loop: facts → plan → (assess → delegate → observe)* → replan | answer.

One async loop, emitting events; the CLI, scenarios and evaluation all drive this same
loop. State lives in `RunState` and is checkpointed after every round, so the loop can be
resumed from any round boundary. Everything that can fail in a way the run can reason
about (a bad ledger, a specialist error, a limit) is handled here as data; only
cancellation and our own bugs propagate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from ledgers import (
    BudgetHit,
    Entry,
    Facts,
    FinalDraft,
    Plan,
    PlanDraft,
    PlanStep,
    ProgressLedger,
    ReplanDraft,
    StopReason,
    TaskLedger,
    Turn,
    decide_status,
    exceeded,
    exceeded_in_step,
    stall,
)
from orchestrator.config import Settings
from orchestrator.context import ContextBuilder
from orchestrator.events import (
    ActivityStarted,
    Delegated,
    EventBus,
    FactsGathered,
    FinalAnswer,
    LedgerUnusable,
    LimitReached,
    OutputInvalid,
    PlanMade,
    ProgressAssessed,
    Replanned,
    Replied,
    RoundStarted,
    RunFinished,
    StallDetected,
    TeamReset,
    from_activity,
)
from orchestrator.state import FinalResult, Phase, RunState, Stop
from specialists.base import Approve, NotifyContent, Reply, Specialist, StepContext
from specialists.models import structured
from specialists.models.protocol import Message, ModelClient, ModelError, StructuredOutputError

T = TypeVar("T", bound=BaseModel)

# While a step runs, the wall-clock deadline waits this much longer (at most the limit
# again): a step that checks its budget ends itself with a reply that is kept; only one
# that does not is cut off.
STEP_GRACE_SECONDS = 5.0


@dataclass
class Deps:
    """What the loop works with; built by `orchestrator.session`."""

    model: ModelClient
    team: Mapping[str, Specialist]
    bus: EventBus
    settings: Settings
    workspace: Path
    approve: Approve
    save: Callable[[RunState], Awaitable[None]]  # commits the round: the checkpoint
    # Records a delegation as under way before it starts (see orchestrator.durable).
    mark: Callable[[int, str, str], Awaitable[None]]  # (round, speaker, instruction)
    context: ContextBuilder  # what every model sees is assembled there
    screenshots: Path | None = None  # where replies' screenshots are kept (in the run dir)
    clock: Callable[[], float] = field(default=time.monotonic)
    # Set it to end the run early: the round in flight is abandoned and the run ends
    # through `_finish` like a limit (a best-guess answer, stop reason `cancelled`).
    cancel: asyncio.Event | None = None


class Conductor:
    def __init__(self, state: RunState, deps: Deps) -> None:
        self.state = state
        self.deps = deps
        self._limits = deps.settings.limits
        self._started = deps.clock()
        self._seconds_before = state.seconds
        self._deadline: asyncio.Timeout | None = None

    # --- the loop -------------------------------------------------------------------

    async def run(self) -> FinalResult:
        if self.state.phase is Phase.DONE and self.state.result is not None:
            return self.state.result
        if self.state.phase is Phase.FINISHING and self.state.stop is not None:
            return await self._finish(self.state.stop)
        return await self._finish(await self._drive_within_limits())

    async def _drive_within_limits(self) -> Stop:
        remaining = None
        if self._limits.max_seconds is not None:
            remaining = max(0.0, self._limits.max_seconds - self.state.seconds)
        try:
            async with asyncio.timeout(remaining) as deadline:
                self._deadline = deadline
                return await self._unless_cancelled()
        except TimeoutError:
            if not deadline.expired():
                raise
            self._tick()
            return self._limit(
                StopReason.TIMEOUT,
                f"ran for {self.state.seconds:.1f}s, limit {self._limits.max_seconds:g}s",
            )
        except ModelError as exc:  # retries exhausted or a non-retryable provider error
            return self._limit(StopReason.MODEL_UNAVAILABLE, str(exc))

    async def _unless_cancelled(self) -> Stop:
        cancel = self.deps.cancel
        if cancel is None:
            return await self._drive()
        if cancel.is_set():
            return self._cancelled()
        drive = asyncio.ensure_future(self._drive())
        waiter = asyncio.ensure_future(cancel.wait())
        try:
            await asyncio.wait({drive, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not drive.done():  # cancelled, or we are being cancelled ourselves
                drive.cancel()
                await asyncio.gather(drive, return_exceptions=True)
        if drive.cancelled():
            return self._cancelled()
        return drive.result()  # it ended (or raised) on its own first

    def _cancelled(self) -> Stop:
        self._tick()
        return self._limit(
            StopReason.CANCELLED, f"cancelled on request after round {self.state.rounds}"
        )

    async def _drive(self) -> Stop:
        if self.state.phase is Phase.PLANNING:
            await self._make_plan()
            self.state.phase = Phase.ROUNDS
            await self._save()
        if self._ledger().plan.direct:
            return Stop(
                reason=StopReason.SATISFIED,
                detail="answered directly: the task needs no team and no plan",
            )
        while True:
            self._tick()
            if hit := exceeded(self._limits, self.state.spent()):
                return self._limit(*hit)
            self.state.rounds += 1
            self.deps.bus.round = self.state.rounds
            self.deps.bus.emit(RoundStarted())
            stop = await self._round()
            await self._save()
            if stop is not None:
                return stop

    async def _round(self) -> Stop | None:
        ledger, problem = await self._assess()
        if ledger is not None:
            self.state.ledger = self._ledger().add_findings(ledger.new_facts, self.state.rounds)
        if ledger is not None and ledger.request_satisfied.answer:
            return Stop(reason=StopReason.SATISFIED, detail=ledger.request_satisfied.reason)
        rules = self.deps.settings.stall
        self.state.stall, verdict = stall.judge(
            self.state.stall, rules, ledger, unusable_reason=problem
        )
        if verdict.stalled:
            self.state.stalls_total += 1
            self.deps.bus.emit(
                StallDetected(
                    count=self.state.stall.count,
                    max_stalls=self._limits.max_stalls,
                    reasons=list(verdict.reasons),
                )
            )
        if stall.should_replan(self.state.stall, self._limits.max_stalls):
            if self.state.replans >= self._limits.max_replans:
                return self._limit(
                    StopReason.MAX_REPLANS,
                    f"still stalled after {self.state.replans} replan(s): {'; '.join(verdict.reasons)}",
                )
            await self._replan("; ".join(verdict.reasons))
            return None
        if ledger is not None:
            with self._step_grace():
                await self._delegate(ledger.next_speaker.answer, ledger.instruction.answer)
        return None

    # --- planning ---------------------------------------------------------------------

    async def _make_plan(self) -> None:
        context, state = self.deps.context, self.state
        facts = await self._structured("orchestrator.facts", context.facts(state), Facts)
        facts = facts or Facts()
        self.deps.bus.emit(FactsGathered(facts=facts))
        draft = await self._structured(
            "orchestrator.plan",
            context.plan(state, facts),
            PlanDraft,
            check=self._check_plan,
            enums={"PlanStep.owner": state.team_names()},
        )
        plan = draft.plan() if draft is not None else _no_plan()
        state.ledger = TaskLedger(task=state.task, facts=facts, plan=plan)
        self.deps.bus.emit(PlanMade(plan=plan, revision=0))

    async def _replan(self, reason: str) -> None:
        context, state = self.deps.context, self.state
        ledger = self._ledger()
        facts = await self._structured(
            "orchestrator.facts", context.revise_facts(state, reason), Facts
        )
        facts = facts or ledger.facts
        draft = await self._structured(
            "orchestrator.plan",
            context.revise_plan(state, facts, reason),
            ReplanDraft,
            check=self._check_plan,
            enums={"PlanStep.owner": state.team_names()},
        )
        plan = draft.plan() if draft is not None else ledger.plan.model_copy(update={"reset": ()})
        state.ledger = ledger.revise(facts=facts, plan=plan, reason=reason, round=state.rounds)
        state.replans += 1
        state.stall = stall.reset()
        self.deps.bus.emit(
            Replanned(reason=reason, revision=state.ledger.revision, facts=facts, plan=plan)
        )
        state.transcript.append(
            Entry(
                round=state.rounds,
                speaker="orchestrator",
                kind="note",
                text=f"Replanned because: {reason}\nNew plan:\n{plan.render()}",
            )
        )
        # Only what the new plan asks to reset starts fresh: an open document or page
        # that the next step builds on is kept.
        for name in plan.reset:
            await self.deps.team[name].reset()
        self.deps.bus.emit(TeamReset(members=list(plan.reset)))

    # --- one round ----------------------------------------------------------------------

    async def _assess(self) -> tuple[ProgressLedger | None, str | None]:
        hints = stall.signals(self.state.stall.recent)
        messages = self.deps.context.progress(self.state, hints)
        try:
            ledger = await structured.generate(
                self.deps.model,
                purpose="orchestrator.progress",
                messages=messages,
                schema=ProgressLedger,
                check=self._check_progress,
                on_invalid=self._on_invalid("orchestrator.progress"),
                # Grammar-constrained decoding can then only name a member of the team.
                enums={"Speaker.answer": self.state.team_names()},
            )
        except StructuredOutputError as exc:
            self.deps.bus.emit(LedgerUnusable(purpose=exc.purpose, error=exc.last_error))
            return None, exc.last_error
        self.state.last_progress = ledger
        self.deps.bus.emit(ProgressAssessed(ledger=ledger))
        return ledger, None

    async def _delegate(self, speaker: str, instruction: str) -> None:
        bus, state = self.deps.bus, self.state
        bus.emit(Delegated(speaker=speaker, instruction=instruction))
        notes = self.deps.context.notes(state, speaker)  # before this instruction joins
        state.transcript.append(
            Entry(
                round=state.rounds,
                speaker="orchestrator",
                kind="instruction",
                text=instruction,
                to=speaker,
            )
        )
        notify = self._notifier(speaker)
        context = StepContext(
            run_id=state.run_id,
            round=state.rounds,
            workspace=self.deps.workspace,
            history=tuple(state.transcript),
            approve=self.deps.approve,
            notify=lambda kind, data: notify(kind, data, {}),
            notes=notes,
            notify_content=notify,
            check_budget=self._budget_in_step,
            started=self._starter(speaker),
        )
        await self.deps.mark(state.rounds, speaker, instruction)
        started = self.deps.clock()
        try:
            reply = await self.deps.team[speaker].step(instruction, context)
        except Exception as exc:  # a specialist's failure is an observation, not a crash
            error = f"{type(exc).__name__}: {exc}"
            reply = Reply(f"{speaker} failed with an internal error: {error}", error=error)
        screenshot = await self._keep_screenshot(speaker, reply)
        bus.emit(
            Replied(
                speaker=speaker,
                text=reply.text,
                error=reply.error,
                files=[str(p) for p in reply.files],
                evidence=dict(reply.evidence),
                seconds=round(self.deps.clock() - started, 4),
                screenshot=screenshot,
            )
        )
        text = reply.text
        if reply.files:
            text += "\nFiles: " + ", ".join(str(p) for p in reply.files)
        state.transcript.append(Entry(round=state.rounds, speaker=speaker, kind="reply", text=text))
        turn = Turn(
            speaker=speaker,
            instruction=instruction,
            observation=reply.fingerprint(),
            error=reply.error,
            reply=stall.reply_digest(reply.text),
        )
        state.stall = stall.record(state.stall, self.deps.settings.stall, turn)

    async def _keep_screenshot(self, speaker: str, reply: Reply) -> str | None:
        """Keep a reply's latest image in the run dir (a vision orchestrator is shown it)."""
        folder = self.deps.screenshots
        if not reply.images or folder is None:
            return None
        image = reply.images[-1]
        suffix = ".jpg" if image.media_type == "image/jpeg" else ".png"
        path = folder / f"round-{self.state.rounds:03d}-{speaker}{suffix}"

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(image.data)

        await asyncio.to_thread(write)
        self.state.last_screenshot = str(path.relative_to(folder.parent))
        return self.state.last_screenshot

    # --- the end ------------------------------------------------------------------------

    async def _finish(self, stop: Stop) -> FinalResult:
        state = self.state
        state.stop = stop
        state.phase = Phase.FINISHING
        await self._save()
        draft: FinalDraft | None = None
        note = _stop_note(stop)
        if state.ledger is not None:
            try:
                async with asyncio.timeout(self.deps.settings.final_answer_seconds):
                    draft = await self._structured(
                        "orchestrator.final", self.deps.context.final(state, note), FinalDraft
                    )
            except (ModelError, TimeoutError) as exc:
                stop = Stop(reason=stop.reason, detail=f"{stop.detail}; final answer failed: {exc}")
        self._tick()
        status = decide_status(stop.reason, draft)
        result = FinalResult(
            run_id=state.run_id,
            task=state.task,
            status=status,
            answer=draft.answer if draft else "",
            evidence=list(draft.evidence) if draft else [],
            stop_reason=stop.reason,
            stop_detail=stop.detail,
            rounds=state.rounds,
            stalls=state.stalls_total,
            replans=state.replans,
            tokens=state.meter.tokens,
            cost_usd=round(state.meter.cost_usd, 6),
            seconds=round(state.seconds, 3),
            usage=dict(state.meter.roles),
        )
        self.deps.bus.emit(
            FinalAnswer(
                status=status,
                answer=result.answer,
                evidence=result.evidence,
                stop_reason=stop.reason,
            )
        )
        state.result = result
        state.phase = Phase.DONE
        await self._save()
        self.deps.bus.emit(
            RunFinished(
                status=status,
                stop_reason=stop.reason,
                detail=stop.detail,
                rounds=result.rounds,
                stalls=result.stalls,
                replans=result.replans,
                tokens=result.tokens,
                cost_usd=result.cost_usd,
                seconds=result.seconds,
            )
        )
        return result

    # --- helpers ------------------------------------------------------------------------

    async def _structured(
        self,
        purpose: str,
        messages: list[Message],
        schema: type[T],
        check: Callable[[T], None] | None = None,
        enums: Mapping[str, Sequence[str]] | None = None,
    ) -> T | None:
        """A structured reply, or None (with an event) if the model never produced one."""
        try:
            return await structured.generate(
                self.deps.model,
                purpose=purpose,
                messages=messages,
                schema=schema,
                check=check,
                on_invalid=self._on_invalid(purpose),
                enums=enums,
            )
        except StructuredOutputError as exc:
            self.deps.bus.emit(LedgerUnusable(purpose=purpose, error=exc.last_error))
            return None

    def _on_invalid(self, purpose: str) -> Callable[[int, str], None]:
        def emit(attempt: int, error: str) -> None:
            self.deps.bus.emit(OutputInvalid(purpose=purpose, attempt=attempt, error=error))

        return emit

    def _notifier(self, speaker: str) -> NotifyContent:
        bus = self.deps.bus

        def notify(kind: str, data: Mapping[str, Any], content: Mapping[str, Any]) -> None:
            kept = dict(content) if content and bus.wants_content else None  # else not held
            bus.emit(from_activity(speaker, kind, data, kept))

        return notify

    def _starter(self, speaker: str) -> Callable[[str, Mapping[str, Any]], None]:
        def started(kind: str, data: Mapping[str, Any]) -> None:
            self.deps.bus.emit(ActivityStarted(speaker=speaker, kind=kind, data=dict(data)))

        return started

    def _check_plan(self, plan: PlanDraft | ReplanDraft) -> None:
        names = self.state.team_names()
        unknown = sorted({s.owner for s in plan.steps} - set(names))
        if unknown:
            raise ValueError(
                f"unknown step owner(s) {', '.join(map(repr, unknown))}; "
                f"the team is: {', '.join(names)}"
            )
        if isinstance(plan, ReplanDraft) and (bad := sorted(set(plan.reset) - set(names))):
            raise ValueError(
                f"reset names {', '.join(map(repr, bad))}, not on the team; "
                f"the team is: {', '.join(names)}"
            )

    def _check_progress(self, ledger: ProgressLedger) -> None:
        if ledger.request_satisfied.answer:
            return
        names = self.state.team_names()
        if ledger.next_speaker.answer not in names:
            raise ValueError(
                f"unknown speaker {ledger.next_speaker.answer!r}; the team is: {', '.join(names)}"
            )
        if not ledger.instruction.answer.strip():
            raise ValueError("instruction.answer is empty; say exactly what the speaker should do")

    def _ledger(self) -> TaskLedger:
        if self.state.ledger is None:
            raise RuntimeError("the task ledger is missing after planning")
        return self.state.ledger

    def _limit(self, reason: StopReason, detail: str) -> Stop:
        self.deps.bus.emit(LimitReached(reason=reason, detail=detail))
        return Stop(reason=reason, detail=detail)

    def _budget_in_step(self) -> BudgetHit | None:
        """The run's wall-clock, token and cost budgets, for a specialist mid-step."""
        self._tick()
        return exceeded_in_step(self._limits, self.state.spent())

    @contextlib.contextmanager
    def _step_grace(self) -> Iterator[None]:
        """The wall-clock deadline moved `STEP_GRACE_SECONDS` later for one delegation."""
        deadline, limit = self._deadline, self._limits.max_seconds
        when = deadline.when() if deadline is not None else None
        if deadline is None or when is None or limit is None:
            yield
            return
        deadline.reschedule(when + min(STEP_GRACE_SECONDS, limit))
        try:
            yield
        finally:
            # Past the limit already, the extended deadline stays: the round is saved and
            # the next round's budget check stops the run, rather than a timeout firing in
            # the middle of writing the checkpoint.
            if not deadline.expired() and when > asyncio.get_running_loop().time():
                deadline.reschedule(when)

    def _tick(self) -> None:
        self.state.seconds = self._seconds_before + (self.deps.clock() - self._started)

    async def _save(self) -> None:
        self._tick()
        await self.deps.save(self.state)


def _no_plan() -> Plan:
    return Plan(
        steps=[
            PlanStep(
                owner="orchestrator",
                action="No plan could be made; direct the team one step at a time.",
            )
        ]
    )


def _stop_note(stop: Stop) -> str:
    if stop.reason is StopReason.SATISFIED:
        return f"The task has been judged complete: {stop.detail}"
    return (
        f"The run stopped before the task was known to be complete ({stop.reason.value}: "
        f"{stop.detail}). Give the best answer the conversation supports and be honest "
        "about its confidence."
    )
