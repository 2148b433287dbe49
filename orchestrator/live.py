"""The human-readable view of a run, used live (`run`, `scenario run --watch`) and to
replay a finished run (`show`). One renderer, fed events, whatever their source."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ledgers import FinalStatus
from orchestrator.events import (
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
    StallDetected,
    TeamReset,
)

STATUS_STYLE = {
    FinalStatus.SOLVED: "bold green",
    FinalStatus.BEST_GUESS: "bold yellow",
    FinalStatus.FAILED: "bold red",
}


def _yes_no(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit:,} more chars]"


class LiveView:
    """An event subscriber that prints each step as it happens."""

    def __init__(self, console: Console | None = None, *, reply_chars: int = 800) -> None:
        self.console = console or Console()
        self._reply_chars = reply_chars
        self._tokens = 0
        self._cost = 0.0

    def __call__(self, event: Event) -> None:
        c = self.console
        match event:
            case RunStarted():
                c.print(
                    Panel(
                        escape(event.task), title=f"Task · run {event.run_id}", border_style="cyan"
                    )
                )
                c.print(f"[dim]team:[/] {', '.join(event.team)}")
            case RunResumed():
                c.print(f"[bold cyan]Resuming[/] run {event.run_id} after round {event.from_round}")
            case FactsGathered():
                c.print(Panel(escape(event.facts.render()), title="Facts", border_style="blue"))
            case PlanMade():
                c.print(Panel(escape(event.plan.render()), title="Plan", border_style="blue"))
            case RoundStarted():
                cost = f" · ${self._cost:.4f}" if self._cost else ""
                c.rule(f"Round {event.round} · {self._tokens:,} tokens{cost}")
            case ProgressAssessed():
                self._progress(event)
            case Delegated():
                c.print(
                    f"[bold]orchestrator → {escape(event.speaker)}:[/] {escape(event.instruction)}"
                )
            case Replied():
                style = "red" if event.error else "white"
                body = escape(_clip(event.text, self._reply_chars))
                c.print(
                    Panel(
                        body,
                        title=f"{escape(event.speaker)} replied ({event.seconds:.1f}s)",
                        border_style=style,
                    )
                )
            case SpecialistActivity():
                c.print(
                    f"[dim]  {escape(event.speaker)} · {escape(event.kind)} {escape(str(event.data))[:200]}[/]"
                )
            case StallDetected():
                reasons = "; ".join(event.reasons)
                c.print(f"[yellow]stall {event.count}/{event.max_stalls}:[/] {escape(reasons)}")
            case Replanned():
                c.print(
                    Panel(
                        escape(
                            f"Why: {event.reason}\n\n{event.facts.render()}\n\nNew plan:\n{event.plan.render()}"
                        ),
                        title=f"Replan #{event.revision}",
                        border_style="magenta",
                    )
                )
            case TeamReset():
                reset = ", ".join(event.members) if event.members else "nobody (state kept)"
                c.print(f"[dim]team reset: {escape(reset)}[/]")
            case OutputInvalid():
                c.print(
                    f"[dim red]{event.purpose}: invalid reply (attempt {event.attempt}): {escape(event.error)}[/]"
                )
            case LedgerUnusable():
                c.print(f"[red]{event.purpose}: no usable reply: {escape(event.error)}[/]")
            case ModelCalled():
                self._tokens += event.input_tokens + event.output_tokens
                self._cost += event.cost_usd or 0.0
            case ModelRetry():
                c.print(
                    f"[yellow]model {event.role} ({event.purpose}): {escape(event.error)}; retry {event.attempt} in {event.wait_seconds:.1f}s[/]"
                )
            case ModelFailed():
                c.print(
                    f"[red]model {event.role} ({event.purpose}) failed: {escape(event.error)}[/]"
                )
            case ApprovalDecided():
                verdict = "[green]approved[/]" if event.approved else "[red]denied[/]"
                c.print(
                    f"{escape(event.specialist)}: {escape(event.action)} {verdict} by {event.decided_by}"
                )
            case HumanWaiting():
                what = "question" if event.kind == "question" else f"approval of {event.specialist}"
                c.print(
                    f"[magenta]waiting for a person ({what}, {event.id}):[/] {escape(event.prompt)}"
                )
            case HumanAnswered():
                c.print(f"[dim]{event.id} answered[/]")
            case LimitReached():
                c.print(f"[bold red]limit reached:[/] {event.reason.value}: {escape(event.detail)}")
            case FinalAnswer():
                self._final(event)
            case RunFinished():
                c.print(
                    f"[dim]{event.stop_reason.value} · {event.rounds} rounds · {event.stalls} stalls · "
                    f"{event.replans} replans · {event.tokens:,} tokens · ${event.cost_usd:.4f} · "
                    f"{event.seconds:.1f}s[/]"
                )
            case RunInterrupted():
                c.print(f"[bold yellow]interrupted:[/] {escape(event.reason)}")
            case _:
                pass

    def _progress(self, event: ProgressAssessed) -> None:
        ledger = event.ledger
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim")
        table.add_column()
        table.add_row(
            "satisfied",
            f"{_yes_no(ledger.request_satisfied.answer)} {escape(ledger.request_satisfied.reason)}",
        )
        table.add_row(
            "in a loop", f"{_yes_no(ledger.in_loop.answer)} {escape(ledger.in_loop.reason)}"
        )
        table.add_row(
            "progress",
            f"{_yes_no(ledger.progress_made.answer)} {escape(ledger.progress_made.reason)}",
        )
        for fact in ledger.new_facts:
            table.add_row("new fact", f"{escape(fact.fact)} [dim]({escape(fact.source)})[/]")
        if not ledger.request_satisfied.answer:
            table.add_row(
                "next",
                f"[bold]{escape(ledger.next_speaker.answer)}[/] {escape(ledger.next_speaker.reason)}",
            )
        self.console.print(Panel(table, title="Progress ledger", border_style="dim"))

    def _final(self, event: FinalAnswer) -> None:
        style = STATUS_STYLE[event.status]
        parts: list[Text | str] = [Text(event.answer or "(no answer)", style="bold")]
        if event.evidence:
            parts.append("")
            parts += [Text(f"• {e}") for e in event.evidence]
        title = f"Final answer · {event.status.value} · stop: {event.stop_reason.value}"
        self.console.print(Panel(Group(*parts), title=title, border_style=style))
