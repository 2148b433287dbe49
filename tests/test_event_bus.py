"""The event bus: the run's log is a critical subscriber (its failure stops the run, it is
never silently dropped); displays are not (one that fails is dropped); a slow display runs
in the background and never holds up `emit`."""

from __future__ import annotations

import threading

import pytest

from orchestrator.events import Background, Event, EventBus, RoundStarted, TeamReset


class Disk:
    def __init__(self) -> None:
        self.lines: list[int] = []
        self.full = False

    def __call__(self, event: Event) -> None:
        if self.full:
            raise OSError(28, "No space left on device")
        self.lines.append(event.seq)


def test_a_failing_log_breaks_the_bus_and_every_later_emit_raises() -> None:
    bus = EventBus("r")
    disk, shown = Disk(), list[int]()
    bus.subscribe(disk, critical=True)
    bus.subscribe(lambda e: shown.append(e.seq))
    bus.emit(RoundStarted())
    disk.full = True
    with pytest.raises(OSError, match="No space"):
        bus.emit(RoundStarted())
    disk.full = False  # space is back, but the log has a gap now: the run must not go on
    with pytest.raises(OSError, match="No space"):
        bus.emit(TeamReset())
    assert disk.lines == [1]
    assert shown == [1, 2, 3], "the display still saw what happened"
    bus.emit_if_possible(TeamReset())  # a stopping run's last words do not raise again
    assert shown[-1] == 4


def test_a_failing_display_is_dropped_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bus = EventBus("r")
    disk = Disk()
    bus.subscribe(disk, critical=True)

    def broken(event: Event) -> None:
        raise ValueError("display bug")

    bus.subscribe(broken)
    bus.emit(RoundStarted())
    bus.emit(RoundStarted())
    assert disk.lines == [1, 2]
    assert capsys.readouterr().err.count("display bug") == 1


def test_a_blocked_display_does_not_hold_up_emit_and_sees_every_event_in_order() -> None:
    release = threading.Event()
    seen: list[int] = []

    def slow(event: Event) -> None:
        release.wait()
        seen.append(event.seq)

    view = Background(slow)
    bus = EventBus("r")
    bus.subscribe(view)
    for _ in range(50):
        bus.emit(RoundStarted())  # returns although the view is stuck on the first event
    assert seen == []
    release.set()
    bus.close()
    assert seen == list(range(1, 51))


def test_a_background_view_over_its_limit_skips_rather_than_blocks() -> None:
    release = threading.Event()
    view = Background(lambda e: release.wait(), limit=3)
    bus = EventBus("r")
    bus.subscribe(view)
    for _ in range(10):
        bus.emit(RoundStarted())
    assert view.skipped >= 6
    release.set()
    bus.close()
