"""The web surfer: one orchestrator instruction → a bounded run of browser actions.

The model (purpose `web_surfer`) sees the instruction and the current observation and
answers with tool calls; we run them, a bounded number per step, until it calls `done`.
A model without tool support picks one action per turn through the structured-output
ladder instead. A vision model gets set-of-marks screenshots; a text-only model never
gets an image. The browser starts on the first step and lives until `close()`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from pydantic import BaseModel, ConfigDict

from specialists import record
from specialists.base import Reply, Specialist, StepContext, TeamEnv, budget_stop_note
from specialists.models import structured
from specialists.models.protocol import (
    Message,
    ModelClient,
    ModelError,
    ModelRequest,
    RecordsContent,
    ToolCall,
)
from specialists.web_surfer import prompts
from specialists.web_surfer.actions import (
    DONE,
    BadCall,
    Outcome,
    parse,
    perform,
    rejected,
    tool_specs,
    unrun_arguments,
)
from specialists.web_surfer.discovery import BrowserUnavailable
from specialists.web_surfer.documents import FileIntake
from specialists.web_surfer.driver import Driver
from specialists.web_surfer.observe import Observation
from specialists.web_surfer.redaction import recorded_message
from specialists.web_surfer.reply import build_reply
from specialists.web_surfer.search_box import SearchBox, SearchFactory, index_file_roots
from specialists.web_surfer.settings import WebSurferSettings, load_settings
from specialists.web_surfer.tabs_state import restore_tabs, save_tabs
from specialists.web_surfer.toolbox import NAME, ActionEnv, DoneArgs

PURPOSE = "web_surfer"
DESCRIPTION = (
    "Browses the web in a real Chromium browser: searches, opens URLs, clicks, types and "
    "submits forms, selects options, scrolls, follows new tabs and popups, reads pages as "
    "paged markdown, answers questions about a page, and saves downloads and PDFs into the "
    "shared workspace (it reports their paths, so file_surfer and coder can open them). "
    "Give it one concrete browsing goal per instruction, with the URL if you know it. It "
    "cannot run code, solve CAPTCHAs or log in without credentials; submitting forms, "
    "uploading and downloading may need approval."
)


class OneAction(BaseModel):
    """One action, for models without tool calls."""

    model_config = ConfigDict(extra="forbid")

    action: str
    arguments: dict[str, Any]


class WebSurfer:
    name = NAME
    description = DESCRIPTION

    def __init__(
        self,
        env: TeamEnv,
        settings: WebSurferSettings,
        *,
        search_factory: SearchFactory | None = None,
        environ: Mapping[str, str] | None = None,
        driver: Driver | None = None,
    ) -> None:
        """`driver`: a browser that is already running, shared with others (tests and
        benchmarks do this); it is then left open by `close()`."""
        self._model = env.model
        self.settings = settings
        self._owns_driver = driver is None
        self.driver = driver or Driver(settings, headless=env.headless)
        model: object = env.model
        if isinstance(model, RecordsContent):  # a trace records no typed secret
            model.filter_recorded(lambda message: recorded_message(message, self.driver.secrets))
        self._search = SearchBox(
            settings.search,
            self._open_search_page,
            os.environ if environ is None else environ,
            factory=search_factory,
        )
        # The results of a folder's index are file:// URLs: opening them is the point.
        self.driver.policy.allow_files_under(index_file_roots(settings.search))

    @property
    def _vision(self) -> bool:
        return bool(self._model and self._model.capabilities.vision and self.settings.screenshots)

    async def step(self, instruction: str, context: StepContext) -> Reply:
        if self._model is None:
            return Reply("The web surfer has no model configured.", error="no model for web_surfer")
        try:
            restarted = await self.driver.ensure()
        except BrowserUnavailable as exc:
            return Reply(f"The browser could not be started: {exc}", error=str(exc))
        intake = FileIntake(self.driver, context.workspace, context.approve, self.name)
        env = ActionEnv(self.driver, context, intake, self._model, self._search.run)
        if restarted:
            env.restarts.append(restarted)
            context.notify("browser_restarted", {"reason": restarted})
        first = await self._observe_first(env, restarted)
        if first is not None:
            record.observed(context, self.driver.secrets.redact(first.record()))
        try:
            log = await self._loop(env, instruction, first, context.notes)
        except (ModelError, PlaywrightError, BrowserUnavailable) as exc:
            error = f"{type(exc).__name__}: {exc}"
            return Reply(f"The web surfer stopped: {error}", error=error, files=_paths(intake))
        return build_reply(log, first, env, self._vision)

    async def _observe_first(self, env: ActionEnv, restarted: str | None) -> Observation | None:
        notes = ([restarted] if restarted else []) + self.driver.tabs.take_notes()
        try:
            notes += await env.intake.absorb()
            return await self.driver.observe(marks=self._vision, notes=notes)
        except PlaywrightError:
            return None

    async def _loop(
        self, env: ActionEnv, instruction: str, first: Observation | None, notes: str
    ) -> prompts.StepLog:
        log = prompts.StepLog()
        limit = self.settings.max_actions_per_step
        system = Message.system(prompts.system_prompt(limit, self._tools))
        while log.reply is None and log.performed < limit:
            if _over_budget(env, log):
                break
            # Only the newest screenshot is sent: the first one only until there is another.
            opening = prompts.first_message(
                instruction, first, self._vision and not log.turns, notes
            )
            calls, content = await self._next_calls(env, [system, opening], log.turns)
            if not calls:
                log.reply = content.strip() or "(the model ended the step without a reply)"
                break
            outcomes = [await self._run_call(env, call, log) for call in calls]
            log.turns.append(prompts.Turn(tuple(calls), tuple(outcomes), content))
        if log.reply is None and not _over_budget(env, log):
            # Out of actions: one last turn to report what it has.
            opening = prompts.first_message(instruction, first, False, notes)
            log.reply = await self._wrap_up(env, [system, opening], log)
        return log

    async def _wrap_up(
        self, env: ActionEnv, opening: list[Message], log: prompts.StepLog
    ) -> str | None:
        note = Message.user(prompts.wrap_up_note(self.settings.max_actions_per_step))
        calls, content = await self._next_calls(env, [*opening], log.turns, final=note)
        for call in calls:
            try:
                _, args = parse(call.name, call.arguments)
            except BadCall as exc:
                rejected(env, call.name, call.arguments, exc)
                continue
            if isinstance(args, DoneArgs):
                return args.answer
            self._not_run(env, call, "only done is offered once the step's actions are used up")
        return content.strip() or None

    def _not_run(self, env: ActionEnv, call: ToolCall, why: str) -> Outcome:
        arguments = unrun_arguments(call.arguments, self.driver.secrets)
        record.action_failed(env.context, call.name, "not_run", why, arguments)
        return Outcome(call.name, f"not run: {why}", ok=False)

    async def _run_call(self, env: ActionEnv, call: ToolCall, log: prompts.StepLog) -> Outcome:
        if log.over_budget or (log.reply is None and _over_budget(env, log)):
            return Outcome(call.name, "not run: the run's budget is used up", ok=False)
        if log.reply is not None:
            return self._not_run(env, call, "done was already called")
        if log.performed >= self.settings.max_actions_per_step:
            limit = self.settings.max_actions_per_step
            return self._not_run(env, call, f"this step's limit of {limit} actions was reached")
        outcome = await perform(env, call.name, call.arguments, marks=self._vision)
        if outcome.reply is not None:
            log.reply = outcome.reply
        else:
            log.performed += 1
        return outcome

    @property
    def _tools(self) -> bool:
        return bool(self._model and self._model.capabilities.tools)

    async def _next_calls(
        self,
        env: ActionEnv,
        opening: list[Message],
        turns: list[prompts.Turn],
        final: Message | None = None,
    ) -> tuple[list[ToolCall], str]:
        """The model's next actions. With `final` (the wrap-up note) only `done` is offered."""
        model = self._require_model()
        closing = [final] if final is not None else []
        if self._tools:
            history = prompts.tool_conversation(turns, self._vision)
            specs = tool_specs()
            request = ModelRequest(
                PURPOSE,
                (*opening, *history, *closing),
                tools=tuple(s for s in specs if s.name == DONE) if final else specs,
                tool_choice=DONE if final else "auto",
            )
            response = await model.complete(request)
            return list(response.tool_calls), response.content or ""
        history = prompts.json_conversation(turns, self._vision)
        choice = await structured.generate(
            model,
            purpose=PURPOSE,
            messages=[*opening, *history, *closing],
            schema=OneAction,
            check=lambda choice: _check(env, choice),
        )
        arguments = json.dumps(choice.arguments)
        call = ToolCall(f"json_{len(turns) + 1}", choice.action, arguments)
        return [call], choice.model_dump_json()

    def _require_model(self) -> ModelClient:
        if self._model is None:
            raise ModelError("no model for web_surfer")
        return self._model

    async def _open_search_page(self) -> Page:
        await self.driver.ensure()
        return await self.driver.tabs.open_internal(self.driver.browser.context)

    async def reset(self) -> None:
        """After a replan: keep the browser and its pages, unless settings say otherwise."""
        settings = self.settings
        # A persistent profile has exactly one context: it is kept, like its logins.
        fresh = settings.reset_browser_on_replan and settings.profile_dir is None
        if fresh and self.driver.browser.started:
            await self.driver.new_context()

    async def save_state(self) -> dict[str, Any]:
        return await save_tabs(self.driver, cookies=self._keeps_cookies)

    async def load_state(self, state: Mapping[str, Any]) -> list[str]:
        return await restore_tabs(self.driver, state, cookies=self._keeps_cookies)

    @property
    def _keeps_cookies(self) -> bool:
        # A persistent profile keeps its cookies itself, outside the checkpoint.
        return self.settings.persist_cookies and self.settings.profile_dir is None

    async def close(self) -> None:
        try:
            await self._search.close()
        finally:
            if self._owns_driver:
                await self.driver.close()


def _check(env: ActionEnv, choice: OneAction) -> None:
    """A chosen action that cannot be run is fed back to the model, and recorded."""
    try:
        parse(choice.action, choice.arguments)
    except BadCall as exc:
        rejected(env, choice.action, choice.arguments, exc)
        raise ValueError(str(exc)) from None


def _over_budget(env: ActionEnv, log: prompts.StepLog) -> bool:
    """Whether the run's budget is used up; if so the step's reply says so."""
    hit = env.context.check_budget()
    if hit is not None:
        log.over_budget, log.reply = True, budget_stop_note(hit)
    return hit is not None


def _paths(intake: FileIntake) -> tuple[Path, ...]:
    return tuple(saved.path for saved in intake.saved)


def create(env: TeamEnv) -> Specialist:
    """The entry point: settings from `specialists.web_surfer`, validated now."""
    return WebSurfer(env, load_settings(env.settings))
