"""The actions as model tools: their specs, and running one call to an observation.

`perform` validates the call's arguments (errors go back to the model, naming the
field or listing the valid actions), makes sure the browser is alive (restarting it if
it crashed or hung), runs the action within a time budget, lets the page settle,
follows new tabs, saves files the page produced, and observes the result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import ValidationError

from specialists import record
from specialists.models.protocol import ToolSpec
from specialists.models.structured import describe
from specialists.record import Problem
from specialists.web_surfer import act_browse, act_elements, act_read, toolbox
from specialists.web_surfer.driver import ActionError, Refused
from specialists.web_surfer.limits import RESULT_MAX_CHARS, cap
from specialists.web_surfer.observe import Observation
from specialists.web_surfer.redaction import MASK, Secrets
from specialists.web_surfer.toolbox import (
    ActionEnv,
    Args,
    DoneArgs,
    TypeArgs,
    schema_of,
)

DONE = "done"


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    args: type[Args]
    run: Callable[[ActionEnv, Any], Awaitable[str]]


def _catalogue() -> dict[str, Action]:
    b, e, r, t = act_browse, act_elements, act_read, toolbox
    table: list[tuple[str, str, type[Args], Callable[[ActionEnv, Any], Awaitable[str]]]] = [
        ("search", "Search the web; shows numbered results to visit.", t.SearchArgs, b.search),
        ("visit_url", "Open a URL in the current tab.", t.VisitArgs, b.visit_url),
        ("click", "Click element [id] (links, buttons, checkboxes, ...).", t.ElementArgs, e.click),
        (
            "type",
            "Type into a text field [id]; submit=true presses Enter.",
            t.TypeArgs,
            e.type_text,
        ),
        ("select_option", "Choose an option of a <select> [id].", t.SelectArgs, e.select_option),
        ("hover", "Move the mouse over element [id] (menus, tooltips).", t.ElementArgs, e.hover),
        ("press_key", "Press a key in the focused element or page.", t.KeyArgs, e.press_key),
        (
            "scroll",
            "Scroll: down/up by pages (1 = page down), or to top/bottom.",
            t.ScrollArgs,
            b.scroll,
        ),
        ("back", "Go back to the previous page of this tab.", t.NoArgs, b.back),
        ("forward", "Go forward again after going back.", t.NoArgs, b.forward),
        ("list_tabs", "List the open tabs.", t.NoArgs, b.list_tabs),
        ("switch_tab", "Show another tab.", t.TabArgs, b.switch_tab),
        ("close_tab", "Close a tab.", t.TabArgs, b.close_tab),
        (
            "find_on_page",
            "Find text on the page and scroll to it (like Ctrl+F).",
            t.FindArgs,
            b.find_on_page,
        ),
        (
            "read_page",
            "Read the page's main content as markdown, in parts.",
            t.ReadArgs,
            r.read_page,
        ),
        (
            "answer_question",
            "Answer a question from the whole page's text.",
            t.QuestionArgs,
            r.answer_question,
        ),
        (
            "download",
            "Save a file (by URL or link [id]) into the workspace.",
            t.DownloadArgs,
            e.download,
        ),
        (
            "upload_file",
            "Attach a workspace file to a file input [id].",
            t.UploadArgs,
            e.upload_file,
        ),
    ]
    actions = {name: Action(name, text, args, run) for name, text, args, run in table}
    actions[DONE] = Action(DONE, "Finish this step and reply to the orchestrator.", DoneArgs, _done)
    return actions


async def _done(env: ActionEnv, args: DoneArgs) -> str:
    return args.answer


ACTIONS = _catalogue()


def tool_specs() -> tuple[ToolSpec, ...]:
    return tuple(ToolSpec(a.name, a.description, schema_of(a.args)) for a in ACTIONS.values())


@dataclass(frozen=True)
class Outcome:
    name: str
    text: str  # what happened, or what went wrong
    ok: bool
    reply: str | None = None  # set by `done`
    observation: Observation | None = None
    arguments: str | None = None  # the call's arguments as they may be recorded (redacted)


class BadCall(ActionError):
    """A call the model got wrong: `problem` says how (an unknown action, bad arguments)."""

    def __init__(self, message: str, problem: Problem) -> None:
        super().__init__(message)
        self.problem: Problem = problem


def parse(name: str, arguments: str | dict[str, Any]) -> tuple[Action, Args]:
    action = ACTIONS.get(name)
    if action is None:
        raise BadCall(
            f"unknown action {name!r}; the actions are: {', '.join(ACTIONS)}", "unknown_tool"
        )
    try:
        raw = json.loads(arguments or "{}") if isinstance(arguments, str) else arguments
    except json.JSONDecodeError as exc:
        raise BadCall(
            f"{name}: the arguments are not valid JSON ({exc.msg})", "bad_arguments"
        ) from None
    try:
        return action, action.args.model_validate(raw)
    except ValidationError as exc:
        raise BadCall(f"{name}: invalid arguments: {describe(exc)}", "bad_arguments") from None


def rejected(env: ActionEnv, name: str, arguments: str | dict[str, Any], exc: BadCall) -> None:
    """Record a call that was not run because the model got it wrong."""
    shown = unrun_arguments(arguments, env.driver.secrets)
    record.action_failed(env.context, name, exc.problem, str(exc), shown)


def unrun_arguments(arguments: str | dict[str, Any], secrets: Secrets) -> str:
    """A call's arguments as they may be recorded though it never ran: known secrets
    masked, and a text the model marked `secret` too (it was never registered as one)."""
    raw: Any = arguments
    if isinstance(arguments, str):
        try:
            raw = json.loads(arguments or "{}")
        except json.JSONDecodeError:
            return secrets.redact(arguments)
    if isinstance(raw, dict) and raw.get("secret") and "text" in raw:
        raw = {**raw, "text": MASK}
    return secrets.redact(json.dumps(raw, ensure_ascii=False))


# What an action waits for, as the person watching the spinner line reads it.
WAITS = {
    "visit_url": "page loading",
    "back": "page loading",
    "forward": "page loading",
    "search": "searching",
    "read_page": "reading the page",
    "answer_question": "reading the page",
    "download": "downloading",
}


def _budget(env: ActionEnv) -> float:
    s = env.driver.settings
    return s.navigation_timeout + s.settle_timeout + s.action_timeout + 10


async def perform(
    env: ActionEnv, name: str, arguments: str | dict[str, Any], *, marks: bool
) -> Outcome:
    try:
        action, args = parse(name, arguments)
    except BadCall as exc:
        rejected(env, name, arguments, exc)
        return Outcome(name, f"error: {exc}", ok=False)
    if isinstance(args, DoneArgs):
        return Outcome(name, "done", ok=True, reply=args.answer)
    if restarted := await env.driver.ensure():
        env.notes.append(restarted)
        env.restarts.append(restarted)
        env.context.notify("browser_restarted", {"reason": restarted})
    env.driver.guard.approver = env.approve_request  # requests the action leads to
    waiting_for = WAITS.get(name, f"{name} in the browser")
    env.context.started("action", {"name": name, "waiting_for": waiting_for})
    try:
        return await _perform(env, name, action, args, marks=marks)
    finally:
        env.driver.guard.approver = None
        env.driver.guard.forget_forms()


async def _perform(
    env: ActionEnv, name: str, action: Action, args: Args, *, marks: bool
) -> Outcome:
    text, problem = await _run(env, action, args)
    ok = problem is None
    secrets = env.driver.secrets
    text = cap(secrets.redact(text), RESULT_MAX_CHARS, "result")
    shown = _shown_arguments(args, secrets)
    env.context.report(
        "action",
        {"name": name, "ok": ok, "detail": text[:200], "arguments": shown},
        {"arguments": shown, "result": text},  # both redacted above
    )
    if problem is not None:
        record.action_failed(env.context, name, problem, text.removeprefix("error: "), shown)
    try:
        async with asyncio.timeout(_budget(env)):
            notes = await env.driver.settle()
            if fresh := env.driver.tabs.follow_new():
                notes += await env.driver.settle()
                notes += env.driver.tabs.announce(fresh)
            notes += await env.intake.absorb()
            notes = env.notes + env.driver.tabs.take_notes() + notes
            env.notes.clear()
            observation = await env.driver.observe(marks=marks, notes=notes)
            if late := env.driver.tabs.follow_new():  # a new tab announced itself late
                notes += await env.driver.settle()
                notes += env.driver.tabs.announce(late) + env.driver.tabs.take_notes()
                observation = await env.driver.observe(marks=marks, notes=notes)
    except (PlaywrightError, TimeoutError) as exc:
        failure = _why(exc, _budget(env))
        text = f"{text}\nerror: no observation: {failure}"
        record.action_failed(env.context, name, "failed", f"no observation: {failure}", shown)
        return Outcome(name, text, ok=False, arguments=shown)
    record.observed(env.context, secrets.redact(observation.record()), after=name)
    return Outcome(name, text, ok, observation=observation, arguments=shown)


def _shown_arguments(args: Args, secrets: Secrets) -> str:
    """The call's arguments as they may be recorded: a secret's text masked."""
    data = args.model_dump(exclude_unset=True)
    if isinstance(args, TypeArgs) and args.text in secrets:
        data["text"] = MASK
    return secrets.redact(json.dumps(data, ensure_ascii=False))


async def _run(env: ActionEnv, action: Action, args: Args) -> tuple[str, Problem | None]:
    """What the action did, and the problem if it did not do its work."""
    try:
        async with asyncio.timeout(_budget(env)):
            return await action.run(env, args), None
    except Refused as exc:
        return f"error: {exc}", "refused"
    except ActionError as exc:
        return f"error: {exc}", "failed"
    except (PlaywrightError, TimeoutError) as exc:
        return f"error: {_why(exc, _budget(env))}", "failed"


def _why(exc: BaseException, budget: float) -> str:
    if isinstance(exc, PlaywrightTimeout):
        return str(exc).strip().splitlines()[0]
    if isinstance(exc, TimeoutError):
        return f"the browser did not respond within {budget:g} s (it will be restarted if it hangs)"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
