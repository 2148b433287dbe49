"""The coder specialist: write code, run it, read the result, fix and rerun (bounded).

One step: the request (plus a listing of the workspace) goes to the model (purpose
`coder`); every runnable fenced block in its reply is run by the executor, each after
the approval policy agreed; the results go back to the model, marked untrusted; this
repeats until the model replies without code or `max_rounds` is reached. The Reply says
what was done, the result and the files produced. The conversation is kept across steps
(so follow-up requests can build on earlier work) and cleared by `reset()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledgers.budget import BudgetHit
from specialists import record
from specialists.base import ApprovalRequest, Reply, StepContext, budget_stop_note
from specialists.coder import blocks, prompts, report
from specialists.coder.blocks import Ran
from specialists.coder.executors.base import (
    CodeBlock,
    ExecLimits,
    ExecResult,
    Executor,
    ExecutorUnavailable,
)
from specialists.coder.settings import CoderSettings, build_executor
from specialists.models.protocol import Message, ModelClient, ModelError, ModelRequest
from specialists.state import MAX_STATE_CHARS, parse_state

PURPOSE = "coder"
ACTION = "run_code"  # how its code runs are named in the run's record
STATE_VERSION = 1
MAX_SAVED_MESSAGES = 400


class SavedMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_STATE_CHARS)


class CoderState(BaseModel):
    """The conversation in a checkpoint: the latest messages within `history_chars`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    messages: list[SavedMessage] = Field(default_factory=list, max_length=MAX_SAVED_MESSAGES)


DESCRIPTION = (
    "Writes and runs Python and shell code in a sandbox on the team's shared workspace, "
    "reads the output and errors, fixes and reruns. Use it to compute, convert, analyse or "
    "plot data and to process files other specialists downloaded; it returns the result and "
    "the files it wrote. It has no internet access and cannot browse; it does not see the "
    "screen, only the files in the workspace."
)


