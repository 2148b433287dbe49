"""The human-readable view of a run, used live (`run`, `scenario run --watch`) and to
replay a finished run (`show`). One renderer, fed events, whatever their source."""

from __future__ import annotations

import re

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ledgers import FinalStatus, StopReason
from orchestrator.events import (
    ActionFailed,
    ApprovalDecided,
    Delegated,
    Event,
    FactsGathered,
    FinalAnswer,
    HumanAnswered,
    HumanWaiting,
    LedgerUnusable,
    LimitReached,
    ModelCalled,
    ModelFailed,
    ModelRetry,
    OutputInvalid,
    PlanMade,
    ProgressAssessed,
    Replanned,
    Replied,
    RoundStarted,
    RunFinished,
    RunInterrupted,
    RunResumed,
    RunStarted,
    SpecialistActivity,
    SpecialistObserved,
    StallDetected,
    TeamReset,
)

STATUS_STYLE = {
    FinalStatus.SOLVED: "bold green",
    FinalStatus.BEST_GUESS: "bold yellow",
    FinalStatus.FAILED: "bold red",
}
# Stop reasons that are not a limit the run reached.
NOT_LIMITS = {StopReason.MODEL_UNAVAILABLE, StopReason.ERROR, StopReason.CANCELLED}

LINE_CHARS = 500  # an instruction, a reason, an error
BLOCK_CHARS = 4000  # facts, a plan, an answer
WORD_CHARS = 200  # longer unbroken runs are folded: rich lays them out in quadratic time
_LONG_WORD = re.compile(rf"\S{{{WORD_CHARS + 1},}}")


def _yes_no(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit:,} more chars]"


def _fit(text: str, limit: int = LINE_CHARS) -> str:
    """`text` as the view shows it: clipped to `limit`, long unbroken runs folded, escaped.
    Everything an event carries can come from a model or a page, so nothing is shown whole."""
    clipped = _clip(text, limit)
    folded = _LONG_WORD.sub(
        lambda m: "\n".join(
            m.group()[i : i + WORD_CHARS] for i in range(0, len(m.group()), WORD_CHARS)
        ),
        clipped,
    )
    return escape(folded)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _sentences(parts: list[str]) -> str:
    """Reasons joined as one line: `a; b`, never `a.; b`."""
    return "; ".join(part.strip().rstrip(".;") for part in parts if part.strip())


