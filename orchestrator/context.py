"""What every model sees, assembled in one place and budgeted in tokens.

The orchestrator's prompts (facts, plan, progress, revise facts, revise plan, final) and
each specialist's team notes are built here from the run's state. Each prompt has a
budget in tokens taken from its model's context length (`Capabilities.context_tokens`,
less room for the reply): the progress prompt of every round gets a share of it, the
final answer and the replanning prompts all of it, a specialist's notes a share of the
specialist's own. The fixed parts (task, fact sheet, findings, plan) always go in whole;
the conversation fills what is left — in full while it fits, compacted oldest-first
when it does not (`ledgers.transcript.render`). Wording lives in `orchestrator.prompts`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ledgers import ContextRules, Counter, Entry, Facts, TaskLedger, transcript
from orchestrator import prompts
from orchestrator.models.managed import ManagedModel
from orchestrator.state import RunState
from specialists.models.protocol import Capabilities, ImagePart, Message, ModelClient

MIN_CONVERSATION_TOKENS = 256  # below this a conversation view says nothing useful
MAX_IMAGES = 4  # per prompt: the latest screenshot plus a few attached images
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def counter_for(model: ModelClient) -> Counter:
    """Tokens of a text for `model`: calibrated from the provider's own counts as calls
    come back (see `ManagedModel.chars_per_token`), a conservative estimate before."""
    if isinstance(model, ManagedModel):
        return lambda text: math.ceil(len(text) / model.chars_per_token)
    return transcript.estimate()


@dataclass(frozen=True)
class Reader:
    """One model's side of the budget: how long its context is and how it counts."""

    capabilities: Capabilities
    count: Counter

    @staticmethod
    def of(model: ModelClient) -> Reader:
        return Reader(model.capabilities, counter_for(model))


@dataclass
class ContextBuilder:
    rules: ContextRules
    orchestrator: Reader
    specialists: Mapping[str, Reader] = field(default_factory=dict)
    today: str = ""
    workspace: Path | None = None  # where attachments are, to show images to vision models
    run_dir: Path | None = None  # where screenshots are

    # --- the orchestrator's purposes ------------------------------------------------------

    def facts(self, state: RunState) -> list[Message]:
        return self._messages(prompts.facts(self._task(state), state.team), state)

    def plan(self, state: RunState, facts: Facts) -> list[Message]:
        return self._messages(prompts.plan(self._task(state), state.team, facts.render()), state)

    def progress(self, state: RunState, hints: Sequence[str]) -> list[Message]:
        ledger = self._ledger(state)

        def build(conversation: str) -> str:
            return prompts.progress(
                self._task(state), ledger.render(), state.team, conversation, state.rounds, hints
            )

        budget = int(self._usable() * self.rules.progress_share)
        return self._messages(self._fit(build, state.transcript, budget), state, screenshot=True)

    def revise_facts(self, state: RunState, reason: str) -> list[Message]:
        ledger = self._ledger(state)

        def build(conversation: str) -> str:
            return prompts.revise_facts(
                self._task(state), reason, conversation, ledger.render_facts()
            )

        return self._messages(self._fit(build, state.transcript, self._usable()), state)

    def revise_plan(self, state: RunState, facts: Facts, reason: str) -> list[Message]:
        ledger = self._ledger(state)

        def build(conversation: str) -> str:
            return prompts.revise_plan(
                self._task(state),
                reason,
                conversation,
                ledger.plan.render(),
                facts.render(),
                ledger.render_findings(),
                state.team,
            )

        return self._messages(self._fit(build, state.transcript, self._usable()), state)

    def final(self, state: RunState, stop_note: str) -> list[Message]:
        ledger = self._ledger(state)

        def build(conversation: str) -> str:
            return prompts.final(self._task(state), ledger.render(), conversation, stop_note)

        text = self._fit(build, state.transcript, self._usable())
        return self._messages(text, state, screenshot=True)

    # --- a specialist's team notes --------------------------------------------------------

    def notes(self, state: RunState, speaker: str) -> str:
        """The bounded block a specialist's first model message carries: the task, the
        plan with its own steps marked, every finding, and the team's conversation (its
        own steps and the others' replies), fenced as untrusted."""
        reader = self.specialists.get(speaker, self.orchestrator)
        ledger = state.ledger
        plan = ledger.plan.render_for(speaker) if ledger else "(no plan yet)"
        findings = ledger.render_findings() if ledger else "- (none yet)"
        seen = [e for e in state.transcript if _relevant(e, speaker)]

        def build(conversation: str) -> str:
            return prompts.team_notes(self._task(state), plan, findings, conversation)

        usable = self.rules.usable(reader.capabilities.context_tokens)
        budget = min(self.rules.notes_max_tokens, int(usable * self.rules.notes_share))
        return self._fit(build, seen, budget, reader.count)

    # --- helpers --------------------------------------------------------------------------

    def _usable(self) -> int:
        return self.rules.usable(self.orchestrator.capabilities.context_tokens)

    def _fit(
        self,
        build: Callable[[str], str],
        entries: Sequence[Entry],
        budget: int,
        count: Counter | None = None,
    ) -> str:
        """`build(conversation)` with the conversation in what `budget` leaves over."""
        count = count or self.orchestrator.count
        fixed = count(build(""))
        room = max(MIN_CONVERSATION_TOKENS, budget - fixed)
        view = transcript.render(entries, room, count, digest_chars=self.rules.digest_chars)
        return build(view)

    def _task(self, state: RunState) -> str:
        return prompts.task_block(state.task, state.attachments)

    def _ledger(self, state: RunState) -> TaskLedger:
        if state.ledger is None:
            raise RuntimeError("the task ledger is missing after planning")
        return state.ledger

    def _messages(self, text: str, state: RunState, *, screenshot: bool = False) -> list[Message]:
        images = self._images(state, screenshot) if self.orchestrator.capabilities.vision else ()
        note = prompts.images_note(len(images)) if images else ""
        return [Message.system(prompts.system(self.today)), Message.user(text + note, images)]

    def _images(self, state: RunState, screenshot: bool) -> tuple[ImagePart, ...]:
        """What a vision model is shown: attached images, then the latest screenshot."""
        paths: list[tuple[Path, str]] = []
        if self.workspace is not None:
            paths += [
                (self.workspace / a.name, a.media_type)
                for a in state.attachments
                if a.media_type.startswith("image/")
            ]
        if screenshot and state.last_screenshot and self.run_dir is not None:
            paths.append((self.run_dir / state.last_screenshot, "image/png"))
        images = [_image(path, media) for path, media in paths[-MAX_IMAGES:]]
        return tuple(i for i in images if i is not None)


def _relevant(entry: Entry, speaker: str) -> bool:
    """What a specialist's notes show: its own instructions, and every reply."""
    if entry.kind == "instruction":
        return entry.to == speaker
    return entry.kind == "reply"


def _image(path: Path, media_type: str) -> ImagePart | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        return ImagePart(path.read_bytes(), media_type)
    except OSError:
        return None
