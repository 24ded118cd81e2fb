"""The window's full collection passes wait until the reader leaves it alone
(app.ui.sweeper): never while they scroll or background work runs, and never put off for
longer than AT_MOST_S."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QObject

from app.services import collector
from app.ui import sweeper
from app.ui.sweeper import Sweeper


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parent(qapp: object) -> Iterator[QObject]:
    thresholds = gc.get_threshold()
    owner = QObject()
    yield owner
    gc.set_threshold(*thresholds)


@dataclass
class Made:
    """A sweeper on a clock the test moves, with something pending to collect."""

    sweeper: Sweeper
    clock: Clock
    busy: list[bool]


@pytest.fixture
def made(parent: QObject, monkeypatch: pytest.MonkeyPatch) -> Iterator[Made]:
    monkeypatch.setattr(collector, "pending", lambda: True)
    clock, busy = Clock(), [False]
    s = Sweeper(parent, lambda: busy[0], clock)
    yield Made(s, clock, busy)
    s.stop()


def test_it_defers_the_full_passes_while_it_runs_and_gives_them_back_when_stopped(
    parent: QObject,
) -> None:
    before = gc.get_threshold()
    s = Sweeper(parent, lambda: False)
    assert gc.get_threshold()[2] == collector.FULL_PASS_EVERY
    s.stop()
    assert gc.get_threshold() == before


def test_a_pass_waits_for_the_reader_to_leave_the_window_alone(made: Made) -> None:
    s, clock = made.sweeper, made.clock
    clock.now += sweeper.EVERY_S
    s.touch()  # scrolling right now
    assert not s.due()
    clock.now += sweeper.IDLE_S - 0.5
    assert not s.due()
    clock.now += 0.5
    assert s.due()
    s.check()
    assert len(s.passes) == s.count == 1
    clock.now += sweeper.IDLE_S  # idle still, but a pass ran just now
    assert not s.due()


def test_background_work_holds_a_pass_back_until_it_has_waited_too_long(made: Made) -> None:
    s, clock = made.sweeper, made.clock
    made.busy[0] = True
    clock.now += sweeper.EVERY_S + sweeper.IDLE_S
    assert not s.due()  # a refresh is running
    made.busy[0] = False
    assert s.due()
    made.busy[0] = True
    clock.now += sweeper.AT_MOST_S
    s.touch()
    assert s.due()  # busy and in use, but ten minutes without a pass is the limit


def test_nothing_runs_when_nothing_reached_the_oldest_generation(
    made: Made, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector, "pending", lambda: False)
    made.clock.now += sweeper.AT_MOST_S
    assert not made.sweeper.due()
    made.sweeper.check()
    assert made.sweeper.passes == []
