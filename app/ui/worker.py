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
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.feeds.fetcher import FetchError
from app.feeds.opml import OpmlError
from app.services.activity import ActivityError
from app.services.mute import MuteError
from app.services.ranking import RankingError
from app.services.subscription import SubscriptionError
from app.storage.database import StorageError

log = logging.getLogger(__name__)

KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    StorageError,
    SubscriptionError,
    ActivityError,
    RankingError,
    MuteError,
    FetchError,
    OpmlError,
    OSError,
    ValueError,
)
"""Failures told to the reader in words; anything else is a bug (traceback and crash dialog)."""


@dataclass(frozen=True)
class JobFailure:
    """Why a job failed: the exception, its traceback text, and whether it is a known failure."""

    name: str
    error: BaseException
    details: str

    @property
    def known(self) -> bool:
        return isinstance(self.error, KNOWN_ERRORS)

    def message(self) -> str:
        """A sentence for the status bar."""
        text = str(self.error) or type(self.error).__name__
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
        self, name: str, fn: Callable[..., Any], *args: Any, with_progress: bool = False
    ) -> None:
        super().__init__()
        self.name = name
        self.signals = JobSignals()
        self._fn = fn
        self._args = args
        self._with_progress = with_progress
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            if self._with_progress:
                result = self._fn(*self._args, report=self.signals.progress.emit)
            else:
                result = self._fn(*self._args)
        except Exception as exc:
            self.signals.failed.emit(JobFailure(self.name, exc, traceback.format_exc()))
        else:
            self.signals.finished.emit(result)
        finally:
            self.signals.ended.emit()


class JobRunner(QObject):
    """Owns the window's thread pool and the jobs in flight.

    ``problem`` carries known failures in words; ``crashed`` carries bugs (with traceback).
    """

    problem = Signal(str)
    crashed = Signal(str)

    def __init__(self, parent: QObject | None = None, *, threads: int = 4) -> None:
        super().__init__(parent)
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
        job = Job(name, fn, *args, with_progress=progress is not None)
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
    """Send a failure where it belongs: words for known ones, log and crash dialog for bugs."""
    if failure.known:
        log.warning("%s", failure.message())
        runner.problem.emit(failure.message())
    else:
        log.error("%s failed unexpectedly:\n%s", failure.name, failure.details)
        runner.crashed.emit(failure.details)