class LiveView:
    """An event subscriber that prints each step as it happens."""

    def __init__(
        self, console: Console | None = None, *, reply_chars: int = 800, observations: bool = False
    ) -> None:
        """`observations`: print what each specialist saw whole (up to 4,000 characters,
        e.g. a page's elements with their ids), not only its first line."""
        self.console = console or Console()
        self._reply_chars = reply_chars
        self._observations = observations
        self._tokens = 0
        self._cost = 0.0

    def __call__(self, event: Event) -> None:
        c = self.console
        match event:
            case RunStarted():
                c.print(
                    Panel(
                        _fit(event.task, BLOCK_CHARS),
                        title=f"Task · run {escape(event.run_id)}",
                        border_style="cyan",
                    )
                )
                c.print(f"[dim]team:[/] {_fit(', '.join(event.team))}")
            case RunResumed():
                c.print(
                    f"[bold cyan]Resuming[/] run {escape(event.run_id)} after round {event.from_round}"
                )
            case FactsGathered():
                c.print(
                    Panel(
                        _fit(event.facts.render(), BLOCK_CHARS), title="Facts", border_style="blue"
                    )
                )
            case PlanMade():
                c.print(
                    Panel(_fit(event.plan.render(), BLOCK_CHARS), title="Plan", border_style="blue")
                )
            case RoundStarted():
                cost = f", ${self._cost:.4f}" if self._cost else ""
                c.rule(f"Round {event.round} · {self._tokens:,} tokens in total{cost}")
            case ProgressAssessed():
                self._progress(event)
            case Delegated():
                c.print(
                    f"[bold]orchestrator → {_fit(event.speaker)}:[/] {_fit(event.instruction, BLOCK_CHARS)}"
                )
            case Replied():
                style = "red" if event.error else "white"
                c.print(
                    Panel(
                        _fit(event.text, self._reply_chars),
                        title=f"{_fit(event.speaker, 60)} replied ({event.seconds:.1f}s)",
                        border_style=style,
                    )
                )
            case SpecialistActivity():
                if event.kind == "action" and event.data.get("ok") is False:
                    return  # the web surfer's failed action: its action_failed event follows
                c.print(f"[dim]  {_fit(event.speaker, 60)} · {_fit(activity_line(event), 300)}[/]")
            case ActionFailed():
                c.print(f"[red]  {_fit(event.speaker, 60)} · {_fit(failure_line(event), 300)}[/]")
            case SpecialistObserved() if self._observations:
                when = f"after {event.after}" if event.after else "at the start of its step"
                title = f"{_fit(event.speaker, 60)} saw, {_fit(when, 80)}"
                c.print(Panel(_fit(event.text, BLOCK_CHARS), title=title, border_style="dim"))
            case SpecialistObserved():
                c.print(f"[dim]  {_fit(event.speaker, 60)} · {_fit(observed_line(event), 200)}[/]")
            case StallDetected():
                reasons = _sentences(event.reasons)
                c.print(f"[yellow]stall {event.count}/{event.max_stalls}:[/] {_fit(reasons)}")
            case Replanned():
                c.print(
                    Panel(
                        "Why: "
                        + _fit(event.reason)
                        + "\n\n"
                        + _fit(event.facts.render(), BLOCK_CHARS)
                        + "\n\nNew plan:\n"
                        + _fit(event.plan.render(), BLOCK_CHARS),
                        title=f"Replan #{event.revision}",
                        border_style="magenta",
                    )
                )
            case TeamReset():
                reset = ", ".join(event.members) if event.members else "nobody (state kept)"
                c.print(f"[dim]team reset: {escape(reset)}[/]")
            case OutputInvalid():
                c.print(
                    f"[dim red]{_fit(event.purpose, 60)}: invalid reply (attempt {event.attempt}): {_fit(event.error)}[/]"
                )
            case LedgerUnusable():
                c.print(f"[red]{_fit(event.purpose, 60)}: no usable reply: {_fit(event.error)}[/]")
            case ModelCalled():
                self._tokens += event.input_tokens + event.output_tokens
                self._cost += event.cost_usd or 0.0
            case ModelRetry():
                c.print(
                    f"[yellow]model {_fit(event.role, 60)} ({_fit(event.purpose, 60)}): {_fit(event.error)}; "
                    f"retry {event.attempt} in {event.wait_seconds:.1f}s[/]"
                )
            case ModelFailed():
                c.print(
                    f"[red]model {_fit(event.role, 60)} ({_fit(event.purpose, 60)}) failed: {_fit(event.error)}[/]"
                )
            case ApprovalDecided():
                verdict = "[green]approved[/]" if event.approved else "[red]denied[/]"
                c.print(
                    f"{_fit(event.specialist, 60)}: {_fit(event.action)} {verdict} by {_fit(event.decided_by, 60)}"
                )
            case HumanWaiting():
                what = "question" if event.kind == "question" else f"approval of {event.specialist}"
                c.print(
                    f"[magenta]waiting for a person ({what}, {event.id}):[/] {escape(event.prompt)}"
                )
            case HumanAnswered():
                c.print(f"[dim]{event.id} answered[/]")
            case LimitReached():
                what = "stopped" if event.reason in NOT_LIMITS else "limit reached"
                c.print(f"[bold red]{what}:[/] {event.reason.value}: {_fit(event.detail)}")
            case FinalAnswer():
                self._final(event)
            case RunFinished():
                c.print(
                    f"[dim]{event.stop_reason.value} · {_plural(event.rounds, 'round')} · "
                    f"{_plural(event.stalls, 'stall')} · {_plural(event.replans, 'replan')} · "
                    f"{event.tokens:,} tokens · ${event.cost_usd:.4f} · {event.seconds:.1f}s[/]"
                )
            case RunInterrupted():
                c.print(f"[bold yellow]interrupted:[/] {_fit(event.reason)}")
            case _:
                pass

    def _progress(self, event: ProgressAssessed) -> None:
        ledger = event.ledger
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim")
        table.add_column()
        table.add_row(
            "satisfied",
            f"{_yes_no(ledger.request_satisfied.answer)} {_fit(ledger.request_satisfied.reason)}",
        )
        table.add_row(
            "in a loop", f"{_yes_no(ledger.in_loop.answer)} {_fit(ledger.in_loop.reason)}"
        )
        table.add_row(
            "progress",
            f"{_yes_no(ledger.progress_made.answer)} {_fit(ledger.progress_made.reason)}",
        )
        for fact in ledger.new_facts:
            table.add_row("new fact", f"{escape(fact.fact)} [dim]({escape(fact.source)})[/]")
        if not ledger.request_satisfied.answer:
            table.add_row(
                "next",
                f"[bold]{_fit(ledger.next_speaker.answer, 60)}[/] {_fit(ledger.next_speaker.reason)}",
            )
        self.console.print(Panel(table, title="Progress ledger", border_style="dim"))

    def _final(self, event: FinalAnswer) -> None:
        style = STATUS_STYLE[event.status]
        answer = _fit(event.answer, BLOCK_CHARS) if event.answer else "(no answer)"
        parts: list[Text | str] = [Text.from_markup(answer, style="bold")]
        if event.evidence:
            parts.append("")
            parts += [Text.from_markup(f"• {_fit(e)}") for e in event.evidence[:20]]
            if len(event.evidence) > 20:
                parts.append(Text(f"… {len(event.evidence) - 20} more"))
        title = f"Final answer · {event.status.value} · stop: {event.stop_reason.value}"
        self.console.print(Panel(Group(*parts), title=title, border_style=style))


