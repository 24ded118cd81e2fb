"""Background schedules of the window: refreshing feeds on the pool with "n of m" progress,
training rounds on their own thread, and the Model page that shows them.

A training round starts after ``train_min_clicks`` new clicks or explicit feedback (the
article desk tells the scheduler of each one), or on the ``train_minutes`` timer when there is
at least one new click, whichever comes first; the first round as soon as "For you"'s
threshold of opened articles is reached (:func:`app.services.guard.round_due`). Never two at
once (a round that ends looks again, for the clicks that came meanwhile), and never while the
reader is typing in the search box: a due round waits until the box has been left alone for
:data:`SEARCH_IDLE_MS`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QLineEdit, QWidget

from app.services.preference import Preferences
from app.services.ranking import Ranking, TrainProgress, TrainReport
from app.services.refresh import RefreshProgress, RefreshSummary
from app.storage.database import Database
from app.ui import crash, task
from app.ui.activity import fetch_text
from app.ui.article import ArticleDesk
from app.ui.outline import FOR_YOU, Place
from app.ui.sidebar import SidebarModel
from app.ui.state import REFRESH, TRAIN, ViewState
from app.ui.trainer import TrainController
from app.ui.training import ModelDialog
from app.ui.worker import JobFailure, JobRunner, report

log = logging.getLogger(__name__)

FETCH_HISTORY = 5000
"""How many refreshes of single feeds this session's activity log keeps (the oldest go)."""

SEARCH_IDLE_MS = 3000
"""How long the search box must be left alone before a due training round starts."""


class Options(Protocol):
    """Which schedules run (the window's options)."""

    @property
    def auto_refresh(self) -> bool: ...
    @property
    def train_schedule(self) -> bool: ...


class Host(Protocol):
    """What the scheduler uses of the window."""

    db: Database
    runner: JobRunner
    ranker: Ranking
    prefs: Preferences
    state: ViewState[Place]
    sidebar: SidebarModel
    search: QLineEdit
    desk: ArticleDesk

    @property
    def options(self) -> Options: ...
    def window(self) -> QWidget: ...
    def say(self, text: str) -> None: ...
    def log_activity(self, feed_id: int | None, text: str) -> None: ...
    def reload_sidebar(self) -> None: ...
    def reload_river_if_idle(self) -> None: ...
    def current_feed_id(self) -> int | None: ...


