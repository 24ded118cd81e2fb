"""Optional "mark as read on scroll past": a river row the reader has seen is marked read
once it scrolls above the river's top edge (off by default, the ``mark_read_on_scroll``
preference).

A row counts as seen when it was in the viewport at a scroll position, so rows jumped over
by dragging the scroll bar are left unread. Marking a row read this way records nothing for
learning: it is not a click, and it adds no negatives beyond the impressions
:mod:`app.ui.impression` logs anyway for every row that stays on screen.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QObject, QPoint, Slot
from PySide6.QtWidgets import QListView, QWidget

from app.services.preference import Preferences
from app.storage.database import Database
from app.storage.record import ArticleRecord
from app.ui import task
from app.ui.river import RiverModel, Role
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)


class Host(Protocol):
    """What scrolling past uses of the window: the river, its view and the preference."""

    db: Database
    runner: JobRunner
    river: RiverModel
    river_view: QListView
    prefs: Preferences

    def window(self) -> QWidget: ...
    def reload_sidebar(self) -> None: ...


class ScrollReader(QObject):
    """Marks rows read as they scroll past the top of the river, when the preference is on."""

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.waiting: dict[int, int] = {}
        """Articles seen in the viewport (with their row) that have not yet passed its top."""
        self.marked: set[int] = set()
        """Articles this marked read since the river was last reset."""
        bar = window.river_view.verticalScrollBar()
        bar.valueChanged.connect(self._on_scroll_value_changed)
        bar.rangeChanged.connect(self._on_scroll_range_changed)
        window.river.modelReset.connect(self._on_river_model_reset)

    @property
    def enabled(self) -> bool:
        return self.w.prefs.mark_read_on_scroll

    def rows_in_view(self) -> range:
        """The rows in the viewport now, the one under the top edge first."""
        view = self.w.river_view
        top = view.indexAt(QPoint(4, 1))
        if not top.isValid():
            return range(0)
        bottom = view.indexAt(QPoint(4, view.viewport().height() - 2))
        last = bottom.row() if bottom.isValid() else self.w.river.rowCount() - 1
        return range(top.row(), last + 1)

    def look(self) -> list[int]:
        """Note the rows in view as seen, and mark read the seen unread rows now wholly above
        the top edge; returns the ids it marks."""
        if not self.enabled:
            return []
        rows = self.rows_in_view()
        if not rows:
            return []
        river = self.w.river
        for row in rows:
            article_id = river.index(row).data(Role.ARTICLE_ID)
            if isinstance(article_id, int) and article_id not in self.marked:
                self.waiting[article_id] = row
        passed: list[int] = []
        for article_id, row in list(self.waiting.items()):
            if row >= rows.start:
                continue
            del self.waiting[article_id]
            article = river.index(row).data(Role.ARTICLE)
            if isinstance(article, ArticleRecord) and article.id == article_id and not article.read:
                passed.append(article_id)
        if passed:
            self.marked.update(passed)
            for article_id in passed:
                river.update_article(article_id, read=True)
            self.w.runner.submit(
                "marking read", task.set_read, self.w.db, passed, True, done=self._on_marked
            )
        return passed

    @Slot(int)
    def _on_scroll_value_changed(self, value: int) -> None:
        self.look()

    @Slot(int, int)
    def _on_scroll_range_changed(self, low: int, high: int) -> None:
        self.look()

    @Slot()
    def _on_river_model_reset(self) -> None:
        self.waiting.clear()
        self.marked.clear()

    @Slot(object)
    def _on_marked(self, marked: task.Marked) -> None:
        self.w.reload_sidebar()
