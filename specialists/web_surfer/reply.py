"""A step's Reply for the orchestrator: the answer, what was done, where the browser is.

`observation` is the final page's fingerprint (URL + content hash) for the stall
detector; `files` are the files saved this step; a vision model's run also returns the
final set-of-marks screenshot, a text-only model's never does.
"""

from __future__ import annotations

from specialists.base import Reply
from specialists.web_surfer.actions import unrun_arguments
from specialists.web_surfer.observe import Observation
from specialists.web_surfer.prompts import StepLog, Turn
from specialists.web_surfer.redaction import Secrets
from specialists.web_surfer.toolbox import ActionEnv

ACTION_LINE_CHARS = 160


def _last_observation(turns: list[Turn], first: Observation | None) -> Observation | None:
    for turn in reversed(turns):
        for outcome in reversed(turn.outcomes):
            if outcome.observation is not None:
                return outcome.observation
    return first


def _action_lines(turns: list[Turn], secrets: Secrets) -> list[str]:
    lines: list[str] = []
    for turn in turns:
        for call, outcome in zip(turn.calls, turn.outcomes, strict=True):
            if outcome.reply is not None:
                continue
            summary = outcome.text.splitlines()[0] if outcome.text else ""
            if len(summary) > ACTION_LINE_CHARS:
                summary = summary[: ACTION_LINE_CHARS - 1] + "…"
            arguments = outcome.arguments
            if arguments is None:  # not run or not valid: as the model sent it, masked
                arguments = unrun_arguments(call.arguments, secrets)
            lines.append(f"{len(lines) + 1}. {call.name} {arguments} → {summary}")
    return lines


def build_reply(log: StepLog, first: Observation | None, env: ActionEnv, vision: bool) -> Reply:
    turns, answer, intake = log.turns, log.reply, env.intake
    final = _last_observation(turns, first)
    if answer is None:
        answer = (
            f"I used this step's {log.performed} actions without finishing; the actions and "
            "where the browser is now are below."
        )
    parts = [answer]
    parts += [f"The browser was restarted: {why}." for why in env.restarts]
    if actions := _action_lines(turns, env.driver.secrets):
        parts.append("Actions this step:\n" + "\n".join(actions))
    if final is not None:
        parts.append(f"The browser is at {final.summary()} (tab {final.tab} of {final.tabs}).")
    if intake.saved:
        listed = "\n".join(f"- {saved.path} (from {saved.url})" for saved in intake.saved)
        parts.append(f"Files saved in the workspace:\n{listed}")
    evidence = {"url": final.url, "title": final.title} if final is not None else {}
    images = (final.screenshot,) if vision and final is not None and final.screenshot else ()
    return Reply(
        text=env.driver.secrets.redact("\n\n".join(parts)),
        images=images,
        files=tuple(saved.path for saved in intake.saved),
        evidence=evidence,
        observation=final.fingerprint() if final is not None else None,
    )
