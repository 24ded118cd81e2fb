"""Background work: the reader's failures in words, bugs as crashes, training on its own
thread; the window and its trainer tell the two apart as the command line and the model host
do (tests/unit/services/test_failure.py)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Slot
from pytestqt.qtbot import QtBot

from app.services.feedback import FeedbackError
from app.services.preference import PreferenceError
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


class FailingTrainer:
    """A ranker whose training round fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def train(self, **kwargs: object) -> object:
        raise self.error


def test_the_window_and_its_trainer_agree_on_the_readers_failures(
    tmp_path: Path, qtbot: QtBot
) -> None:
    database = tmp_path / "heedful.db"
    cases: list[tuple[Exception, str | None]] = [
        (FeedbackError("that article is gone"), "that article is gone"),
        (
            PreferenceError("refresh minutes must be at least 5"),
            "refresh minutes must be at least 5",
        ),
        (
            PermissionError(13, "Permission denied", "/p/models"),
            "cannot use /p/models: Permission denied",
        ),
        (sqlite3.OperationalError("database is locked"), str(database)),
        (KeyError("oops"), None),
        (ValueError("a bug"), None),
    ]
    for error, expected in cases:
        failure = JobFailure("saving", error, "Traceback ...", database)
        assert failure.known is (expected is not None), error
        if expected is not None:
            assert failure.reader is not None and expected in failure.reader
            assert failure.message() == f"saving: {failure.reader}"
        controller = TrainController(FailingTrainer(error), database=database)  # type: ignore[arg-type]
        with qtbot.waitSignal(controller.errored, timeout=5000) as errored:
            assert controller.start()
        message, known = errored.args
        assert known is (expected is not None), error
        if expected is not None:
            assert message == failure.reader
        else:
            assert "Traceback" in message and type(error).__name__ in message
        qtbot.waitUntil(lambda c=controller: not c.running, timeout=5000)  # type: ignore[misc]
        assert controller.shutdown()


def test_a_job_names_the_runners_database_in_a_sqlite_failure(tmp_path: Path, qtbot: QtBot) -> None:
    database = tmp_path / "heedful.db"
    runner = JobRunner(database=database)

    def locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    with qtbot.waitSignal(runner.problem, timeout=3000) as problem:
        runner.submit("saving", locked)
    assert problem.args[0].startswith("saving: ") and str(database) in problem.args[0]
    assert runner.shutdown()
