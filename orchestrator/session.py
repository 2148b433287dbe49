"""One run, end to end: build everything a run needs from its RunConfig, drive the loop,
persist as it goes, and clean up — for a new run or a resumed one.

The CLI, scenarios and evaluation all start runs through `start` and `resume` here.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from ledgers import Entry
from orchestrator import durable, sites, specialist_state, tracing
from orchestrator import team as team_registry
from orchestrator.approvals import Approvals, Decide
from orchestrator.config import Settings
from orchestrator.context import ContextBuilder, Reader
from orchestrator.errors import OrchestratorError, RunStopped, RunWriteError
from orchestrator.events import (
    EventBus,
    FinalAnswer,
    RunInterrupted,
    RunResumed,
    RunStarted,
    SpecialistActivity,
    Subscriber,
)
from orchestrator.humans import ConsoleHuman, NoHuman, ScriptedHuman
from orchestrator.loop import Conductor, Deps
from orchestrator.models.factory import NO_MODEL_ADVICE, apply_overrides, create_client, pricing_for
from orchestrator.models.managed import ManagedModel, Meter
from orchestrator.models.scripted import ScriptedModel
from orchestrator.state import FinalResult, Phase, RunConfig, RunState, TeamMember
from orchestrator.store import RunStore, new_run_id
from specialists.base import HumanChannel, Specialist, TeamEnv
from specialists.models.protocol import Capabilities, ModelClient, ModelConfigError

ORCHESTRATOR_ROLE = "orchestrator"
SCREENSHOTS = "screenshots"  # in the run dir: the replies' latest images


def new_config(
    task: str,
    settings: Settings,
    *,
    source: str = "cli",
    **extra: object,
) -> RunConfig:
    return RunConfig.model_validate(
        {
            "run_id": new_run_id(task),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "task": task,
            "settings": settings,
            **extra,
        }
    )


@dataclass
class Models:
    """The clients a run uses, by role, and the scripted model behind them if any."""

    by_role: dict[str, ManagedModel]
    scripted: ScriptedModel | None

    def for_role(self, role: str) -> ManagedModel | None:
        return self.by_role.get(role)

    async def close(self) -> None:
        for model in self.by_role.values():
            await model.close()


def build_models(
    config: RunConfig,
    roles: Sequence[str],
    bus: EventBus,
    meter: Meter,
    cursors: Mapping[str, int],
    environ: Mapping[str, str],
) -> Models:
    settings = config.settings
    if config.scripted is not None:
        caps = apply_overrides(Capabilities(structured_output=True), config.scripted.capabilities)
        scripted = ScriptedModel(config.scripted.script, capabilities=caps, cursors=cursors)
        by_role = {
            role: ManagedModel(
                scripted,
                role=role,
                bus=bus,
                meter=meter,
                pricing=config.scripted.pricing,
                base_delay=0.05,
            )
            for role in roles
        }
        return Models(by_role, scripted)
    if settings.model_for(ORCHESTRATOR_ROLE) is None:
        raise ModelConfigError(NO_MODEL_ADVICE)
    by_role = {}
    for role in roles:
        spec = settings.model_for(role)
        if spec is None:
            continue
        client: ModelClient = create_client(spec, environ)
        by_role[role] = ManagedModel(
            client,
            role=role,
            bus=bus,
            meter=meter,
            pricing=pricing_for(spec),
            max_retries=spec.max_retries,
        )
    return Models(by_role, None)


def preflight(config: RunConfig, environ: Mapping[str, str]) -> None:
    """Fail before a run directory exists if the team or the models can't be had."""
    from orchestrator.models.factory import check_spec

    known = team_registry.available()
    unknown = [n for n in config.settings.team if team_registry.family(n) not in known]
    if unknown:
        raise OrchestratorError(
            f"unknown specialist(s): {', '.join(unknown)}; available: {', '.join(sorted(known))}"
        )
    if config.scripted is not None:
        return
    if config.settings.model_for(ORCHESTRATOR_ROLE) is None:
        raise ModelConfigError(NO_MODEL_ADVICE)
    for role in (ORCHESTRATOR_ROLE, *config.settings.team):
        spec = config.settings.model_for(role)
        if spec is not None:
            check_spec(spec, environ)


