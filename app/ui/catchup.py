"""Catching up safely: "Mark all as read" asks before a large change and can be undone, and
"Mark older than a day / a week as read" clears the backlog while keeping what is new."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QMessageBox, QPushButton, QStatusBar, QWidget

from app.services import reading
from app.storage.database import Database
from app.ui import menu
from app.ui.outline import Place
from app.ui.river import RiverModel
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)

CONFIRM_OVER = 50
"""Marking more articles than this read asks first."""
UNDO_SECONDS = 120
"""How long the last bulk mark stays undoable (Ctrl+Z, or "Undo" in the status bar)."""


class Host(Protocol):
    """What catching up uses of the window: the river, the menus and status bar it joins."""

    db: Database
    runner: JobRunner
    river: RiverModel
    act_all_read: QAction
    sidebar_menu: QMenu

    @property
    def place(self) -> Place: ...
    def window(self) -> QWidget: ...
    def menuBar(self) -> QMenuBar: ...  # noqa: N802
    def statusBar(self) -> QStatusBar: ...  # noqa: N802
    def say(self, text: str) -> None: ...
    def reload_sidebar(self) -> None: ...


class CatchUp(QObject):
    """Bulk marking for the window: scope, confirmation, the mark, and its undo.

    ``confirm(count, what)`` asks the reader; tests replace it.
    """

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.confirm: Callable[[int, str], bool] = self._ask
        self.undo_ids: tuple[int, ...] = ()
        self.undo_until = 0.0
        self._what = ""
        self._reload_river = False
        parent = window.window()
        self.act_undo = menu.action(
            parent, "Undo mark as read", self.undo, QKeySequence.StandardKey.Undo
        )
        self.act_undo.setEnabled(False)
        self.act_day = menu.action(
            parent, "Mark older than a day as read", self.mark_older_than_day
        )
        self.act_week = menu.action(
            parent, "Mark older than a week as read", self.mark_older_than_week
        )
        window.act_all_read.triggered.disconnect()
        window.act_all_read.triggered.connect(self.mark_all_read)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undo-mark-read")
        self.undo_button.setAccessibleName("Undo marking as read")
        self.undo_button.setFlat(True)
        self.undo_button.clicked.connect(self.undo)
        self.undo_button.hide()
        window.statusBar().addPermanentWidget(self.undo_button)
        self.expiry = QTimer(self)
        self.expiry.setSingleShot(True)
        self.expiry.timeout.connect(self._on_expiry_timeout)
        article_menu = menu.find_menu(window.menuBar(), "Article")
        if article_menu is not None:
            article_menu.addAction(self.act_day)
            article_menu.addAction(self.act_week)
            article_menu.addAction(self.act_undo)
        window.sidebar_menu.addAction(self.act_day)
        window.sidebar_menu.addAction(self.act_week)

    # -- marking ---------------------------------------------------------------------------

    @Slot()
    def mark_all_read(self) -> None:
        """Mark every unread row of the current feed, folder or view read."""
        self._find("every unread article here", None)

    @Slot()
    def mark_older_than_day(self) -> None:
        self._find("the unread articles older than a day", timedelta(days=1))

    @Slot()
    def mark_older_than_week(self) -> None:
        self._find("the unread articles older than a week", timedelta(days=7))

    def _find(self, what: str, older_than: timedelta | None) -> None:
        self._what = what
        self._reload_river = older_than is not None
        place = self.w.place
        self.w.runner.submit(
            "finding unread articles",
            _unread,
            self.w.db,
            place.feed_id,
            place.folder,
            older_than,
            done=self._on_found,
        )

    @Slot(object)
    def _on_found(self, ids: list[int]) -> None:
        if not ids:
            self.w.say("Nothing to mark as read.")
            return
        if len(ids) > CONFIRM_OVER and not self.confirm(len(ids), self._what):
            return
        if not self._reload_river:
            self.w.river.mark_all_shown_read()
        self.w.runner.submit(
            "marking read", reading.mark_read, self.w.db, ids, done=self._on_marked
        )

    @Slot(object)
    def _on_marked(self, changed: tuple[int, ...]) -> None:
        count = len(changed)
        self.undo_ids = changed
        self.undo_until = time.monotonic() + UNDO_SECONDS
        self.act_undo.setEnabled(bool(changed))
        self.undo_button.setText(f"Undo ({count})")
        self.undo_button.setVisible(bool(changed))
        self.expiry.start(UNDO_SECONDS * 1000)
        noun = "article" if count == 1 else "articles"
        self.w.say(f"Marked {count} {noun} as read. Ctrl+Z or “Undo” takes it back.")
        self.w.reload_sidebar()
        if self._reload_river:
            self.w.river.reload()

    def _ask(self, count: int, what: str) -> bool:
        answer = QMessageBox.question(
            self.w.window(),
            "Mark as read",
            f"Mark {what} as read? That is {count} articles. You can undo it for "
            f"{UNDO_SECONDS // 60} minutes.",
        )
        return answer == QMessageBox.StandardButton.Yes

    # -- undo ------------------------------------------------------------------------------

    @Slot()
    def undo(self) -> None:
        """Mark the last bulk mark's articles unread again, while it is still undoable."""
        if not self.undo_ids or time.monotonic() > self.undo_until:
            self.w.say("There is nothing to undo.")
            self._forget()
            return
        ids, self.undo_ids = self.undo_ids, ()
        self._forget()
        self.w.runner.submit(
            "marking unread", reading.set_read, self.w.db, list(ids), False, done=self._on_undone
        )

    @Slot(object)
    def _on_undone(self, count: int) -> None:
        self.w.say(
            f"Undone: {count} {'article is' if count == 1 else 'articles are'} unread again."
        )
        self.w.reload_sidebar()
        self.w.river.reload()

    @Slot()
    def _on_expiry_timeout(self) -> None:
        self.undo_ids = ()
        self._forget()

    def _forget(self) -> None:
        self.act_undo.setEnabled(False)
        self.undo_button.hide()
        self.expiry.stop()


def _unread(
    db: Database, feed_id: int | None, folder: str | None, older_than: timedelta | None
) -> list[int]:
    """The job: unread ids in scope (a plain function: it runs on the job pool)."""
    return reading.unread_in_scope(db, feed_id=feed_id, folder=folder, older_than=older_than)
