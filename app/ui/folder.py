"""Folders from the sidebar: rename, delete with their feeds, refresh, and moving feeds into
a folder by dragging them there.

The sidebar's folder rows get their own context menu; dropping a feed on a folder (or between
top-level rows, for no folder) files it there, and dropping a folder moves it there with all it
holds. A folder inside another is renamed where it is: the dialog edits its own name, not its
parent's. Every change is stored on the job pool, then the
sidebar is reloaded and a river showing a folder is shown again, so both follow at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTreeView,
    QWidget,
)

from app.services import folder
from app.storage.database import Database
from app.storage.record import FeedRecord
from app.ui.outline import LATEST, Place
from app.ui.sidebar import SidebarModel
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)


def _feeds(count: int) -> str:
    return f"{count} feed" if count == 1 else f"{count} feeds"


def _articles(count: int) -> str:
    return f"{count} article" if count == 1 else f"{count} articles"


class Host(Protocol):
    """What the folder commands use of the window: the sidebar, and showing a place."""

    db: Database
    runner: JobRunner
    sidebar: SidebarModel
    sidebar_view: QTreeView
    act_all_read: QAction

    @property
    def place(self) -> Place: ...
    def window(self) -> QWidget: ...
    def say(self, text: str) -> None: ...
    def show_place(self, place: Place) -> None: ...
    def reload_sidebar(self) -> None: ...
    def after_feeds_moved(self) -> None: ...
    def refresh(self, feed_ids: list[int] | None = None, *, due_only: bool = False) -> bool: ...


class FolderDesk(QObject):
    """The folder commands of the window and the sidebar's drag and drop."""

    def __init__(self, window: Host) -> None:
        parent = window.window()
        super().__init__(parent)
        self.w = window
        self.act_refresh = QAction("Refresh this folder", parent)
        self.act_refresh.triggered.connect(self.refresh_current)
        self.act_rename = QAction("Rename folder…", parent)
        self.act_rename.triggered.connect(self.ask_rename)
        self.act_delete = QAction("Delete folder…", parent)
        self.act_delete.triggered.connect(self.ask_delete)
        self.menu = QMenu(parent)
        for action in (self.act_refresh, self.act_rename, window.act_all_read, self.act_delete):
            self.menu.addAction(action)
        view = window.sidebar_view
        view.setDragEnabled(True)
        view.setAcceptDrops(True)
        view.setDropIndicatorShown(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        window.sidebar.move_requested.connect(self._on_sidebar_move_requested)
        window.sidebar.folder_move_requested.connect(self._on_sidebar_folder_move_requested)

    def current(self) -> str | None:
        """The folder selected in the sidebar, if any."""
        return self.w.place.folder

    def _records(self) -> list[FeedRecord]:
        return list(self.w.sidebar.feeds.values())

    # -- refresh ---------------------------------------------------------------------------

    @Slot()
    def refresh_current(self) -> None:
        name = self.current()
        if name is not None:
            self.refresh(name)

    def refresh(self, name: str) -> None:
        """Refresh the folder's feeds (those of its inner folders too), and no others."""
        found = folder.contents_of(name, self._records())
        if not found.feed_ids:
            self.w.say(f"The folder {name} has no feeds to refresh.")
            return
        self.w.refresh(list(found.feed_ids))

    # -- rename ----------------------------------------------------------------------------

    @Slot()
    def ask_rename(self) -> None:
        name = self.current()
        if name is None:
            self.w.say("Select a folder in the sidebar first.")
            return
        parent, _, leaf = name.rpartition(folder.SEPARATOR)
        label = f"New name (inside {parent}):" if parent else "New name:"
        text, ok = QInputDialog.getText(
            self.w.window(), "Rename folder", label, QLineEdit.EchoMode.Normal, leaf
        )
        if ok:
            self.rename(name, f"{parent}{folder.SEPARATOR}{text}" if parent else text)

    def rename(self, old: str, new: str) -> None:
        """File the folder's feeds under ``new``; a name that cannot be used is told."""
        try:
            new = folder.clean_name(new)
        except folder.FolderError as exc:
            self.w.say(str(exc))
            return
        if new == old:
            return
        self.w.runner.submit(
            "renaming the folder", folder.rename, self.w.db, old, new, done=self._on_renamed
        )

    @Slot(object)
    def _on_renamed(self, result: folder.Renamed) -> None:
        self.w.say(f"Folder {result.old} is now {result.new}.")
        place = self.w.place
        if place.folder is not None and folder.holds(result.old, place.folder):
            self.w.show_place(Place("folder", result.new + place.folder[len(result.old) :]))
        self.w.reload_sidebar()

    # -- delete ----------------------------------------------------------------------------

    @Slot()
    def ask_delete(self) -> None:
        name = self.current()
        if name is None:
            self.w.say("Select a folder in the sidebar first.")
            return
        found = folder.contents_of(name, self._records())
        answer = QMessageBox.question(
            self.w.window(),
            "Delete folder",
            f"Delete the folder {name}: unsubscribe from its {_feeds(len(found.feed_ids))} "
            f"and delete their {_articles(found.articles)}?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(name)

    def delete(self, name: str) -> None:
        """Unsubscribe from every feed of the folder, as deleting each feed would."""
        self.w.runner.submit(
            "deleting the folder", folder.delete, self.w.db, name, done=self._on_deleted
        )

    @Slot(object)
    def _on_deleted(self, found: folder.FolderContents) -> None:
        self.w.say(f"Folder {found.name} deleted with its {_feeds(len(found.feed_ids))}.")
        place = self.w.place
        gone = place.feed_id in found.feed_ids or (
            place.folder is not None and folder.holds(found.name, place.folder)
        )
        if gone:
            self.w.show_place(LATEST)
        self.w.reload_sidebar()

    # -- moving feeds ----------------------------------------------------------------------

    @Slot(list, object)
    def _on_sidebar_move_requested(self, feed_ids: list[int], target: str | None) -> None:
        self.move(feed_ids, target)

    def move(self, feed_ids: Sequence[int], target: str | None) -> None:
        """File the feeds under ``target`` (None: no folder)."""
        current = self.w.sidebar.feeds
        moving = [i for i in feed_ids if i in current and current[i].folder != target]
        if moving:
            self.w.runner.submit(
                "moving feeds", folder.move, self.w.db, moving, target, done=self._on_moved
            )

    @Slot(str, str)
    def _on_sidebar_folder_move_requested(self, old: str, new: str) -> None:
        """A folder dragged into another (or to the top level) is renamed to its new path,
        everything inside it going along; onto a folder of the same name, the two merge."""
        self.rename(old, new)

    @Slot(object)
    def _on_moved(self, moved: list[FeedRecord]) -> None:
        if not moved:
            return
        where = f"to {moved[0].folder}" if moved[0].folder else "out of its folder"
        name = moved[0].title if len(moved) == 1 else _feeds(len(moved))
        self.w.say(f"Moved {name} {where}.")
        self.w.after_feeds_moved()