def build_human(config: RunConfig, cursor: int, interactive: bool) -> HumanChannel:
    if config.human.mode == "scripted":
        return ScriptedHuman(list(config.human.replies), cursor)
    if config.human.mode == "console" or interactive:
        return ConsoleHuman()
    return NoHuman()


@dataclass(frozen=True)
class People:
    """Who answers the team instead of the person the RunConfig names: the service passes
    a channel and a decider that wait for an answer over HTTP."""

    human: HumanChannel | None = None  # None: the RunConfig's (e.g. a scenario's replies)
    decide: Decide | None = None


PeopleFactory = Callable[[EventBus], People]  # given the run's bus, to announce a wait


def start(config: RunConfig, runs_dir: Path | None = None) -> RunStore:
    """Create the run directory for `config`; run it with `execute`."""
    return RunStore.create(runs_dir or config.settings.runs_dir, config)


async def execute(
    store: RunStore,
    *,
    subscribers: Sequence[Subscriber] = (),
    interactive: bool = False,
    environ: Mapping[str, str] | None = None,
    sites_running: bool = False,
    people: PeopleFactory | None = None,
    cancel: asyncio.Event | None = None,
) -> FinalResult:
    """Run (or resume, if it has a checkpoint) the run in `store` to its end.

    Cancellation (Ctrl-C, a timeout around this call) propagates after an interrupt
    event is logged; the last checkpoint stays on disk for `orchestrator resume`.
    Setting `cancel` instead ends the run: a best-guess answer, stop reason `cancelled`.
    `people`, if given, answers the team's questions and approvals.
    The run's sites are served for its duration unless the caller already serves them.
    """
    store.lock()  # one process per run: a second `resume` is told who has it
    try:
        config = store.load_config()
        folders = {name: (Path(site.path), site.port) for name, site in config.sites.items()}
        with sites.serve({} if sites_running else folders):
            return await _execute(store, config, subscribers, interactive, environ, people, cancel)
    finally:
        store.close()