class Coder:
    name = "coder"
    description = DESCRIPTION

    def __init__(self, model: ModelClient, settings: CoderSettings) -> None:
        self._model = model
        self._settings = settings
        self._limits = settings.limits.to_limits()
        self._executor: Executor | None = None
        self._history: list[Message] = []

    async def step(self, instruction: str, context: StepContext) -> Reply:
        try:
            return await self._step(instruction, context)
        except ModelError as exc:
            return Reply(f"The coder's model failed: {exc}", error=f"model: {exc}")
        except ExecutorUnavailable as exc:
            return Reply(f"The code could not be run: {exc}", error=str(exc))

    async def reset(self) -> None:
        self._history.clear()

    async def close(self) -> None:
        if self._executor is not None:
            await self._executor.close()
            self._executor = None

    async def save_state(self) -> dict[str, Any]:
        recent = self._recent()[-MAX_SAVED_MESSAGES:]
        if not recent:
            return {}
        messages = [
            SavedMessage.model_validate({"role": m.role, "content": m.content})
            for m in recent
            if m.role in ("user", "assistant") and len(m.content) <= MAX_STATE_CHARS
        ]
        return CoderState(version=STATE_VERSION, messages=messages).model_dump()

    async def load_state(self, state: Mapping[str, Any]) -> list[str]:
        saved = parse_state(CoderState, state, STATE_VERSION)
        self._history = [Message(m.role, m.content) for m in saved.messages]
        self._history = self._recent()  # within this run's history budget
        return []

    # --- one step ------------------------------------------------------------------------

    async def _step(self, instruction: str, context: StepContext) -> Reply:
        executor = self._executor_for(context.run_id)
        await executor.start()
        if executor.warnings:
            context.notify(
                "executor_warning", {"executor": executor.name, "warnings": list(executor.warnings)}
            )
        request = await asyncio.to_thread(
            prompts.request, instruction, context.workspace, context.notes
        )
        self._history.append(Message.user(request))
        runs: list[Ran] = []
        max_rounds = self._settings.max_rounds
        for round_no in range(1, max_rounds + 1):
            if hit := context.check_budget():
                return self._over_budget(hit, runs, executor, context.workspace)
            text = await self._ask(executor)
            found = blocks.parse(text)
            if not found:
                return self._answer(text, runs, executor, context.workspace)
            ran, not_run, denied = await self._run_round(found, executor, context, round_no)
            runs += ran
            if denied is not None:
                self._history.append(Message.user("The code was not run: approval was denied."))
                return report.denied(denied, executor)
            shown = blocks.render_round(ran, not_run, round_no, max_rounds)
            record.observed(context, shown, after="run_code")
            self._history.append(Message.user(shown))
        return self._exhausted(runs, executor, context.workspace)

    async def _ask(self, executor: Executor) -> str:
        system = prompts.system(
            executor.name, self._limits, self._settings.allow_network, self._settings.max_rounds
        )
        messages = (Message.system(system), *self._recent())
        response = await self._model.complete(ModelRequest(PURPOSE, messages))
        text = response.content or ""
        self._history.append(Message.assistant(text))
        return text

    async def _run_round(
        self, found: Sequence[CodeBlock], executor: Executor, context: StepContext, round_no: int
    ) -> tuple[list[Ran], int, CodeBlock | None]:
        """Run the blocks in order, stopping at the first failure or denial; return what
        ran, how many blocks were not run, and the block that was denied, if one was."""
        ran: list[Ran] = []
        todo = found[: self._settings.max_blocks_per_round]
        dropped = len(found) - len(todo)
        if dropped:
            context.notify("code_blocks_dropped", {"given": len(found), "run_at_most": len(todo)})
            why = f"only {len(todo)} code block(s) are run per round; {dropped} were dropped"
            record.action_failed(context, ACTION, "not_run", why)
        for index, block in enumerate(todo, 1):
            if context.check_budget() is not None:  # the step ends at the next model call
                return ran, len(todo) - index + 1 + dropped, None
            if not await context.approve(self._approval(block, executor)):
                record.action_failed(context, ACTION, "refused", "approval denied", _shown(block))
                return ran, 0, block
            context.started(
                "code_run",
                {"language": block.language, "block": index, "waiting_for": "program running"},
            )
            result = await _run(executor, block, context.workspace, self._limits)
            ran.append(Ran(block, result))
            context.report(
                "code_run",
                report.event(executor, round_no, index, ran[-1]),
                {
                    "arguments": {"language": block.language, "code": block.source},
                    "result": {"stdout": result.stdout, "stderr": result.stderr},
                },
            )
            if not result.ok:
                why = f"{result.status()}: {(result.stderr or result.stdout).strip()[-500:]}"
                record.action_failed(context, ACTION, "failed", why, _shown(block))
                return ran, len(todo) - index + dropped, None
        return ran, dropped, None

    def _approval(self, block: CodeBlock, executor: Executor) -> ApprovalRequest:
        unsandboxed = executor.name == "local"
        return ApprovalRequest(
            specialist=self.name,
            action="run code",
            detail=f"{block.language} in the {executor.name} executor:\n{block.head()}",
            risky=self._settings.risky or unsandboxed,
        )

    def _executor_for(self, run_id: str) -> Executor:
        if self._executor is None:
            self._executor = build_executor(self._settings, run_id)
        return self._executor

    def _recent(self) -> list[Message]:
        """The latest messages within the history budget, starting at a request."""
        budget = self._settings.history_chars
        kept: list[Message] = []
        for message in reversed(self._history):
            budget -= len(message.content)
            if budget < 0 and kept:
                break
            kept.append(message)
        kept.reverse()
        while len(kept) > 1 and kept[0].role != "user":
            kept.pop(0)
        return kept

    # --- replies -------------------------------------------------------------------------

    def _answer(self, text: str, runs: list[Ran], executor: Executor, workspace: Path) -> Reply:
        body = text.strip() or "(the model gave no answer)"
        return report.reply(body, runs, executor, workspace, error=None)

    def _over_budget(
        self, hit: BudgetHit, runs: list[Ran], executor: Executor, workspace: Path
    ) -> Reply:
        body = budget_stop_note(hit)
        self._history.append(Message.user(f"(The step was stopped here: {hit.detail}.)"))
        return report.reply(body, runs, executor, workspace, error=None)

    def _exhausted(self, runs: list[Ran], executor: Executor, workspace: Path) -> Reply:
        last = runs[-1].result
        rounds = self._settings.max_rounds
        body = f"Stopped after {rounds} round(s) of code without a final answer."
        error = None if last.ok else f"the last code run failed ({last.status()})"
        return report.reply(body, runs, executor, workspace, error=error)


def _shown(block: CodeBlock) -> dict[str, str]:
    return {"language": block.language, "code": block.head()}


async def _run(
    executor: Executor, block: CodeBlock, workspace: Path, limits: ExecLimits
) -> ExecResult:
    try:
        return await executor.run(block, workspace, limits)
    except ExecutorUnavailable:
        raise
    except Exception as exc:  # the executor broke, not the code: the step ends with it
        raise ExecutorUnavailable(
            f"the {executor.name} executor failed: {type(exc).__name__}: {exc}"
        ) from exc
