"""The sidebar: smart views, then folders and feeds with unread counts and error markers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QStandardItem, QStandardItemModel

from app.storage.record import FeedRecord
from app.ui import resource

log = logging.getLogger(__name__)

ERROR_COLOR = QColor(214, 39, 40)


class SidebarRole(IntEnum):
    """Data roles of sidebar items."""

    KEY = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Place:
    """What a sidebar item stands for: a smart view ("foryou", "latest", "starred"), a folder
    (by name) or a feed (by id)."""

    kind: str
    value: str | int

    @property
    def feed_id(self) -> int | None:
        return int(self.value) if self.kind == "feed" else None

    @property
    def folder(self) -> str | None:
        return str(self.value) if self.kind == "folder" else None


FOR_YOU = Place("smart", "foryou")
LATEST = Place("smart", "latest")
STARRED = Place("smart", "starred")
SMART = ((FOR_YOU, "For you", "foryou"), (LATEST, "Latest", "latest"), (STARRED, "Starred", "star"))


class SidebarModel(QStandardItemModel):
    """Two columns (name, unread count), rebuilt from plain feed records."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, 2, parent)
        self.feeds: dict[int, FeedRecord] = {}
        self._items: dict[Place, QStandardItem] = {}
        self.update([], total_unread=0, starred=0)

    def update(self, feeds: Sequence[FeedRecord], *, total_unread: int, starred: int) -> None:
        """Show ``feeds`` (ordered by folder, then title) and the smart views' counts."""
        self.removeRows(0, self.rowCount())
        self._items = {}
        self.feeds = {f.id: f for f in feeds}
        root = self.invisibleRootItem()
        counts = {FOR_YOU: total_unread, LATEST: total_unread, STARRED: starred}
        for place, label, icon in SMART:
            root.appendRow(self._row(place, label, counts[place], resource.icon(icon)))
        folders: dict[str, QStandardItem] = {}
        folder_unread: dict[str, int] = {}
        for feed in feeds:
            if feed.folder:
                folder_unread[feed.folder] = folder_unread.get(feed.folder, 0) + feed.unread
        for feed in feeds:
            row = self._feed_row(feed)
            if feed.folder:
                parent = folders.get(feed.folder)
                if parent is None:
                    place = Place("folder", feed.folder)
                    cells = self._row(
                        place, feed.folder, folder_unread[feed.folder], resource.icon("folder")
                    )
                    root.appendRow(cells)
                    parent = folders[feed.folder] = cells[0]
                parent.appendRow(row)
            else:
                root.appendRow(row)

    def _row(self, place: Place, label: str, unread: int, icon: QIcon) -> list[QStandardItem]:
        name = QStandardItem(icon, label)
        name.setData(place, SidebarRole.KEY)
        name.setEditable(False)
        count = QStandardItem(str(unread) if unread else "")
        count.setData(place, SidebarRole.KEY)
        count.setEditable(False)
        count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if unread:
            font = QFont()
            font.setBold(True)
            name.setFont(font)
        self._items[place] = name
        return [name, count]

    def _feed_row(self, feed: FeedRecord) -> list[QStandardItem]:
        failing = feed.error_count > 0 and feed.last_error is not None
        icon = resource.icon("error" if failing else "feed")
        cells = self._row(Place("feed", feed.id), feed.title or feed.url, feed.unread, icon)
        tip = [feed.title or feed.url, feed.url]
        if failing:
            tip.append(f"Error ({feed.error_count}× in a row): {feed.last_error}")
            cells[0].setForeground(QBrush(ERROR_COLOR))
        if not feed.enabled:
            tip.append("Paused: not refreshed")
            font = cells[0].font()
            font.setItalic(True)
            cells[0].setFont(font)
        for cell in cells:
            cell.setToolTip("\n".join(tip))
        return cells

    def index_of(self, place: Place) -> QModelIndex:
        """The name-column index of ``place`` (invalid when it is not shown)."""
        item = self._items.get(place)
        return item.index() if item is not None else QModelIndex()

    @staticmethod
    def place_at(index: QModelIndex) -> Place | None:
        """What the item at ``index`` stands for."""
        value = index.data(SidebarRole.KEY)
        return value if isinstance(value, Place) else None
