"""The activity log as a dock panel instead of a message box: each feed's fetch state with its
error in full, each refresh of the selected feeds (time, status, HTTP code, duration, new and
updated articles, error), failing feeds alone on demand, "Retry now", and this session's
events. The refreshes are this session's (the scheduler keeps the last
:data:`~app.ui.schedule.FETCH_HISTORY`); nothing here reads the disk."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services.refresh import RefreshProgress
from app.storage.record import FeedRecord
from app.ui.sidebar import SidebarModel

log = logging.getLogger(__name__)

COLUMNS = ("Feed", "Status", "Errors", "Last fetch", "Next fetch", "Error")
FETCH_COLUMNS = ("Time", "Feed", "Status", "HTTP", "Duration", "New", "Updated", "Error")
REFRESH_MS = 1000
"""How often the open panel re-reads the window's feed list and event log (no disk work)."""


def status(feed: FeedRecord) -> str:
    """A feed's state in one word or two."""
    if not feed.enabled:
        return "paused"
    if feed.error_count:
        return f"failing ({feed.error_count}×)"
    if feed.last_fetch is None:
        return "not fetched yet"
    return "ok"


def event_line(when: datetime, feed_id: int | None, text: str, names: Mapping[int, str]) -> str:
    """One line of the event log: the time, the feed's name when the event is a feed's (the
    event's text never carries it, so a renamed feed shows its new name), and the text."""
    if feed_id is None:
        return f"{when:%H:%M:%S}  {text}"
    return f"{when:%H:%M:%S}  {names.get(feed_id, f'feed {feed_id}')}: {text}"


def fetch_text(fetch: RefreshProgress) -> str:
    """One refresh of one feed in words, for the event log (without the feed's name)."""
    parts = [f"HTTP {fetch.http_status}"] if fetch.http_status is not None else []
    parts.append(f"{fetch.seconds:.1f} s")
    if fetch.ok:
        parts += [f"{fetch.new} new", f"{fetch.updated} updated"]
        return f"{'fetched' if not fetch.not_modified else 'not modified'} ({', '.join(parts)})"
    return f"failed ({', '.join(parts)}): {fetch.error or 'unknown error'}"


def fetch_cells(fetch: RefreshProgress, name: str) -> tuple[str, ...]:
    """The cells of one refresh's row, in :data:`FETCH_COLUMNS` order."""
    return (
        _when(fetch.at),
        name,
        fetch.status,
        "" if fetch.http_status is None else str(fetch.http_status),
        f"{fetch.seconds:.2f} s",
        str(fetch.new),
        str(fetch.updated),
        fetch.error or "",
    )


def _when(value: object) -> str:
    return value.astimezone().strftime("%d %b %H:%M:%S") if hasattr(value, "astimezone") else ""


class FetchLog(Protocol):
    """Keeps each feed's refreshes of this session (the scheduler)."""

    @property
    def fetches(self) -> Sequence[RefreshProgress]: ...


class Host(Protocol):
    """What the panel reads of the window (its feeds, refreshes and events) and asks of it."""

    sidebar: SidebarModel
    act_log: QAction

    @property
    def scheduler(self) -> FetchLog: ...
    @property
    def activity(self) -> Sequence[tuple[datetime, int | None, str]]: ...
    def window(self) -> QWidget: ...
    def say(self, text: str) -> None: ...
    def refresh(self, feed_ids: list[int] | None = None, *, due_only: bool = False) -> bool: ...


