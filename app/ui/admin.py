"""Subscriptions and settings from the window: add, import, export, edit and delete feeds,
mute rules, the settings dialog, the activity log, help and about."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QListView, QMessageBox, QWidget

from app.services import feed as feed_service
from app.services import mute, preference, subscription
from app.services.highlight import highlight_rule
from app.services.profile import Profile
from app.storage.database import Database
from app.storage.record import FeedRecord
from app.ui import task
from app.ui.activity import event_line
from app.ui.delegate import RiverDelegate
from app.ui.help import HelpDialog
from app.ui.mute import MuteDialog
from app.ui.outline import LATEST, Place
from app.ui.preference import SettingsDialog
from app.ui.river import RiverModel
from app.ui.schedule import Options, Scheduler
from app.ui.sidebar import SidebarModel
from app.ui.subscription import AddFeedDialog, FailedFeedsDialog, FeedPropertiesDialog
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)


class Host(Protocol):
    """What the admin uses of the window: its feeds, river, schedules and preferences."""

    profile: Profile
    db: Database
    runner: JobRunner
    prefs: preference.Preferences
    sidebar: SidebarModel
    river: RiverModel
    river_view: QListView
    scheduler: Scheduler

    @property
    def options(self) -> Options: ...
    @property
    def activity(self) -> Sequence[tuple[datetime, int | None, str]]: ...
    def window(self) -> QWidget: ...
    def say(self, text: str) -> None: ...
    def log_activity(self, feed_id: int | None, text: str) -> None: ...
    def show_place(self, place: Place) -> None: ...
    def current_feed_id(self) -> int | None: ...
    def reload_sidebar(self) -> None: ...
    def reload_river_if_idle(self) -> None: ...
    def after_feeds_moved(self) -> None: ...


class FeedAdmin(QObject):
    """The window's commands that manage subscriptions and preferences."""

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window

    def add_feed(self, url: str, folder: str | None = None) -> None:
        """Subscribe in the background (the address is fetched, pages searched for feeds)."""
        self.w.say(f"Adding {url}…")
        self.w.runner.submit(
            "adding a feed", task.add_feed, self.w.db, url, folder, done=self._on_feed_added
        )

    @Slot(object)
    def _on_feed_added(self, feed: object) -> None:
        title = getattr(feed, "title", "the feed")
        self.w.say(f"Subscribed to {title}.")
        self.w.reload_sidebar()
        self.w.reload_river_if_idle()

    @Slot()
    def ask_add_feed(self) -> None:
        dialog = AddFeedDialog(
            sorted({f.folder for f in self.w.sidebar.feeds.values() if f.folder}), self.w.window()
        )
        if dialog.exec() == AddFeedDialog.DialogCode.Accepted:
            self.add_feed(dialog.url(), dialog.folder())

    def import_opml(self, path: Path) -> None:
        self.w.runner.submit(
            "importing OPML", subscription.import_opml, self.w.db, path, done=self._on_imported
        )

    @Slot(object)
    def _on_imported(self, result: subscription.ImportReport) -> None:
        text = f"Imported {result.added} feeds"
        if result.skipped:
            text += f", skipped {result.skipped}"
        self.w.say(text + ".")
        for problem in result.problems:
            self.w.log_activity(None, f"import: {problem}")
        self.w.reload_sidebar()
        if result.added and self.w.options.auto_refresh:
            self.w.scheduler.refresh(due_only=True)

    @Slot()
    def ask_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self.w.window(),
            "Import subscriptions",
            str(Path.home()),
            "OPML files (*.opml *.xml);;All files (*)",
        )
        if name:
            self.import_opml(Path(name))

    def export_opml(self, path: Path) -> None:
        self.w.runner.submit(
            "exporting OPML", subscription.export_opml, self.w.db, path, done=self._on_exported
        )

    @Slot(object)
    def _on_exported(self, count: int) -> None:
        self.w.say(f"Exported {count} feeds.")

    @Slot()
    def ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self.w.window(),
            "Export subscriptions",
            str(Path.home() / "heedful.opml"),
            "OPML files (*.opml)",
        )
        if name:
            self.export_opml(Path(name))

    @Slot()
    def edit_feed(self) -> None:
        feed_id = self.w.current_feed_id()
        feed = self.w.sidebar.feeds.get(feed_id) if feed_id is not None else None
        if feed is None:
            self.w.say("Select a feed in the sidebar first.")
            return
        lines = [
            f"{when:%H:%M:%S}  {text}" for when, fid, text in self.w.activity if fid == feed.id
        ]
        folders = sorted({f.folder for f in self.w.sidebar.feeds.values() if f.folder})
        dialog = FeedPropertiesDialog(feed, folders, lines, self.w.window())
        if dialog.exec() == FeedPropertiesDialog.DialogCode.Accepted:
            self.w.runner.submit(
                "saving the feed",
                feed_service.update,
                self.w.db,
                feed.id,
                dialog.edit(),
                done=self._on_feed_saved,
            )

    @Slot(object)
    def _on_feed_saved(self, feed: FeedRecord) -> None:
        before = self.w.sidebar.feeds.get(feed.id)
        self.w.say("Feed saved.")
        self.w.river.rename_feed(feed.id, feed.title)
        if before is not None and before.folder != feed.folder:
            self.w.after_feeds_moved()
        else:
            self.w.reload_sidebar()

    def delete_feed(self, feed_id: int) -> None:
        self.w.runner.submit(
            "deleting the feed", feed_service.delete, self.w.db, feed_id, done=self._on_feed_deleted
        )

    @Slot(object)
    def _on_feed_deleted(self, _: object) -> None:
        self.w.say("Feed deleted.")
        self.w.show_place(LATEST)
        self.w.reload_sidebar()

    @Slot()
    def ask_delete_feed(self) -> None:
        feed_id = self.w.current_feed_id()
        feed = self.w.sidebar.feeds.get(feed_id) if feed_id is not None else None
        if feed is None:
            self.w.say("Select a feed in the sidebar first.")
            return
        answer = QMessageBox.question(
            self.w.window(),
            "Delete feed",
            f"Unsubscribe from {feed.title} and delete its {feed.total} articles?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_feed(feed.id)

    @Slot()
    def ask_delete_failed(self) -> None:
        failing = feed_service.failing(list(self.w.sidebar.feeds.values()))
        if not failing:
            self.w.say("No feed failed at its last refresh.")
            return
        dialog = FailedFeedsDialog(failing, self.w.window())
        if dialog.exec() == FailedFeedsDialog.DialogCode.Accepted and dialog.chosen():
            self.delete_feeds(dialog.chosen())

    def delete_feeds(self, feed_ids: list[int]) -> None:
        """Unsubscribe from several feeds at once, each as deleting one feed does."""
        self.w.runner.submit(
            "deleting feeds",
            feed_service.delete_many,
            self.w.db,
            feed_ids,
            done=self._on_feeds_deleted,
        )
        if self.w.current_feed_id() in feed_ids:
            self.w.show_place(LATEST)

    @Slot(object)
    def _on_feeds_deleted(self, count: int) -> None:
        self.w.say(f"Deleted {count} feed{'' if count == 1 else 's'}.")
        self.w.reload_sidebar()

    @Slot()
    def edit_mute_rules(self) -> None:
        dialog = MuteDialog(mute.load(self.w.db), self.w.window())
        if dialog.exec() == MuteDialog.DialogCode.Accepted:
            self.w.runner.submit(
                "saving mute rules", mute.save, self.w.db, dialog.rules(), done=self._on_mute_saved
            )

    @Slot(object)
    def _on_mute_saved(self, _: object) -> None:
        self.w.say("Mute rules saved.")
        self.w.river.reload()

    @Slot()
    def show_activity_log(self) -> None:
        names = {f.id: f.title for f in self.w.sidebar.feeds.values()}
        lines = [event_line(when, fid, text, names) for when, fid, text in self.w.activity]
        box = QMessageBox(self.w.window())
        box.setWindowTitle("Activity log")
        box.setText(f"{len(lines)} events this session.")
        box.setDetailedText("\n".join(reversed(lines)) or "Nothing yet.")
        box.open()

    @Slot()
    def edit_settings(self) -> None:
        dialog = SettingsDialog(self.w.prefs, self.w.window())
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, prefs: preference.Preferences) -> None:
        """Use and store new preferences."""
        self.w.prefs = prefs
        delegate = self.w.river_view.itemDelegate()
        if isinstance(delegate, RiverDelegate):
            delegate.rule = highlight_rule(prefs)
            self.w.river_view.viewport().update()
        self.w.scheduler.apply_timers()
        self.w.runner.submit("saving settings", preference.save, self.w.db, prefs)

    @Slot()
    def show_help(self) -> None:
        HelpDialog(self.w.window()).open()

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(
            self.w.window(),
            "About Heedful",
            "<b>Heedful</b> — a news reader that learns, on your machine, what you heed.<br>"
            f"Profile: {self.w.profile.paths.root}<br>"
            f"Log: {self.w.profile.paths.root / 'heedful.log'}",
        )
