"""Training rounds as the window's jobs (:class:`app.ui.worker.Job`), one at a time, with
progress and cancellation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from app.services.ranking import Ranking, TrainProgress, TrainReport
from app.ui.worker import Job, JobFailure

log = logging.getLogger(__name__)


class TrainController(QObject):
    """Starts training rounds one at a time on a thread of its own; its signals come in the
    GUI thread: ``started()``, ``progress(TrainProgress)``, ``finished(TrainReport)``,
    ``errored(str message, bool known)`` (the reader's line, or a bug's traceback), and
    ``idle()`` once a round has ended and another may start. ``database`` is the profile's
    database file, named in a SQLite failure."""

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
        self._pool = QThreadPool(self)
        self._pool.setObjectName("heedful-train")
        self._pool.setMaxThreadCount(1)
        self._pool.setExpiryTimeout(0)  # rounds are minutes apart: no thread waits between them
        self._job: Job | None = None
        self._retired: Job | None = None  # released one round later, never in its own signal

    @property
    def running(self) -> bool:
        return self._job is not None

    def start(self, *, epochs: int | None = None, device: str | None = None) -> bool:
        """Begin a round; False when one is already running."""
        if self._job is not None:
            return False

        def train(report: Callable[[TrainProgress], None]) -> TrainReport:
            self.started.emit()  # queued to the GUI thread's slots, as the rest
            return self._ranker.train(
                epochs=epochs, device=device, progress=report, should_stop=job.cancel.is_set
            )

        job = Job("training", train, with_progress=True, database=self._database)
        job.setAutoDelete(False)
        job.signals.progress.connect(self.progress)
        job.signals.finished.connect(self.finished)
        job.signals.failed.connect(self._on_job_failed)
        job.signals.ended.connect(self._on_job_ended)
        self._job = job
        self._pool.start(job)
        return True

    def cancel(self) -> None:
        """Ask the running round (if any) to stop at its next batch; the previous model stays
        in use."""
        if self._job is not None:
            self._job.cancel.set()

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Cancel and wait for the round to end; True when it has."""
        if self._job is None:
            return True
        self.cancel()
        ended = self._pool.waitForDone(timeout_ms)
        self._retired, self._job = self._job, None
        return bool(ended)

    @Slot(object)
    def _on_job_failed(self, failure: JobFailure) -> None:
        if failure.reader is not None:
            log.info("training did not run: %s", failure.reader)
            self.errored.emit(failure.reader, True)
        else:
            log.error("training failed unexpectedly:\n%s", failure.details)
            self.errored.emit(failure.details, False)

    @Slot()
    def _on_job_ended(self) -> None:
        if self._job is not None and self._job.signals is self.sender():
            self._retired, self._job = self._job, None
            self.idle.emit()
