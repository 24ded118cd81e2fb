"""Background work: known failures in words, bugs as crashes, training on its own thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, Slot
from pytestqt.qtbot import QtBot

from app.services.profile import Profile
from app.services.ranking import Ranker
from app.storage.database import StorageError
from app.ui.trainer import TrainController
from app.ui.worker import JobFailure, JobRunner


class Sink(QObject):
    """A GUI-thread receiver that records what arrived and in which thread."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []
        self.threads: list[QThread] = []

    @Slot(object)
    def take(self, value: object) -> None:
        self.results.append(value)
        self.threads.append(QThread.currentThread())


def work(x: int) -> int:
    return x * 2


def disk_full() -> None:
    raise StorageError("the disk is full")


def bug() -> None:
    raise KeyError("oops")


def counting(n: int, *, report: object) -> str:
    for i in range(n):
        report(i)  # type: ignore[operator]
    return threading.current_thread().name


def test_results_arrive_in_the_gui_thread(qtbot: QtBot) -> None:
    runner = JobRunner()
    sink = Sink()
    progress = Sink()
    runner.submit("doubling", work, 21, done=sink.take)
    runner.submit("counting", counting, 3, done=sink.take, progress=progress.take)
    qtbot.waitUntil(lambda: len(sink.results) == 2 and runner.pending() == 0, timeout=3000)
    assert 42 in sink.results
    assert progress.results == [0, 1, 2]
    assert all(t is QThread.currentThread() for t in sink.threads + progress.threads)
    assert runner.shutdown()


def test_known_failures_become_words_and_bugs_crashes(qtbot: QtBot) -> None:
    runner = JobRunner()
    with qtbot.waitSignal(runner.problem, timeout=3000) as problem:
        runner.submit("saving", disk_full)
    assert problem.args == ["saving: the disk is full"]
    with qtbot.waitSignal(runner.crashed, timeout=3000) as crashed:
        runner.submit("thinking", bug)
    assert "KeyError: 'oops'" in crashed.args[0]
    assert "Traceback" in crashed.args[0]
    sink = Sink()
    runner.submit("thinking", bug, failed=sink.take)
    qtbot.waitUntil(lambda: bool(sink.results), timeout=3000)
    failure = sink.results[0]
    assert isinstance(failure, JobFailure) and not failure.known
    assert runner.shutdown()


def test_training_without_clicks_is_refused_in_words(profile: Profile, qtbot: QtBot) -> None:
    controller = TrainController(Ranker(profile))
    with qtbot.waitSignal(controller.errored, timeout=60000) as errored:
        assert controller.start(epochs=1)
        assert controller.running
        assert not controller.start()
    message, known = errored.args
    assert known
    assert "at least" in message
    qtbot.waitUntil(lambda: not controller.running, timeout=5000)
    assert controller.shutdown()
