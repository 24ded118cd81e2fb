"""The sidebar: smart views, then folders and feeds with unread counts and error markers.

A folder is the path stored on its feeds ("News/Tech", as OPML import writes it), so folders
nest: "Tech" is shown inside "News", and a folder's unread count is that of its own feeds and of
every folder inside it. Inside a folder its folders come first, by name, then its feeds.

Feeds can be dragged onto a folder (or between top-level rows, for no folder), and so can a
folder, with everything inside it (never into itself or a folder inside it); the model does not
move the row itself but asks for the move (:attr:`SidebarModel.move_requested`,
:attr:`SidebarModel.folder_move_requested`), and is rebuilt from storage once it is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from PySide6.QtCore import (
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView

from app.services.feed import is_failing
from app.services.folder import SEPARATOR
from app.storage.record import FeedRecord
from app.ui import resource

log = logging.getLogger(__name__)

ERROR_COLOR = QColor(214, 39, 40)

FEED_MIME = "application/x-heedful-feed-ids"
"""The drag payload of feeds: the dragged feeds' ids, comma-separated."""
FOLDER_MIME = "application/x-heedful-folders"
"""The drag payload of folders: their paths as a JSON array."""

Index = QModelIndex | QPersistentModelIndex


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


@dataclass
class FolderNode:
    """A folder of the sidebar's tree: its path, the name shown, the unread count of all it
    holds, its folders by name, and its own feeds in the order given."""

    path: str
    label: str
    unread: int = 0
    folders: dict[str, FolderNode] = field(default_factory=dict)
    feeds: list[FeedRecord] = field(default_factory=list)


def folder_tree(feeds: Sequence[FeedRecord]) -> FolderNode:
    """The folders of ``feeds`` as a tree under a nameless root, which holds the feeds filed
    nowhere. Each part of a feed's folder path is a folder ("News/Tech": "Tech" inside "News"),
    and every folder on the path counts the feed's unread articles."""
    root = FolderNode("", "")
    for feed in feeds:
        node = root
        if feed.folder:
            parts = feed.folder.split(SEPARATOR)
            for depth, part in enumerate(parts, 1):
                child = node.folders.get(part)
                if child is None:
                    path = SEPARATOR.join(parts[:depth])
                    child = node.folders[part] = FolderNode(path, part.strip() or path)
                child.unread += feed.unread
                node = child
        node.feeds.append(feed)
    return root


