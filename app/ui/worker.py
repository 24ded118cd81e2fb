"""Background work for the window: short jobs on a thread pool, reported back by signals.

A job's signals live on a QObject created in the GUI thread; connecting them to slots of
GUI-thread objects makes Qt deliver every report in the GUI thread (queued connections).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.services.failure import reader_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobFailure:
    """Why a job failed: the exception, its traceback text, and (``database``) the profile's
    database file to name when it is a SQLite failure."""

    name: str
    error: BaseException
    details: str
    database: Path | None = None

    @property
    def reader(self) -> str | None:
        """The line for the reader (see :func:`reader_message`); None when it is a bug, told
        with its traceback and the crash dialog."""
        return reader_message(self.error, self.database)

    @property
    def known(self) -> bool:
        return self.reader is not None

    def message(self) -> str:
        """A sentence for the status bar."""
        text = self.reader or str(self.error) or type(self.error).__name__
        return f"{self.name}: {text}"


class JobSignals(QObject):
    """What a job reports; created in the GUI thread."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    ended = Signal()


class Job(QRunnable):
    """Runs ``fn(*args)`` on a pool thread; with ``progress=True`` it also gets ``report=``."""

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        with_progress: bool = False,
        database: Path | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.signals = JobSignals()
        self._fn = fn
        self._args = args
        self._with_progress = with_progress
        self._database = database
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            if self._with_progress:
                result = self._fn(*self._args, report=self.signals.progress.emit)
            else:
                result = self._fn(*self._args)
        except Exception as exc:
            failure = JobFailure(self.name, exc, traceback.format_exc(), self._database)
            self.signals.failed.emit(failure)
        else:
            self.signals.finished.emit(result)
        finally:
            self.signals.ended.emit()


class JobRunner(QObject):
    """Owns the window's thread pool and the jobs in flight.

    ``problem`` carries the reader's failures in words; ``crashed`` carries bugs (with
    traceback). ``database`` is the profile's database file, named in a SQLite failure.
    """

    problem = Signal(str)
    crashed = Signal(str)

    def __init__(
        self, parent: QObject | None = None, *, threads: int = 4, database: Path | None = None
    ) -> None:
        super().__init__(parent)
        self._database = database
        self._pool = QThreadPool(self)
        self._pool.setObjectName("heedful-jobs")
        self._pool.setMaxThreadCount(threads)
        self._jobs: set[Job] = set()
        self._retired: list[Job] = []

    def submit(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[Any], None] | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> Job:
        """Start ``fn(*args)``; ``done``/``failed``/``progress`` must be slots of GUI objects.

        Without ``failed``, failures go to :attr:`problem` or :attr:`crashed`.
        """
        job = Job(name, fn, *args, with_progress=progress is not None, database=self._database)
        job.setAutoDelete(False)
        if done is not None:
            job.signals.finished.connect(done)
        job.signals.failed.connect(failed if failed is not None else self._on_job_failed)
        if progress is not None:
            job.signals.progress.connect(progress)
        job.signals.ended.connect(self._on_job_ended)
        self._jobs.add(job)
        self._pool.start(job)
        return job

    def pending(self) -> int:
        """Jobs started and not yet reported back."""
        return len(self._jobs)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel what has not started, wait for the rest; True when everything ended."""
        self._pool.clear()
        for job in self._jobs:
            job.cancel.set()
        done = self._pool.waitForDone(timeout_ms)
        self._jobs.clear()
        self._retired.clear()
        return done

    @Slot(object)
    def _on_job_failed(self, failure: JobFailure) -> None:
        report(self, failure)

    @Slot()
    def _on_job_ended(self) -> None:
        # A job's signal object is released one report later, never inside its own signal.
        self._retired.clear()
        sender = self.sender()
        for job in list(self._jobs):
            if job.signals is sender:
                self._jobs.discard(job)
                self._retired.append(job)


def report(runner: JobRunner, failure: JobFailure) -> None:
    """Send a failure where it belongs: words for the reader's, log and crash dialog for bugs."""
    if failure.known:
        log.warning("%s", failure.message())
        runner.problem.emit(failure.message())
    else:
        log.error("%s failed unexpectedly:\n%s", failure.name, failure.details)
        runner.crashed.emit(failure.details)
