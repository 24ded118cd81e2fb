"""Background schedules of the window: refreshing feeds on the pool with "n of m" progress,
training rounds on their own thread, and the Model page that shows them."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Slot

from app.services.ranking import TrainProgress, TrainReport
from app.services.refresh import RefreshProgress, RefreshSummary
from app.storage.record import ModelVersionRecord
from app.ui import crash, task
from app.ui.sidebar import FOR_YOU
from app.ui.trainer import TrainController
from app.ui.training import ModelDialog
from app.ui.worker import JobFailure, report

if TYPE_CHECKING:
    from app.ui.window import MainWindow

log = logging.getLogger(__name__)


class Scheduler(QObject):
    """Refreshes and trains for a :class:`MainWindow`, on timers and on request."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.refreshing = False
        self.refresh_progress: tuple[int, int] = (0, 0)
        self._refresh_cancel = threading.Event()
        self.model_dialog: ModelDialog | None = None
        self.trainer = TrainController(window.ranker, self)
        self.trainer.started.connect(self._on_trainer_started)
        self.trainer.progress.connect(self._on_trainer_progress)
        self.trainer.finished.connect(self._on_trainer_finished)
        self.trainer.errored.connect(self._on_trainer_errored)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self.train_timer = QTimer(self)
        self.train_timer.timeout.connect(self._on_train_timer_timeout)

    def apply_timers(self) -> None:
        self.refresh_timer.setInterval(self.w.prefs.refresh_minutes * 60_000)
        self.train_timer.setInterval(self.w.prefs.train_minutes * 60_000)
        if self.w.options.auto_refresh:
            self.refresh_timer.start()
        if self.w.options.train_schedule:
            self.train_timer.start()

    def shutdown(self) -> None:
        """Stop the timers, cancel the refresh and the training round, close the Model page."""
        self.refresh_timer.stop()
        self.train_timer.stop()
        self._refresh_cancel.set()
        self.trainer.shutdown()
        if self.model_dialog is not None:
            self.model_dialog.close()

    def refresh(self, feed_ids: list[int] | None = None, *, due_only: bool = False) -> bool:
        """Refresh feeds on the pool; False when a refresh is already running."""
        if self.refreshing:
            self.w.say("A refresh is already running.")
            return False
        self.refreshing = True
        self._refresh_cancel = threading.Event()
        self.w.act_refresh.setEnabled(False)
        self.w.progress_label.setText("Refreshing…")
        self.w.progress_bar.setRange(0, 0)
        self.w.progress_bar.show()
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
        self.w.progress_label.setText(f"{progress.done} of {progress.total} feeds")
        self.w.progress_bar.setRange(0, progress.total)
        self.w.progress_bar.setValue(progress.done)
        feed = self.w.sidebar.feeds.get(progress.feed_id)
        name = feed.title if feed is not None else f"feed {progress.feed_id}"
        self.w.log_activity(progress.feed_id, f"{name}: {'fetched' if progress.ok else 'failed'}")

    @Slot(object)
    def _on_refresh_done(self, summary: RefreshSummary) -> None:
        self._end_refresh()
        for failure in summary.failures:
            self.w.log_activity(failure.feed_id, f"{failure.url}: {failure.message}")
        text = f"Refreshed {summary.feeds} feeds: {summary.new} new articles"
        if summary.failed:
            text += f", {summary.failed} failed (see Feeds → Activity log)"
        self.w.say(text + ".")
        self.w.log_activity(None, text)
        self.w.reload_sidebar()
        if summary.new:
            self.w.reload_river_if_idle()

    @Slot(object)
    def _on_refresh_failed(self, failure: JobFailure) -> None:
        self._end_refresh()
        report(self.w.runner, failure)

    def _end_refresh(self) -> None:
        self.refreshing = False
        self.w.act_refresh.setEnabled(True)
        self.w.progress_label.setText("")
        self.w.progress_bar.hide()

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

    @Slot()
    def _on_train_timer_timeout(self) -> None:
        if self.trainer.running:
            return
        self.w.runner.submit(
            "checking for new clicks",
            task.training_due,
            self.w.ranker,
            self.w.db,
            self.w.prefs.train_min_clicks,
            done=self._on_training_due,
        )

    @Slot(object)
    def _on_training_due(self, due: bool) -> None:
        if due and not self.w._closed:
            self.train()

    @Slot()
    def _on_trainer_started(self) -> None:
        self.w.say("Training the model on your clicks…")
        if self.model_dialog is not None:
            self.model_dialog.set_training(True, "Training…", 0.0)

    @Slot(object)
    def _on_trainer_progress(self, progress: TrainProgress) -> None:
        text = f"Training: {progress.stage}"
        if progress.loss is not None:
            text += f" (loss {progress.loss:.3f})"
        self.w.progress_label.setText(text)
        if self.model_dialog is not None:
            self.model_dialog.set_training(True, text, progress.fraction)

    @Slot(object)
    def _on_trainer_finished(self, result: TrainReport) -> None:
        self.w.progress_label.setText("")
        self.w.say(result.summary())
        self.w.log_activity(None, result.summary())
        if self.model_dialog is not None:
            self.model_dialog.set_training(False, result.summary())
            self._load_versions()
        if not result.cancelled and self.w.place == FOR_YOU:
            self.w.reload_river_if_idle()

    @Slot(str, bool)
    def _on_trainer_errored(self, message: str, known: bool) -> None:
        self.w.progress_label.setText("")
        if self.model_dialog is not None:
            self.model_dialog.set_training(False, message if known else "Training failed.")
        if known:
            self.w.say(f"Training: {message}")
        else:
            crash.show_crash(message, self.w)

    @Slot()
    def show_model_page(self) -> None:
        if self.model_dialog is None:
            dialog = ModelDialog(self.w)
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
            "loading model versions", self.w.ranker.model_versions, done=self._on_versions_loaded
        )

    @Slot(object)
    def _on_versions_loaded(self, versions: list[ModelVersionRecord]) -> None:
        if self.model_dialog is not None:
            self.model_dialog.set_versions(versions)

    @Slot()
    def _on_model_cancel_requested(self) -> None:
        self.trainer.cancel()