class SidebarModel(QStandardItemModel):
    """Two columns (name, unread count), rebuilt from plain feed records.

    ``move_requested(list[int], str | None)`` asks to file feeds under a folder (None: none);
    ``folder_move_requested(str, str)`` asks to move a folder to a new path.
    """

    move_requested = Signal(list, object)
    folder_move_requested = Signal(str, str)

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
        # Iterative, not recursive: a folder path typed by hand may be deeper than the stack.
        stack: list[tuple[FolderNode, QStandardItem]] = [(folder_tree(feeds), root)]
        while stack:
            node, item = stack.pop()
            for child in sorted(node.folders.values(), key=lambda n: (n.label.lower(), n.path)):
                cells = self._row(
                    Place("folder", child.path), child.label, child.unread, resource.icon("folder")
                )
                for cell in cells:
                    cell.setToolTip(child.path)
                where = f"folder inside {node.label}" if node.path else "folder"
                cells[0].setData(
                    f"{child.label}, {where}, {child.unread} unread",
                    Qt.ItemDataRole.AccessibleTextRole,
                )
                item.appendRow(cells)
                stack.append((child, cells[0]))
            for feed in node.feeds:
                item.appendRow(self._feed_row(feed))

    def folder_places(self) -> list[Place]:
        """Every folder shown, at any depth."""
        return [place for place in self._items if place.kind == "folder"]

    def _row(self, place: Place, label: str, unread: int, icon: QIcon) -> list[QStandardItem]:
        name = QStandardItem(icon, label)
        name.setData(place, SidebarRole.KEY)
        name.setEditable(False)
        count = QStandardItem(str(unread) if unread else "")
        count.setData(place, SidebarRole.KEY)
        count.setEditable(False)
        for cell in (name, count):
            cell.setDragEnabled(place.kind in ("feed", "folder"))
            cell.setDropEnabled(place.kind == "folder")
        count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if unread:
            font = QFont()
            font.setBold(True)
            name.setFont(font)
        self._items[place] = name
        return [name, count]

    def _feed_row(self, feed: FeedRecord) -> list[QStandardItem]:
        failing = is_failing(feed)
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

    # -- drag and drop ---------------------------------------------------------------------

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [FEED_MIME, FOLDER_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        """The dragged feeds' ids and folders' paths (smart views are left out)."""
        ids: list[int] = []
        paths: list[str] = []
        for index in indexes:
            place = self.place_at(index)
            if place is not None and place.feed_id is not None and place.feed_id not in ids:
                ids.append(place.feed_id)
            if place is not None and place.folder is not None and place.folder not in paths:
                paths.append(place.folder)
        data = QMimeData()
        data.setData(FEED_MIME, QByteArray(",".join(map(str, ids)).encode()))
        data.setData(FOLDER_MIME, QByteArray(json.dumps(paths).encode()))
        return data

    @staticmethod
    def dragged_folders(data: QMimeData) -> list[str]:
        """The folder paths a drag carries (none when it carries something else)."""
        if not data.hasFormat(FOLDER_MIME):
            return []
        try:
            paths = json.loads(bytes(data.data(FOLDER_MIME).data()).decode())
        except ValueError:
            return []
        if not isinstance(paths, list):
            return []
        return [path for path in paths if isinstance(path, str) and path]

    @staticmethod
    def dragged_feeds(data: QMimeData) -> list[int]:
        """The feed ids a drag carries (none when it carries something else)."""
        if not data.hasFormat(FEED_MIME):
            return []
        text = bytes(data.data(FEED_MIME).data()).decode(errors="replace")
        return [int(part) for part in text.split(",") if part.isdigit()]

    def drop_target(self, parent: Index) -> tuple[bool, str | None]:
        """Where a drop under ``parent`` files feeds: (allowed, folder). Between top-level rows
        means no folder; on a folder, or between its feeds, that folder; elsewhere nowhere."""
        if not parent.isValid():
            return True, None
        place = self.place_at(self.index(parent.row(), 0, parent.parent()))
        if place is not None and place.folder is not None:
            return True, place.folder
        return False, None

    def _folder_moves(self, data: QMimeData, parent: Index) -> list[tuple[str, str]]:
        allowed, target = self.drop_target(parent)
        if not allowed:
            return []
        moves = [(path, moved_folder(path, target)) for path in self.dragged_folders(data)]
        return [(old, new) for old, new in moves if new is not None]

    def canDropMimeData(  # noqa: N802
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        if self.dragged_feeds(data):
            return self.drop_target(parent)[0]
        return bool(self._folder_moves(data, parent))

    def dropMimeData(  # noqa: N802
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        """Ask for the move, and answer False: the rows stay until the sidebar is rebuilt
        from storage, and the view must not remove the dragged row itself."""
        if action == Qt.DropAction.IgnoreAction:
            return False
        ids = self.dragged_feeds(data)
        allowed, folder = self.drop_target(parent)
        if ids and allowed:
            self.move_requested.emit(ids, folder)
        for old, new in self._folder_moves(data, parent):
            self.folder_move_requested.emit(old, new)
        return False


def moved_folder(path: str, target: str | None) -> str | None:
    """The path the folder ``path`` gets when dropped into ``target`` (None: the top level),
    or None when that drop moves nothing or cannot be done: into its own parent, into
    itself, or into a folder inside it."""
    leaf = path.rpartition(SEPARATOR)[2]
    new = f"{target}{SEPARATOR}{leaf}" if target else leaf
    inside = target is not None and (target == path or target.startswith(path + SEPARATOR))
    return None if inside or new == path else new


def highlight(
    view: QAbstractItemView, model: SidebarModel, place: Place, *, scroll: bool = True
) -> None:
    """Highlight ``place`` in the sidebar ``view``: its row becomes the current and only selected
    one, or no row is selected while it is not shown. With ``scroll`` the view scrolls to the row
    (opening its folders); without, it stays where the reader left it.

    The selection's signals are left on so that the view repaints both rows; a handler that
    shows the selected place must therefore ignore the place already shown.
    """
    index = model.index_of(place)
    if not index.isValid():
        view.clearSelection()
        return
    bar = view.verticalScrollBar()
    top = bar.value()
    if view.currentIndex() != index or not view.selectionModel().isSelected(index):
        view.setCurrentIndex(index)
    if scroll:
        view.scrollTo(index)
    else:
        bar.setValue(top)
