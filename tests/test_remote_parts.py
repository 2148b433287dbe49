"""The parts that let a run execute in another process than the service (`serve --backend
ray`): the log tail the service follows, and `people.json` shared by two processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.errors import OrchestratorError
from orchestrator.events import EventBus, RoundStarted, RunInterrupted, RunStarted
from orchestrator.feed import LogTail
from orchestrator.service.people import FilePeople, PendingBook
from orchestrator.store import EVENTS, RunStore
from specialists.base import ApprovalRequest


async def until_true(check: Callable[[], object]) -> None:
    """Files written by another party: nothing to await but the file itself."""
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {check}")


def log(run: Path, count: int, first: int = 1) -> None:
    store = RunStore(run)
    bus = EventBus("r", next_seq=first)
    bus.subscribe(store.append_event, critical=True)
    for _ in range(count):
        bus.emit(RoundStarted())
    store.close()


def test_the_tail_starts_at_the_end_and_takes_only_whole_lines(tmp_path: Path) -> None:
    log(tmp_path, 3)
    tail = LogTail(tmp_path)
    assert tail.read() == []  # what was there before is read from the file by the feed
    with (tmp_path / EVENTS).open("ab") as handle:
        line = RunStarted(run_id="r", seq=4, task="t", team=[], limits={}).model_dump_json()
        handle.write(line[:20].encode())  # being written
        assert tail.read() == []
        handle.write(line[20:].encode() + b"\n" + b"not an event\n")
    assert [e.seq for e in tail.read()] == [4]  # the garbage line is skipped, as in `events()`
    log(tmp_path, 2, first=5)
    assert [e.seq for e in tail.read()] == [5, 6]


def test_a_torn_last_line_is_not_counted_as_read(tmp_path: Path) -> None:
    log(tmp_path, 2)
    with (tmp_path / EVENTS).open("ab") as handle:
        handle.write(b'{"schema_version": 1, "ty')  # a crash mid-write
    tail = LogTail(tmp_path)
    log(tmp_path, 1, first=3)  # a resumed run cuts the torn line, then appends
    assert [e.seq for e in tail.read()] == [3]


def test_a_log_cut_back_and_appended_to_is_read_again_without_repeats(tmp_path: Path) -> None:
    """A resumed run sets aside the events past its last checkpoint: the file is cut back
    (its `run_interrupted` kept) and appended to, with numbers never given out before."""
    log(tmp_path, 4)
    store = RunStore(tmp_path)
    bus = EventBus("r", next_seq=5)
    bus.subscribe(store.append_event, critical=True)
    bus.emit(RunInterrupted(reason="killed"))
    store.close()
    tail = LogTail(tmp_path)
    committed = sum(map(len, (tmp_path / EVENTS).read_bytes().splitlines(keepends=True)[:3]))
    assert [e.seq for e in RunStore(tmp_path).set_aside(committed)] == [4]
    assert [e.seq for e in RunStore(tmp_path).events()] == [1, 2, 3, 5]
    log(tmp_path, 2, first=6)
    assert [e.seq for e in tail.read()] == [6, 7]
    log(tmp_path, 1, first=8)
    assert [e.seq for e in tail.read()] == [8]


ADD_ASKS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from orchestrator.service.people import PendingBook
    book = PendingBook(Path(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        book.find_or_add("question", 1, f"q{i}", "", "user", 0)
    """
)


def test_two_processes_change_the_book_without_losing_a_change(tmp_path: Path) -> None:
    """The run (a worker) adds asks while the service answers them: every write is a
    read-modify-write under the lock, so neither side overwrites the other's change."""
    count = 40
    adder = subprocess.Popen([sys.executable, "-c", ADD_ASKS, str(tmp_path), str(count)])
    book = PendingBook(tmp_path)
    answered: set[str] = set()
    while adder.poll() is None or len(answered) < len(book.asks()):
        for ask in book.pending():
            book.answer(ask.id, answer=f"a-{ask.prompt}")
            answered.add(ask.id)
    assert adder.returncode == 0
    asks = PendingBook(tmp_path).asks()
    assert [a.prompt for a in asks] == [f"q{i}" for i in range(count)]
    assert all(a.status == "answered" and a.answer == f"a-{a.prompt}" for a in asks)


async def test_a_run_elsewhere_finds_the_answer_the_service_recorded(tmp_path: Path) -> None:
    bus = EventBus("r")
    seen: list[str] = []
    bus.subscribe(lambda e: seen.append(e.type))  # type: ignore[attr-defined]
    people = FilePeople(tmp_path, poll=0.02)(bus)  # as on a worker: no shared memory
    assert people.decide is not None
    asked = asyncio.create_task(people.decide(ApprovalRequest("coder", "run code", "print(1)")))
    service = PendingBook(tmp_path)  # the service's own view of the same file
    await until_true(service.pending)
    assert not asked.done()
    service.answer(service.pending()[0].id, approved=True)
    assert await asyncio.wait_for(asked, 5) is True
    assert seen == ["human_waiting", "human_answered"]


async def test_a_wait_past_park_after_asks_to_be_parked(tmp_path: Path) -> None:
    from orchestrator.ray_runs import PARK_MARK

    people = FilePeople(tmp_path, park_after=0.05, poll=0.02)(EventBus("r"))
    assert people.human is not None
    asked = asyncio.create_task(people.human.ask("Which number?"))
    await until_true((tmp_path / PARK_MARK).exists)  # the worker's watcher then stops the run
    assert not asked.done()  # it goes on waiting until that stop (or the answer) comes
    book = PendingBook(tmp_path)
    book.answer(book.pending()[0].id, answer="7")
    assert await asyncio.wait_for(asked, 5) == "7"


def test_without_ray_the_ray_backend_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orchestrator.ray_runs import RayRuns

    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(OrchestratorError, match=r"pip install 'orchestrator\[ray\]'"):
        RayRuns()