class Scheduler(QObject):
    """Refreshes and trains for the window (its :class:`Host`), on timers and on request.

    ``refreshed(RefreshSummary)`` is emitted when a refresh ends (not when it fails);
    :attr:`refresh_started` is when it began.
    """

    refreshed = Signal(object)

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.state = window.state
        self.refresh_progress: tuple[int, int] = (0, 0)
        self.refresh_started: datetime | None = None
        self.fetches: deque[RefreshProgress] = deque(maxlen=FETCH_HISTORY)
        """Each feed's refreshes this session, oldest first (the activity panel lists them)."""
        self._refresh_cancel = threading.Event()
        self.model_dialog: ModelDialog | None = None
        self.trainer = TrainController(window.ranker, self, database=window.db.path)
        self.trainer.started.connect(self._on_trainer_started)
        self.trainer.progress.connect(self._on_trainer_progress)
        self.trainer.finished.connect(self._on_trainer_finished)
        self.trainer.errored.connect(self._on_trainer_errored)
        self.trainer.idle.connect(self._on_trainer_idle)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self.train_timer = QTimer(self)
        self.train_timer.timeout.connect(self._on_train_timer_timeout)
        self.typing_timer = QTimer(self)
        self.typing_timer.setSingleShot(True)
        self.typing_timer.setInterval(SEARCH_IDLE_MS)
        self.typing_timer.timeout.connect(self._on_typing_timer_timeout)
        self.checking = False
        """A check for a due round is on the pool."""
        self.pending = False
        """A due round waits for the search box to be left alone."""
        self._wired = False
        self._again: int | None = None
        """The threshold of a check asked for while another was on the pool."""

    @property
    def refreshing(self) -> bool:
        """A refresh runs (kept in the window's state)."""
        return self.state.is_busy(REFRESH)

    def apply_timers(self) -> None:
        self.refresh_timer.setInterval(self.w.prefs.refresh_minutes * 60_000)
        self.train_timer.setInterval(self.w.prefs.train_minutes * 60_000)
        if self.w.options.auto_refresh:
            self.refresh_timer.start()
        if self.w.options.train_schedule:
            self.train_timer.start()
        if not self._wired:  # the window's parts exist by now; connect them once
            self._wired = True
            self.w.search.textEdited.connect(self._on_search_text_edited)
            self.w.desk.clicked_recorded.connect(self._on_desk_clicked_recorded)
            self.w.desk.feedback_given.connect(self._on_desk_feedback_given)

    def shutdown(self) -> None:
        """Stop the timers, cancel the refresh and the training round, close the Model page."""
        self.refresh_timer.stop()
        self.train_timer.stop()
        self.typing_timer.stop()
        self.pending = False
        self._refresh_cancel.set()
        self.trainer.shutdown()
        if self.model_dialog is not None:
            self.model_dialog.close()

    def refresh(self, feed_ids: list[int] | None = None, *, due_only: bool = False) -> bool:
        """Refresh feeds on the pool; False when a refresh is already running."""
        if self.refreshing:
            self.w.say("A refresh is already running.")
            return False
        self.state.start(REFRESH)
        self.refresh_started = datetime.now(UTC)
        self._refresh_cancel = threading.Event()
        self.state.progress_text = "Refreshing…"
        self.state.progress_bar = (0, 0)
        self.w.runner.submit(
            "refreshing",
            task.refresh,
            self.w.db,
            feed_ids,
            due_only,
            self._refresh_cancel,
            done=self._on_refresh_done,
            failed=self._on_refresh_failed,
            progress=self._on_refresh_progress,
        )
        return True

    @Slot(object)
    def _on_refresh_progress(self, progress: RefreshProgress) -> None:
        self.refresh_progress = (progress.done, progress.total)
        self.state.progress_text = f"{progress.done} of {progress.total} feeds"
        self.state.progress_bar = (progress.done, progress.total)
        self.fetches.append(progress)
        # the feed's name is not in the text: whoever shows the line puts it before it
        self.w.log_activity(progress.feed_id, fetch_text(progress))

    @Slot(object)
    def _on_refresh_done(self, summary: RefreshSummary) -> None:
        self._end_refresh()  # each failure's error is in its feed's line (see fetch_text)
        text = f"Refreshed {summary.feeds} feeds: {summary.new} new articles"
        if summary.failed:
            text += f", {summary.failed} failed (see Feeds → Activity log)"
        self.w.say(text + ".")
        self.w.log_activity(None, text)
        self.w.reload_sidebar()
        if summary.new:
            self.w.reload_river_if_idle()
        self.refreshed.emit(summary)

    @Slot(object)
    def _on_refresh_failed(self, failure: JobFailure) -> None:
        self._end_refresh()
        report(self.w.runner, failure)

    def _end_refresh(self) -> None:
        self.state.finish(REFRESH)
        self.state.progress_text = ""
        self.state.progress_bar = None

    @Slot()
    def refresh_all(self) -> None:
        self.refresh()

    @Slot()
    def refresh_selected_feed(self) -> None:
        feed_id = self.w.current_feed_id()
        if feed_id is not None:
            self.refresh([feed_id])

    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        if not self.refreshing:
            self.refresh(due_only=True)

    # -- training --------------------------------------------------------------------------

    def train(self, *, epochs: int | None = None) -> bool:
        """Start a training round now; False when one is already running."""
        device = None if self.w.prefs.device == "auto" else self.w.prefs.device
        started = self.trainer.start(epochs=epochs, device=device)
        if not started:
            self.w.say("Training is already running.")
        return started

    @Slot()
    def train_now(self) -> None:
        self.train()

    def check_due(self, min_new_clicks: int) -> None:
        """Ask on the pool whether a round is due (``min_new_clicks`` new clicks since the last
        round, or none yet); start it when it is. Nothing to do while a round runs (its end
        looks again) or a check is already on its way."""
        if self.checking:  # look again once this check is answered: clicks came meanwhile
            again = self._again
            self._again = min_new_clicks if again is None else min(again, min_new_clicks)
            return
        if self.trainer.running or self.state.closed:
            return
        self.checking = True
        self._again = None
        self.w.runner.submit(
            "checking for new clicks",
            task.training_due,
            self.w.db,
            min_new_clicks,
            done=self._on_training_due,
            failed=self._on_training_due_failed,
        )

    @Slot()
    def _on_train_timer_timeout(self) -> None:
        self.check_due(1)  # the timer trains on whatever is new

    @Slot(int)
    def _on_desk_clicked_recorded(self, article_id: int) -> None:
        if self.w.options.train_schedule:
            self.check_due(self.w.prefs.train_min_clicks)

    @Slot(str)
    def _on_desk_feedback_given(self, kind: str) -> None:
        if self.w.options.train_schedule:  # "more / less like this" counts as a new click
            self.check_due(self.w.prefs.train_min_clicks)

    @Slot(object)
    def _on_training_due(self, due: bool) -> None:
        self.checking = False
        again, self._again = self._again, None
        if due and not self.state.closed:
            self._start_when_idle()
        elif again is not None:
            self.check_due(again)

    @Slot(object)
    def _on_training_due_failed(self, failure: JobFailure) -> None:
        self.checking = False
        self._again = None
        report(self.w.runner, failure)

    def _start_when_idle(self) -> None:
        """Start the due round now, or once the search box has been left alone."""
        if self.typing_timer.isActive():
            self.pending = True
            return
        self.pending = False
        if not self.trainer.running:
            self.train()

    @Slot(str)
    def _on_search_text_edited(self, text: str) -> None:
        self.typing_timer.start()  # (re)starts the quiet period

    @Slot()
    def _on_typing_timer_timeout(self) -> None:
        if self.pending and not self.state.closed:
            self._start_when_idle()

    @Slot()
    def _on_trainer_idle(self) -> None:
        if self.w.options.train_schedule and not self.state.closed:
            self.check_due(self.w.prefs.train_min_clicks)  # clicks that came during the round

    @Slot()
    def _on_trainer_started(self) -> None:
        self.state.start(TRAIN)
        self.w.say("Training the model on your clicks…")
        if self.model_dialog is not None:
            self.model_dialog.set_training(True, "Training…", 0.0)

    @Slot(object)
    def _on_trainer_progress(self, progress: TrainProgress) -> None:
        text = f"Training: {progress.stage}"
        if progress.loss is not None:
            text += f" (loss {progress.loss:.3f})"
        self.state.progress_text = text
        if self.model_dialog is not None:
            self.model_dialog.set_training(True, text, progress.fraction)

    @Slot(object)
    def _on_trainer_finished(self, result: TrainReport) -> None:
        self.state.finish(TRAIN)
        self.state.progress_text = ""
        self.w.say(result.summary())
        self.w.log_activity(None, result.summary())
        if self.model_dialog is not None:
            self.model_dialog.set_training(False, result.summary())
            self._load_versions()
        if not result.cancelled and self.state.place == FOR_YOU:
            self.w.reload_river_if_idle()

    @Slot(str, bool)
    def _on_trainer_errored(self, message: str, known: bool) -> None:
        self.state.finish(TRAIN)
        self.state.progress_text = ""
        if self.model_dialog is not None:
            self.model_dialog.set_training(False, message if known else "Training failed.")
        if known:
            self.w.say(f"Training: {message}")
        else:
            crash.show_crash(message, self.w.window())

    @Slot()
    def show_model_page(self) -> None:
        if self.model_dialog is None:
            dialog = ModelDialog(self.w.window())
            dialog.train_requested.connect(self.train_now)
            dialog.cancel_requested.connect(self._on_model_cancel_requested)
            self.model_dialog = dialog
        running = self.trainer.running
        self.model_dialog.set_training(running, "Training…" if running else "")
        self._load_versions()
        self.model_dialog.show()
        self.model_dialog.raise_()

    def _load_versions(self) -> None:
        self.w.runner.submit(
            "loading model versions",
            task.model_page,
            self.w.ranker,
            self.w.db,
            done=self._on_versions_loaded,
        )

    @Slot(object)
    def _on_versions_loaded(self, page: task.ModelPage) -> None:
        if self.model_dialog is not None:
            self.model_dialog.set_versions(page.versions, page.rounds, page.notice)

    @Slot()
    def _on_model_cancel_requested(self) -> None:
        self.trainer.cancel()