async def _execute(
    store: RunStore,
    config: RunConfig,
    subscribers: Sequence[Subscriber],
    interactive: bool,
    environ: Mapping[str, str] | None,
    people_for: PeopleFactory | None,
    cancel: asyncio.Event | None,
) -> FinalResult:
    env = os.environ if environ is None else environ
    resumed = store.has_checkpoint()
    state = store.load_checkpoint() if resumed else _fresh_state(config)
    if state.result is not None:
        return state.result
    store.durability = config.settings.durability
    next_seq = store.last_seq() + 1  # a set-aside tail's numbers are not given out again
    tail = durable.set_aside(store, state, resumed)
    bus = EventBus(config.run_id, next_seq=next_seq, round=state.rounds)
    bus.subscribe(store.append_event, critical=True)  # no durable log, no run
    answers: list[FinalAnswer] = []
    bus.subscribe(lambda e: answers.append(e) if isinstance(e, FinalAnswer) else None)
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    # OpenTelemetry traces, only with the `otel` extra installed and OTEL_* asking for them.
    traces = tracing.subscriber_for(store.root, config, env)
    if traces is not None:
        bus.subscribe(traces)
    names = config.settings.team
    models = build_models(
        config, [ORCHESTRATOR_ROLE, *names], bus, state.meter, state.model_cursors, env
    )
    people = people_for(bus) if people_for is not None else None
    human = people.human if people is not None and people.human is not None else None
    human = human or build_human(config, state.human_cursor, interactive)
    approvals = Approvals(
        config.settings.approvals,
        bus,
        rules=config.approval_rules,
        interactive=interactive,
        person=people.decide if people else None,
    )
    team: dict[str, Specialist] = {}
    try:
        team = team_registry.build(
            names,
            lambda name: TeamEnv(
                name=name,
                workspace=store.workspace,
                model=models.for_role(name),
                human=human,
                settings=config.settings.specialists.get(name, {}),
                headless=not config.settings.headed,
            ),
        )
        if not state.team:
            state.team = [TeamMember(name=n, description=s.description) for n, s in team.items()]

        async def held_elsewhere(current: RunState) -> None:
            """What the checkpoint holds that lives outside the state: cursors, the team's."""
            if models.scripted is not None:
                current.model_cursors = models.scripted.cursors()
            if isinstance(human, ScriptedHuman):
                current.human_cursor = human.cursor
            # Between rounds no step is in flight: the team's state is consistent.
            current.specialists = await specialist_state.collect(team, current.specialists)

        checkpoints = durable.Checkpoints(store, bus, held_elsewhere)
        if resumed:
            bus.emit(RunResumed(from_round=state.rounds, set_aside=len(tail)))
            await _restore_team(team, state, bus)
            if (inflight := durable.pending(store, state)) is not None:
                # Every attempt at that round counts (a resume can be cut short too).
                attempts = [e for e in store.abandoned() if e.round == inflight.round]
                note, interrupted = durable.interruption(inflight, attempts)
                state.transcript.append(note)
                bus.emit(interrupted)
        else:
            bus.emit(
                RunStarted(
                    task=config.task,
                    team=names,
                    limits=config.settings.limits.model_dump(),
                )
            )
        orchestrator_model = models.for_role(ORCHESTRATOR_ROLE)
        assert orchestrator_model is not None
        context = ContextBuilder(
            rules=config.settings.context,
            orchestrator=Reader.of(orchestrator_model),
            specialists={
                name: Reader.of(model)
                for name in names
                if (model := models.for_role(name)) is not None
            },
            today=date.today().isoformat(),
            workspace=store.workspace,
            run_dir=store.root,
        )
        deps = Deps(
            model=orchestrator_model,
            team=team,
            bus=bus,
            settings=config.settings,
            workspace=store.workspace,
            approve=approvals,
            save=checkpoints.commit,
            mark=checkpoints.mark,
            context=context,
            screenshots=store.root / SCREENSHOTS,
            cancel=cancel,
        )
        try:
            result = await Conductor(state, deps).run()
        finally:
            await checkpoints.settle()  # the last commit is on disk before anything else
        store.save_result(result)
        return result
    except (asyncio.CancelledError, KeyboardInterrupt) as exc:
        # `task.cancel(msg)` can say why (the service parks a run that waits for a person).
        why = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "cancelled"
        bus.emit_if_possible(RunInterrupted(reason=f"{why}; resume with `orchestrator resume`"))
        raise
    except RunWriteError as exc:
        bus.emit_if_possible(RunInterrupted(reason=f"the run directory cannot be written: {exc}"))
        raise RunStopped(
            f"{exc}; the run stopped, saved up to its last completed round. Free some space "
            f"or fix the permissions, then continue with: orchestrator resume {store.root}",
            answer=answers[-1].answer if answers else None,
        ) from None
    finally:
        bus.close()
        await _close_all(team.values())
        await models.close()
        store.close()
        if traces is not None:
            traces.close()


async def _restore_team(team: dict[str, Specialist], state: RunState, bus: EventBus) -> None:
    """Before the first resumed round: the team's saved state back; what could not be
    restored goes into the transcript, where the orchestrator's next prompt shows it."""
    if state.phase is not Phase.ROUNDS or not state.specialists:
        return  # planning has no team state yet; finishing needs none
    problems = await specialist_state.restore(team, state.specialists)
    for name in state.specialists:
        if name in team:
            said = problems.get(name, [])
            bus.emit(
                SpecialistActivity(speaker=name, kind="state_restored", data={"problems": said})
            )
    for name, said in problems.items():
        text = specialist_state.note(name, said)
        state.transcript.append(Entry(round=state.rounds, speaker=name, kind="note", text=text))


def _fresh_state(config: RunConfig) -> RunState:
    return RunState(run_id=config.run_id, task=config.task, attachments=config.attachments, team=[])


async def _close_all(specialists: Iterable[Specialist]) -> None:
    for specialist in specialists:
        try:
            await specialist.close()
        except Exception as exc:  # closing must not mask the run's own outcome
            print(f"orchestrator: closing {specialist.name} failed: {exc!r}", file=sys.stderr)
