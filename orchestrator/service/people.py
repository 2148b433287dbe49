"""People in the loop over HTTP: the team's questions and approvals wait for an answer
posted to the API.

Every wait is recorded in `<run>/people.json` before it is announced (a `human_waiting`
event), so it survives a restart. A resumed run replays its round from the checkpoint and
asks again; the same ask (kind, round, wording, k-th time this round) finds its record:
still pending, it waits under the same id; answered meanwhile, the answer is used at once.

The run and the service may be different processes (`serve --backend ray`: the run is in a
Ray worker, maybe on another node, with the run directory on a shared filesystem). So
every change to `people.json` is a read-modify-write under an exclusive `flock` of
`people.json.lock`, and a run in another process (`FilePeople`) finds its answer by
polling the file; in one process an answer also wakes the waiting run at once.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from orchestrator.errors import OrchestratorError
from orchestrator.events import EventBus, HumanAnswered, HumanWaiting
from orchestrator.ray_runs import PARK_MARK
from orchestrator.session import People
from orchestrator.store import write_atomic
from specialists.base import ApprovalRequest

PEOPLE = "people.json"
LOCK_SUFFIX = ".lock"
POLL_SECONDS = 0.2  # how often a run in another process looks for its answer
SCHEMA_VERSION = 1
Kind = Literal["question", "approval"]


class Ask(BaseModel):
    id: str
    kind: Kind
    round: int
    prompt: str
    detail: str = ""
    specialist: str = ""
    status: Literal["pending", "answered", "closed"] = "pending"
    answer: str | None = None
    approved: bool | None = None


class Book(BaseModel):
    schema_version: int = SCHEMA_VERSION
    asks: list[Ask] = []


class AnswerRejected(OrchestratorError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class PendingBook:
    """One run's asks, on disk and (while the run waits) as futures."""

    def __init__(self, run_dir: Path, on_change: Callable[[], None] = lambda: None) -> None:
        self._path = run_dir / PEOPLE
        self._waiting: dict[str, asyncio.Future[Ask]] = {}
        self._on_change = on_change
        self._book = self._load()

    def _load(self) -> Book:
        try:
            return Book.model_validate_json(self._path.read_bytes())
        except FileNotFoundError:
            return Book()
        except (OSError, ValidationError) as exc:
            raise OrchestratorError(f"{self._path}: unreadable ({exc})") from None

    @contextmanager
    def _changing(self) -> Iterator[Book]:
        """The book as on disk now, locked against other processes until it is saved."""
        with open(self._path.with_name(PEOPLE + LOCK_SUFFIX), "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._book = self._load()
            yield self._book
            self._save()

    def asks(self) -> list[Ask]:
        self._book = self._load()  # another process (the run, or the service) may write it
        return list(self._book.asks)

    def pending(self) -> list[Ask]:
        return [a for a in self.asks() if a.status == "pending"]

    def find_or_add(
        self, kind: Kind, round: int, prompt: str, detail: str, specialist: str, nth: int
    ) -> Ask:
        with self._changing() as book:
            same = [
                a
                for a in book.asks
                if (a.kind, a.round, a.prompt, a.detail) == (kind, round, prompt, detail)
                and a.status != "closed"
            ]
            if nth < len(same):
                return same[nth]
            ask = Ask(
                id=f"{kind}-{len(book.asks) + 1}",
                kind=kind,
                round=round,
                prompt=prompt,
                detail=detail,
                specialist=specialist,
            )
            book.asks.append(ask)
            return ask

    async def wait(self, ask: Ask, poll: float | None = None) -> Ask:
        """The ask once answered: woken by `answer` in this process, or, with `poll`, also
        found in the file when another process answered it."""
        if ask.status != "pending":
            return ask
        future = self._waiting.setdefault(ask.id, asyncio.get_running_loop().create_future())
        self._on_change()
        try:
            while poll is not None and not future.done():
                await asyncio.wait({future}, timeout=poll)
                current = await asyncio.to_thread(self._current, ask.id)
                if current is not None and current.status != "pending" and not future.done():
                    future.set_result(current)
            return await future
        finally:
            self._waiting.pop(ask.id, None)
            self._on_change()

    def _current(self, ask_id: str) -> Ask | None:
        return next((a for a in self.asks() if a.id == ask_id), None)

    def answer(
        self, ask_id: str, *, answer: str | None = None, approved: bool | None = None
    ) -> Ask:
        """Record a person's answer (durably) and wake the run if it is waiting here."""
        with self._changing() as book:
            done = _answered(book, ask_id, answer, approved)
        if (future := self._waiting.get(ask_id)) is not None and not future.done():
            future.set_result(done)
        return done

    def close_pending(self) -> None:
        """The run has ended: nothing it asked can still be answered."""
        if not self.pending():
            return
        with self._changing() as book:
            book.asks = [
                a.model_copy(update={"status": "closed"}) if a.status == "pending" else a
                for a in book.asks
            ]

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def _save(self) -> None:
        write_atomic(self._path, self._book.model_dump_json(indent=2))


def _answered(book: Book, ask_id: str, answer: str | None, approved: bool | None) -> Ask:
    for i, ask in enumerate(book.asks):
        if ask.id != ask_id:
            continue
        if ask.status != "pending":
            raise AnswerRejected(409, f"{ask_id} is already {ask.status}")
        if ask.kind == "approval" and approved is None:
            raise AnswerRejected(422, f'{ask_id} is an approval: send {{"approved": true|false}}')
        if ask.kind == "question" and approved is not None:
            raise AnswerRejected(422, f'{ask_id} is a question: send {{"answer": "..."}}')
        done = ask.model_copy(update={"status": "answered", "answer": answer, "approved": approved})
        book.asks[i] = done
        return done
    known = ", ".join(a.id for a in book.asks if a.status == "pending") or "none pending"
    raise AnswerRejected(404, f"no question or approval {ask_id!r} in this run ({known})")


class HttpPeople:
    """The human channel and the approver of one execution of a run.

    With `park_after`, a wait that lasts longer calls `park` (which stops the run, keeping
    its checkpoint, so that it does not hold a slot while nobody answers) and goes on
    waiting until that stop arrives; the service resumes the run once it is answered."""

    def __init__(
        self,
        book: PendingBook,
        bus: EventBus,
        poll: float | None = None,
        *,
        park_after: float | None = None,
        park: Callable[[], None] | None = None,
    ) -> None:
        self._book = book
        self._bus = bus
        self._poll = poll
        self._park_after = park_after if park is not None else None
        self._park = park
        self._seen: Counter[tuple[Any, ...]] = Counter()

    def people(self) -> People:
        return People(human=self, decide=self.decide)

    async def ask(self, question: str) -> str | None:
        done = await self._wait("question", question, "", "user")
        return done.answer

    async def decide(self, request: ApprovalRequest) -> bool:
        done = await self._wait("approval", request.action, request.detail, request.specialist)
        return bool(done.approved)

    async def _wait(self, kind: Kind, prompt: str, detail: str, specialist: str) -> Ask:
        key = (kind, self._bus.round, prompt, detail)
        nth = self._seen[key]
        self._seen[key] += 1
        ask = self._book.find_or_add(kind, self._bus.round, prompt, detail, specialist, nth)
        if ask.status == "pending":
            self._bus.emit(
                HumanWaiting(
                    id=ask.id, kind=kind, prompt=prompt, detail=detail, specialist=specialist
                )
            )
        done = await self._answered(ask)
        self._bus.emit(
            HumanAnswered(id=done.id, kind=kind, answer=done.answer, approved=done.approved)
        )
        return done

    async def _answered(self, ask: Ask) -> Ask:
        if self._park_after is None or self._park is None or ask.status != "pending":
            return await self._book.wait(ask, self._poll)
        try:
            return await asyncio.wait_for(self._book.wait(ask, self._poll), self._park_after)
        except TimeoutError:
            self._park()
            return await self._book.wait(ask, self._poll)  # until the stop arrives (or the answer)


@dataclass(frozen=True)
class FilePeople:
    """The people of a run executing in another process (a Ray worker): a picklable
    `PeopleFactory` whose waits poll `people.json` for the answer the service records."""

    run_dir: Path
    scripted: bool = False  # a scenario's replies answer its questions; approvals wait here
    park_after: float | None = None  # then the run writes PARK_MARK and its worker stops it
    poll: float = POLL_SECONDS

    def __call__(self, bus: EventBus) -> People:
        http = HttpPeople(
            PendingBook(self.run_dir),
            bus,
            poll=self.poll,
            park_after=self.park_after,
            park=self._park,
        )
        return People(human=None if self.scripted else http, decide=http.decide)

    def _park(self) -> None:
        (self.run_dir / PARK_MARK).write_text("waiting for a person\n")
