"""Impressions: rows that stay visible in the river for a second are logged once per session."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, QTimer, Slot
from PySide6.QtWidgets import QListView

from app.services import activity
from app.storage.database import Database
from app.ui.river import RiverModel, Role
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)

DWELL_S = 1.0
TICK_MS = 250


class ImpressionTracker(QObject):
    """Watches the river's viewport; each article visible for :data:`DWELL_S` seconds in a row
    is logged (article id, row) once per session, in batches, off the GUI thread."""

    def __init__(
        self,
        view: QListView,
        model: RiverModel,
        db: Database,
        runner: JobRunner,
        session: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._model = model
        self._db = db
        self._runner = runner
        self.session = session
        self._clock = clock
        self._first_seen: dict[int, float] = {}
        self.logged: set[int] = set()
        self._pending: list[tuple[int, int | None]] = []
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    def stop(self) -> None:
        """Stop watching and write what is pending."""
        self._timer.stop()
        self.flush()

    def visible_rows(self) -> range:
        """Rows currently in the viewport (empty when the view is hidden)."""
        if not self._view.isVisible() or self._model.rowCount() == 0:
            return range(0)
        viewport = self._view.viewport().rect()
        top = self._view.indexAt(QPoint(4, 1))
        if not top.isValid():
            return range(0)
        bottom = self._view.indexAt(QPoint(4, viewport.height() - 2))
        last = bottom.row() if bottom.isValid() else self._model.rowCount() - 1
        return range(top.row(), last + 1)

    @Slot()
    def _on_timer_timeout(self) -> None:
        now = self._clock()
        visible: dict[int, int] = {}
        window = self._view.window()
        if window.isVisible() and not window.isMinimized():
            for row in self.visible_rows():
                article_id = self._model.index(row).data(Role.ARTICLE_ID)
                if isinstance(article_id, int) and article_id not in self.logged:
                    visible[article_id] = row
        self._first_seen = {a: t for a, t in self._first_seen.items() if a in visible}
        for article_id, row in visible.items():
            since = self._first_seen.setdefault(article_id, now)
            if now - since >= DWELL_S:
                self.logged.add(article_id)
                self._pending.append((article_id, row))
                del self._first_seen[article_id]
        if self._pending:
            self.flush()

    def flush(self) -> None:
        """Write the pending impressions now (on the job pool)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._runner.submit(
            "logging impressions", activity.record_impressions, self._db, batch, self.session
        )

    def forget(self) -> None:
        """Start timing afresh (after the river was reloaded); logged articles stay logged."""
        self._first_seen.clear()