def failure_line(event: ActionFailed) -> str:
    """`click ✗ unknown_tool: ...` — one line; the arguments are in the event."""
    error = event.error.strip().splitlines()[0] if event.error.strip() else ""
    arguments = f" {event.arguments}" if event.arguments and event.arguments != "{}" else ""
    return f"{event.action}{_clip(arguments, 120)} ✗ {event.problem.replace('_', ' ')}: {error}"


def observed_line(event: SpecialistObserved) -> str:
    """What the specialist saw, briefly: its first line and its size (the whole text,
    up to 4,000 characters, is in the run's events.jsonl)."""
    first = next((line.strip() for line in event.text.splitlines() if line.strip()), "")
    when = f"after {event.after}" if event.after else "at the start of its step"
    return f"saw {when}: {_clip(first, 140)} ({len(event.text):,} chars)"


def activity_line(event: SpecialistActivity) -> str:
    """A specialist's activity as a person reads it, not as a Python dict."""
    data, kind = event.data, event.kind
    if kind == "action" and "ok" in data:  # the web surfer
        mark = "✓" if data.get("ok") else "✗"
        detail = str(data.get("detail") or "").strip()
        return f"{data.get('name', '?')} {mark}" + (f": {detail}" if detail else "")
    if kind == "action":  # the file surfer
        arguments = data.get("arguments")
        shown = ", ".join(
            f"{k}={v!r}" for k, v in (arguments or {}).items() if v not in (None, "", [], {})
        )
        where = data.get("location")
        return f"{data.get('name', '?')}({shown})" + (f" → {where}" if where else "")
    if kind == "code_run":
        files = data.get("files") or []
        seconds = data.get("seconds")
        parts = [
            f"ran {data.get('language', 'code')} block {data.get('block', '?')} "
            f"({data.get('executor', '?')}): {data.get('status', '?')}"
            + (f" in {seconds:.2f} s" if isinstance(seconds, int | float) else "")
        ]
        if files:
            parts.append(_plural(len(files), "new file"))
        if data.get("truncated"):
            parts.append("output truncated")
        return ", ".join(parts)
    if kind == "code_blocks_dropped":
        return f"ran {data.get('run_at_most')} of the {data.get('given')} code blocks given"
    if kind == "executor_warning":
        return f"{data.get('executor', 'executor')} warns: " + _sentences(
            [str(w) for w in data.get("warnings") or []]
        )
    if kind == "browser_restarted":
        return f"browser restarted: {data.get('reason', '')}"
    if kind == "state_restored":  # on resume
        problems = [str(p) for p in data.get("problems") or []]
        return "state restored" + (": not all of it: " + _sentences(problems) if problems else "")
    pairs = ", ".join(f"{k}={v}" for k, v in data.items())
    return f"{kind} {pairs}".strip()
