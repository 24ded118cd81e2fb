"""The activity log as a dock panel instead of a message box: each feed's fetch state with its
error in full, failing feeds alone on demand, "Retry now", and this session's events."""

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

from app.storage.record import FeedRecord
from app.ui.sidebar import SidebarModel

log = logging.getLogger(__name__)

COLUMNS = ("Feed", "Status", "Errors", "Last fetch", "Next fetch", "Error")
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


def _when(value: object) -> str:
    return value.astimezone().strftime("%d %b %H:%M:%S") if hasattr(value, "astimezone") else ""


class Host(Protocol):
    """What the panel reads of the window (its feeds and its events) and asks of it."""

    sidebar: SidebarModel
    act_log: QAction

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
        split.addWidget(self.detail)
        split.addWidget(self.events)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(split)
        self.setWidget(body)
        self._shown: tuple[tuple[object, ...], ...] = ()
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
        if len(self.w.activity) != self._events_seen:
            self._events_seen = len(self.w.activity)
            names = {f.id: f.title for f in self.w.sidebar.feeds.values()}
            lines = [
                event_line(when, fid, text, names) for when, fid, text in reversed(self.w.activity)
            ]
            self.events.setPlainText("\n".join(lines) or "Nothing yet this session.")

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
        ids = self.selected_feed_ids()
        feed = self.w.sidebar.feeds.get(ids[0]) if ids else None
        if feed is None:
            self.detail.clear()
            return
        self.detail.setPlainText(
            f"{feed.title}\n{feed.url}\n\n{feed.last_error or 'No error on the last fetch.'}"
        )

    @Slot(bool)
    def _on_failing_only_toggled(self, checked: bool) -> None:
        self.reload()

    @Slot(bool)
    def _on_visibility_changed(self, visible: bool) -> None:
        if visible:
            self.timer.start()
        else:
            self.timer.stop()
