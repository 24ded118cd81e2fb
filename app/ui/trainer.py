"""Training rounds on their own QThread, with progress and cancellation."""

from __future__ import annotations

import logging
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.services.failure import reader_message
from app.services.ranking import Ranking, TrainProgress, TrainReport

log = logging.getLogger(__name__)


class TrainWorker(QObject):
    """Runs one training round in the thread it is moved to.

    Signals: ``started()``, ``progress(TrainProgress)``, ``finished(TrainReport)``,
    ``errored(str message, bool known)``; ``done()`` always comes last. ``database`` is the
    profile's database file, named in a SQLite failure.
    """

    started = Signal()
    progress = Signal(object)
    finished = Signal(object)
    errored = Signal(str, bool)
    done = Signal()

    def __init__(
        self,
        ranker: Ranking,
        *,
        epochs: int | None,
        device: str | None,
        database: Path | None = None,
    ) -> None:
        super().__init__()
        self._ranker = ranker
        self._epochs = epochs
        self._device = device
        self._database = database
        self._stop = threading.Event()

    def cancel(self) -> None:
        """Ask the round to stop at its next batch; the previous model stays in use."""
        self._stop.set()

    def _report(self, progress: TrainProgress) -> None:
        self.progress.emit(progress)

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            report: TrainReport = self._ranker.train(
                epochs=self._epochs,
                device=self._device,
                progress=self._report,
                should_stop=self._stop.is_set,
            )
        except Exception as exc:
            message = reader_message(exc, self._database)
            if message is not None:
                log.info("training did not run: %s", message)
                self.errored.emit(message, True)
            else:
                details = traceback.format_exc()
                log.error("training failed unexpectedly:\n%s", details)
                self.errored.emit(details, False)
        else:
            self.finished.emit(report)
        finally:
            self.done.emit()


class TrainController(QObject):
    """Starts training rounds one at a time and forwards their signals to the GUI thread;
    ``idle()`` comes once a round's thread has ended and another may start."""

    started = Signal()
    progress = Signal(object)
    finished = Signal(object)
    errored = Signal(str, bool)
    idle = Signal()

    def __init__(
        self, ranker: Ranking, parent: QObject | None = None, *, database: Path | None = None
    ) -> None:
        super().__init__(parent)
        self._ranker = ranker
        self._database = database
        self._thread: QThread | None = None
        self._worker: TrainWorker | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, *, epochs: int | None = None, device: str | None = None) -> bool:
        """Begin a round; False when one is already running."""
        if self._thread is not None:
            return False
        thread = QThread()
        thread.setObjectName("heedful-train")
        worker = TrainWorker(self._ranker, epochs=epochs, device=device, database=self._database)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.started.connect(self._on_worker_started)
        worker.progress.connect(self._on_worker_progress)
        worker.finished.connect(self._on_worker_finished)
        worker.errored.connect(self._on_worker_errored)
        worker.done.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the running round (if any) to stop."""
        if self._worker is not None:
            self._worker.cancel()

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Cancel and wait for the thread to end; True when it has."""
        thread = self._thread
        if thread is None:
            return True
        self.cancel()
        thread.quit()
        ended = thread.wait(timeout_ms)
        self._release()
        return bool(ended)

    def _release(self) -> None:
        self._thread = None
        self._worker = None

    @Slot()
    def _on_worker_started(self) -> None:
        self.started.emit()

    @Slot(object)
    def _on_worker_progress(self, progress: TrainProgress) -> None:
        self.progress.emit(progress)

    @Slot(object)
    def _on_worker_finished(self, report: TrainReport) -> None:
        self.finished.emit(report)

    @Slot(str, bool)
    def _on_worker_errored(self, message: str, known: bool) -> None:
        self.errored.emit(message, known)

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is not None and self._thread.isFinished():
            self._release()
            self.idle.emit()