class ActivityDock(QDockWidget):
    """Feeds and events of the window, read from what the window already holds; the window
    docks it."""

    def __init__(self, window: Host) -> None:
        super().__init__("Activity", window.window())
        self.w = window
        self.setObjectName("activity-dock")
        self.failing_only = QCheckBox("Only failing feeds")
        self.failing_only.setAccessibleName("Show only failing feeds")
        self.failing_only.toggled.connect(self._on_failing_only_toggled)
        self.retry = QPushButton("Retry now")
        self.retry.setAccessibleName("Retry the selected feeds now")
        self.retry.clicked.connect(self.retry_selected)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Feeds and their last fetch")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.history = QTableWidget(0, len(FETCH_COLUMNS))
        self.history.setAccessibleName("Each refresh of the selected feeds, newest first")
        self.history.setHorizontalHeaderLabels(FETCH_COLUMNS)
        self.history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.verticalHeader().hide()
        self.history.horizontalHeader().setSectionResizeMode(
            len(FETCH_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.history.itemSelectionChanged.connect(self._on_history_item_selection_changed)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setAccessibleName("The selected feed's error in full")
        self.events = QPlainTextEdit()
        self.events.setReadOnly(True)
        self.events.setAccessibleName("This session's events, newest first")
        bar = QHBoxLayout()
        bar.addWidget(self.failing_only)
        bar.addStretch(1)
        bar.addWidget(self.retry)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.history)
        split.addWidget(self.detail)
        split.addWidget(self.events)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(split)
        self.setWidget(body)
        self._shown: tuple[tuple[object, ...], ...] = ()
        self._fetches_shown: tuple[object, ...] = ()
        self._events_seen = -1
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.reload)
        self.visibilityChanged.connect(self._on_visibility_changed)
        window.act_log.triggered.disconnect()
        window.act_log.triggered.connect(self.open)
        self.hide()

    @Slot()
    def open(self) -> None:
        """Show the panel, up to date."""
        self.show()
        self.raise_()
        self.reload()

    def feeds(self) -> list[FeedRecord]:
        """The feeds the table lists: all, or only failing ones; failing first, then by name."""
        found = list(self.w.sidebar.feeds.values())
        if self.failing_only.isChecked():
            found = [f for f in found if f.error_count]
        return sorted(found, key=lambda f: (f.error_count == 0, f.title.casefold()))

    @Slot()
    def reload(self) -> None:
        feeds = self.feeds()
        rows = tuple(
            (f.id, f.title, status(f), f.error_count, f.last_fetch, f.next_fetch, f.last_error)
            for f in feeds
        )
        if rows != self._shown:
            self._shown = rows
            selected = set(self.selected_feed_ids())
            self.table.setRowCount(len(rows))
            for r, (feed_id, title, state, errors, last, nxt, error) in enumerate(rows):
                cells = (title, state, str(errors), _when(last), _when(nxt), error or "")
                for c, text in enumerate(cells):
                    item = QTableWidgetItem(str(text).splitlines()[0] if text else "")
                    item.setData(Qt.ItemDataRole.UserRole, feed_id)
                    item.setToolTip(str(text))
                    self.table.setItem(r, c, item)
                if feed_id in selected:
                    self.table.selectRow(r)
        self.reload_history()
        if len(self.w.activity) != self._events_seen:
            self._events_seen = len(self.w.activity)
            names = {f.id: f.title for f in self.w.sidebar.feeds.values()}
            lines = [
                event_line(when, fid, text, names) for when, fid, text in reversed(self.w.activity)
            ]
            self.events.setPlainText("\n".join(lines) or "Nothing yet this session.")

    def fetches(self) -> list[RefreshProgress]:
        """The refreshes the history lists, newest first: the selected feeds' (with none
        selected, every feed's, or every failing feed's under "Only failing feeds")."""
        chosen = set(self.selected_feed_ids()) or {f.id for f in self.feeds()}
        return [f for f in reversed(self.w.scheduler.fetches) if f.feed_id in chosen]

    def reload_history(self) -> None:
        """Show :meth:`fetches` in the history table, when they changed."""
        fetches = self.fetches()
        names = {f.id: f.title for f in self.w.sidebar.feeds.values()}
        key = (tuple(fetches), tuple(names.get(f.feed_id) for f in fetches))
        if key == self._fetches_shown:
            return
        self._fetches_shown = key
        self.history.setRowCount(len(fetches))
        for r, fetch in enumerate(fetches):
            name = names.get(fetch.feed_id, f"feed {fetch.feed_id}")
            for c, text in enumerate(fetch_cells(fetch, name)):
                item = QTableWidgetItem(text.splitlines()[0] if text else "")
                item.setToolTip(text)
                if c in (3, 4, 5, 6):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.history.setItem(r, c, item)
        for c in range(len(FETCH_COLUMNS) - 1):  # the error column takes what is left
            self.history.resizeColumnToContents(c)

    def selected_feed_ids(self) -> list[int]:
        ids = {
            int(item.data(Qt.ItemDataRole.UserRole))
            for item in self.table.selectedItems()
            if item.data(Qt.ItemDataRole.UserRole) is not None
        }
        return sorted(ids)

    @Slot()
    def retry_selected(self) -> None:
        """Refresh the selected feeds (every failing one when none is selected) right away."""
        ids = self.selected_feed_ids() or [f.id for f in self.feeds() if f.error_count]
        if not ids:
            self.w.say("No feed to retry.")
            return
        if self.w.refresh(ids):
            self.w.say(f"Retrying {len(ids)} {'feed' if len(ids) == 1 else 'feeds'}…")

    @Slot()
    def _on_table_item_selection_changed(self) -> None:
        self.reload_history()
        ids = self.selected_feed_ids()
        feed = self.w.sidebar.feeds.get(ids[0]) if ids else None
        if feed is None:
            self.detail.clear()
            return
        self.detail.setPlainText(
            f"{feed.title}\n{feed.url}\n\n{feed.last_error or 'No error on the last fetch.'}"
        )

    @Slot()
    def _on_history_item_selection_changed(self) -> None:
        rows = {i.row() for i in self.history.selectedItems()}
        fetches = self.fetches()
        if not rows or min(rows) >= len(fetches):
            return
        fetch = fetches[min(rows)]
        feed = self.w.sidebar.feeds.get(fetch.feed_id)
        name = feed.title if feed is not None else f"feed {fetch.feed_id}"
        cells = dict(zip(FETCH_COLUMNS, fetch_cells(fetch, name), strict=True))
        head = "  ".join(f"{k}: {v}" for k, v in cells.items() if k != "Error" and v)
        self.detail.setPlainText(f"{head}\n\n{fetch.error or 'No error.'}")

    @Slot(bool)
    def _on_failing_only_toggled(self, checked: bool) -> None:
        self.reload()

    @Slot(bool)
    def _on_visibility_changed(self, visible: bool) -> None:
        if visible:
            self.timer.start()
        else:
            self.timer.stop()
