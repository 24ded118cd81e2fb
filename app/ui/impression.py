"""Impressions: rows that stay visible in the river for a second are logged once per screen.

A screen is one visit of one view (see :mod:`app.services.activity`): every time the river is
reset — another view, another filter or search, a reload after new articles arrived — the
tracker starts a new screen, so each row's position is its row on what the reader saw.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, QTimer, Slot
from PySide6.QtWidgets import QListView

from app.services import activity
from app.storage.database import Database
from app.ui.river import RiverModel, RiverQuery, Role
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)

DWELL_S = 1.0
TICK_MS = 250


def describe(query: RiverQuery) -> tuple[str, dict[str, object], str]:
    """A river query as a screen: (view, filter, ordering); whether feeds compete on it the
    service decides from the filter (:func:`app.services.activity.feeds_compete`)."""
    view = query.view
    if view.search:
        kind = "search"
    elif query.ranked:
        kind = "foryou"
    elif view.starred_only:
        kind = "starred"
    elif view.feed_id is not None:
        kind = "feed"
    elif view.folder is not None:
        kind = "folder"
    else:
        kind = "latest"
    ordering = "ranked" if query.ranked else "latest"
    return kind, dataclasses.asdict(view), ordering


class ImpressionTracker(QObject):
    """Watches the river's viewport; each article visible for :data:`DWELL_S` seconds in a row
    is logged (article id, row) once per screen, in batches, off the GUI thread.

    ``session`` is the key of the current screen; a new one starts whenever the river model
    is reset.
    """

    def __init__(
        self,
        view: QListView,
        model: RiverModel,
        db: Database,
        runner: JobRunner,
        *,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._model = model
        self._db = db
        self._runner = runner
        self.session = ""
        self._clock = clock
        self._first_seen: dict[int, float] = {}
        self.logged: set[int] = set()
        self._pending: list[tuple[int, int | None]] = []
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()
        model.modelReset.connect(self._on_model_reset)
        self.begin_screen()

    def begin_screen(self) -> str:
        """Start a new screen for the river as it is now and return its key."""
        self.flush()
        self.session = uuid.uuid4().hex
        self.logged = set()
        self._first_seen.clear()
        kind, filter, ordering = describe(self._model.query)
        self._runner.submit(
            "logging a screen",
            activity.log_screen,
            self._db,
            self.session,
            kind,
            filter,
            ordering,
        )
        return self.session

    @Slot()
    def _on_model_reset(self) -> None:
        self.begin_screen()

    def visible(self) -> list[tuple[int, int]]:
        """The (article id, row) pairs in the viewport now, top row first."""
        out: list[tuple[int, int]] = []
        for row in self.visible_rows():
            article_id = self._model.index(row).data(Role.ARTICLE_ID)
            if isinstance(article_id, int):
                out.append((article_id, row))
        return out

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
        """Start timing afresh; logged articles stay logged."""
        self._first_seen.clear()
